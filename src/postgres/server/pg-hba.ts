import { rename } from 'node:fs/promises';
import { usageError } from '../../errors.js';
import type { RunAs } from './binaries.js';
import { createFile, readFileNoFollow } from './no-follow.js';

const ALLOWED_METHODS = new Set(['scram-sha-256', 'reject']);
const BEGIN = '# fxpipe db start --listen (begin): every TCP connection encrypted (TLS) and by password, 127.0.0.1 included';
const END = '# fxpipe db start --listen (end)';
/**
 * First match wins, so these come first. 127.0.0.1 is not exempt: Linux gives a connection to any 127.x address the
 * source 127.0.0.1, and a tunnel's or agent's local end connects from there on a remote client's behalf.
 */
const LISTEN_LINES = ['hostnossl\tall\tall\tall\treject', 'hostssl\tall\tall\tall\tscram-sha-256'];
/** What fxpipe before TLS appended: password logins from anywhere, unencrypted. Removed wherever found. */
const LEGACY_LINES = new Set(['host all all 0.0.0.0/0 scram-sha-256', 'host all all ::/0 scram-sha-256']);
const LEGACY_COMMENT = '# fxpipe db start --listen: any address, password (scram-sha-256) only';

/**
 * Writes pg_hba.conf for the server's mode: listening beyond loopback, fxpipe's block first (TLS required for every TCP
 * connection, password only); loopback only, the file without it (initdb's loopback lines). Before listening it refuses
 * a file with any method other than scram-sha-256 or reject (trust, password, md5, peer, …). Returns true when it
 * changed the file.
 */
export async function setRemoteAccess(hbaFile: string, listening: boolean, owner: RunAs = {}): Promise<boolean> {
  const text = await readFileNoFollow(hbaFile);
  const kept: string[] = [];
  let inBlock = false;
  for (const line of text.split('\n')) {
    if (line === BEGIN) inBlock = true;
    const fxpipe = inBlock || line === LEGACY_COMMENT || LEGACY_LINES.has(tokensOf(line).join(' '));
    if (line === END) inBlock = false;
    if (!fxpipe) kept.push(line);
  }
  for (const tokens of listening ? kept.map(tokensOf).filter((tokens) => tokens.length > 0) : []) {
    // The method is the last field that is not an option (options are name=value).
    const method = tokens.filter((token) => !token.includes('=')).at(-1) ?? '';
    if (!ALLOWED_METHODS.has(method)) {
      throw usageError(
        `${hbaFile} has "${tokens.join(' ')}": only scram-sha-256 (password) lines are allowed before listening beyond loopback`,
      );
    }
  }
  while (kept.length > 0 && kept[0] === '') kept.shift();
  const wanted = (listening ? [BEGIN, ...LISTEN_LINES, END, '', ...kept] : kept).join('\n');
  if (wanted === text) return false;
  await createFile(`${hbaFile}.new`, wanted, 0o600, owner);
  await rename(`${hbaFile}.new`, hbaFile);
  return true;
}

function tokensOf(line: string): string[] {
  return line.replace(/#.*/, '').trim().split(/\s+/).filter(Boolean);
}
