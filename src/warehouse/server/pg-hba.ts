import { usageError } from '../../errors.js';
import { appendFileNoFollow, readFileNoFollow } from './no-follow.js';

const ALLOWED_METHODS = new Set(['scram-sha-256', 'reject']);
const REMOTE_LINES = ['host all all 0.0.0.0/0 scram-sha-256', 'host all all ::/0 scram-sha-256'];

/**
 * Makes pg_hba.conf accept connections from any address with a password (scram-sha-256) and nothing
 * weaker: refuses a file with any other method (trust, password, md5, peer, …) or an include, and
 * appends the two remote lines when missing. Returns true when it changed the file.
 */
export async function allowRemotePasswordLogins(hbaFile: string): Promise<boolean> {
  const entries = (await readFileNoFollow(hbaFile))
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean)
    .map((line) => line.split(/\s+/));
  for (const tokens of entries) {
    // The method is the last field that is not an option (options are name=value).
    const method = tokens.filter((token) => !token.includes('=')).at(-1) ?? '';
    if (!ALLOWED_METHODS.has(method)) {
      throw usageError(`${hbaFile} has "${tokens.join(' ')}": only scram-sha-256 (password) lines are allowed before listening beyond loopback`);
    }
  }
  const present = new Set(entries.map((tokens) => tokens.join(' ')));
  const missing = REMOTE_LINES.filter((line) => !present.has(line));
  if (missing.length === 0) return false;
  await appendFileNoFollow(hbaFile, ['', '# fxpipe db start --listen: any address, password (scram-sha-256) only', ...missing.map((line) => line.replaceAll(' ', '\t')), ''].join('\n'));
  return true;
}
