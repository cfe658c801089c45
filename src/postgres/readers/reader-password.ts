import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { usageError } from '../../errors.js';

const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

/** A new random password: 32 characters of base64url (192 bits). */
export function generatePassword(): string {
  return randomBytes(24).toString('base64url');
}

/** The first line of file, as a password. Errors name the file, never its content. */
export async function readPasswordFile(file: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw usageError(`cannot read the password file ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, error);
  }
  const line = text.split('\n')[0]?.replace(/\r$/, '') ?? '';
  if (line.trim() === '') throw usageError(`the password file ${file} is empty: its first line is the password`);
  if (!PRINTABLE_ASCII.test(line)) {
    throw usageError(`the password in ${file} has characters other than printable ASCII (letters, digits, punctuation, space)`);
  }
  return line;
}
