// The API's bearer token: one file, created once with mode 0600, compared in constant time.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidInputError } from '../errors.js';
import { checkSecretMode } from '../secret-file.js';

/** The token in `file`, created (32 random bytes, base64url, mode 0600) when the file does not exist. */
export async function loadOrCreateToken(file: string): Promise<{ token: string; created: boolean }> {
  const existing = await readToken(file);
  if (existing !== undefined) return { token: existing, created: false };
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const token = randomBytes(32).toString('base64url');
  try {
    // 'wx': never overwrite a token another API server wrote a moment ago; mode applies at creation.
    await writeFile(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
    return { token, created: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const raced = await readToken(file);
    if (raced === undefined) throw new InvalidInputError('ETOKEN', `the token file ${file} is empty`);
    return { token: raced, created: false };
  }
}

/** The token in `file`, which must exist: an agent's endpoint takes the API server's token, never one of its own. */
export async function loadToken(file: string): Promise<string> {
  const token = await readToken(file);
  if (token === undefined) throw new InvalidInputError('ETOKEN', `the token file ${file} does not exist`, { hint: "copy the API server's token file (its <data-dir>/api-token) here, or pass --token-file" });
  return token;
}

async function readToken(file: string): Promise<string | undefined> {
  let text: string;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new InvalidInputError('ETOKEN', `the token file ${file} is not a regular file`);
    checkSecretMode(file, info.mode, 'the token file', 'ETOKEN');
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (err instanceof InvalidInputError) throw err;
    throw new InvalidInputError('ETOKEN', `cannot read the token file ${file}: ${(err as Error).message}`, { hint: 'check --token-file', cause: err });
  }
  const token = text.trim();
  if (token === '') throw new InvalidInputError('ETOKEN', `the token file ${file} is empty`, { hint: 'delete it to have a new token generated, or write one into it' });
  return token;
}

export { bearerMatches } from '../bearer.js';

/** Whether a peer address is this machine's loopback (IPv4 127/8, ::1, or v4 loopback mapped into IPv6). */
export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
  return v4.startsWith('127.') || address === '::1';
}
