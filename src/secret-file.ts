import { readFileSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { InvalidInputError } from './errors.js';

/**
 * The text of a secret file (a token, a password, a private key), refused (as ssh refuses a private
 * key) when it is missing, unreadable, or open to anyone but its owner. `what` names it in errors,
 * e.g. `--etcd-password-file` or `credentials file`; `code` is the error's code.
 */
export async function readSecretFile(file: string, what: string, code = 'ESECRETFILE'): Promise<Buffer> {
  let mode: number;
  let bytes: Buffer;
  try {
    mode = (await stat(file)).mode;
    bytes = await readFile(file);
  } catch (cause) {
    throw unreadable(file, what, code, cause);
  }
  checkSecretMode(file, mode, what, code);
  return bytes;
}

/** `readSecretFile` for the synchronous paths (the CLI's client finds its token while it builds its requests). */
export function readSecretFileSync(file: string, what: string, code = 'ESECRETFILE'): Buffer {
  let mode: number;
  let bytes: Buffer;
  try {
    mode = statSync(file).mode;
    bytes = readFileSync(file);
  } catch (cause) {
    throw unreadable(file, what, code, cause);
  }
  checkSecretMode(file, mode, what, code);
  return bytes;
}

function unreadable(file: string, what: string, code: string, cause: unknown): InvalidInputError {
  const reason = cause instanceof Error && 'code' in cause && cause.code === 'ENOENT' ? 'does not exist' : 'cannot be read';
  return new InvalidInputError(code, `${what} ${file} ${reason}`, { hint: "check the path, and that berth's user may read it", cause });
}

/** Refuse a secret file that its group or others may read or write, naming the fix. */
export function checkSecretMode(file: string, mode: number, what: string, code = 'ESECRETFILE'): void {
  if ((mode & 0o077) === 0) return;
  throw new InvalidInputError(code, `${what} ${file} is open to others (mode ${(mode & 0o777).toString(8).padStart(4, '0')})`, { hint: `run chmod 600 ${file}` });
}
