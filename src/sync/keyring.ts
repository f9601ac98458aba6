// The keys a source's commits must be signed with (`--verify-commits <keyring>`): armored OpenPGP
// public keys and SSH allowed-signers lines, in one file.
import fs from 'node:fs/promises';
import { InvalidInputError } from '../errors.js';
import { readPgpKeys, type PgpKey } from './pgp.js';
import { SshSigError, sshPublicKey, type SshPublicKey } from './sshsig.js';

/** One line of an allowed-signers file (ssh-keygen(1), ALLOWED SIGNERS). */
export interface AllowedSigner {
  principals: string;
  key: SshPublicKey;
  /** `namespaces="…"`: the signature namespaces this key may sign in (patterns); all when absent. */
  namespaces?: string[];
  line: number;
}

/** Every key a commit may be signed with. */
export interface Keyring {
  file: string;
  pgp: PgpKey[];
  ssh: AllowedSigner[];
}

const PGP_BLOCK = /-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]*?-----END PGP PUBLIC KEY BLOCK-----/g;
const HINT = 'list armored OpenPGP public keys (gpg --armor --export) and/or allowed-signers lines (`alice@example.com ssh-ed25519 AAAA…`) (README: Signed commits)';

/**
 * The allowed-signers lines of a keyring's text (OpenPGP blocks are left to readKeyring): `principals
 * [options] keytype base64 [comment]`. `namespaces="…"` is honoured; `cert-authority`, `valid-after`
 * and `valid-before` are refused at their line rather than ignored, since ignoring them would trust
 * more than the file says.
 */
export function parseAllowedSigners(text: string, file: string): AllowedSigner[] {
  const signers: AllowedSigner[] = [];
  const lines = text.replace(PGP_BLOCK, (block) => '\n'.repeat(block.split('\n').length - 1)).split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const at = `${file}:${i + 1}:${raw.length - raw.trimStart().length + 1}`;
    const tokens = tokenize(line);
    const [principals, second] = tokens;
    if (principals === undefined || second === undefined) throw new InvalidInputError('EKEYRING', `${at}: expected 'principals [options] keytype key'`, { hint: HINT });
    const hasOptions = !isKeyType(second);
    const type = hasOptions ? tokens[2] : second;
    const base64 = hasOptions ? tokens[3] : tokens[2];
    if (type === undefined || base64 === undefined || !isKeyType(type)) throw new InvalidInputError('EKEYRING', `${at}: expected a key type such as ssh-ed25519 and a key`, { hint: HINT });
    const namespaces = hasOptions ? readOptions(second, at) : undefined;
    let key: SshPublicKey;
    try {
      key = sshPublicKey(Buffer.from(base64, 'base64'));
    } catch (err) {
      throw new InvalidInputError('EKEYRING', `${at}: unreadable ${type} key: ${err instanceof SshSigError ? err.message : 'bad encoding'}`, { hint: HINT });
    }
    if (key.type !== type) throw new InvalidInputError('EKEYRING', `${at}: the key is ${key.type}, not ${type}`, { hint: HINT });
    signers.push({ principals, key, ...(namespaces ? { namespaces } : {}), line: i + 1 });
  }
  return signers;
}

function isKeyType(token: string): boolean {
  return /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9-]+@openssh\.com|[a-z0-9-]+-cert-v01@openssh\.com)$/.test(token);
}

/** Whitespace-separated tokens; double quotes keep spaces inside an option. */
function tokenize(line: string): string[] {
  return line.match(/(?:"[^"]*"|[^\s"])+/g) ?? [];
}

/** The namespaces of an options field, refusing the options berth does not check. */
function readOptions(field: string, at: string): string[] | undefined {
  let namespaces: string[] | undefined;
  for (const option of field.match(/(?:"[^"]*"|[^,"])+/g) ?? []) {
    const [name = '', value] = option.split(/=(.*)/s);
    const lower = name.toLowerCase();
    if (lower === 'namespaces' && value !== undefined) namespaces = value.replace(/^"|"$/g, '').split(',').map((n) => n.trim());
    else throw new InvalidInputError('EKEYRING', `${at}: option '${name.slice(0, 40)}' is not supported by berth`, { hint: 'list each signer\'s own key, with at most a namespaces="git" option' });
  }
  return namespaces;
}

/** Whether an allowed signer may sign in `namespace` (its patterns use * and ?). */
export function allowsNamespace(signer: AllowedSigner, namespace: string): boolean {
  if (!signer.namespaces) return true;
  return signer.namespaces.some((p) => new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`).test(namespace));
}

/**
 * Read a keyring: refused when others may write it (they could add a key), when it holds no key,
 * or when any part of it cannot be read.
 */
export async function readKeyring(file: string): Promise<Keyring> {
  let text: string;
  let mode: number;
  try {
    mode = (await fs.stat(file)).mode;
    text = await fs.readFile(file, 'utf8');
  } catch (cause) {
    const missing = cause instanceof Error && 'code' in cause && cause.code === 'ENOENT';
    throw new InvalidInputError('EKEYRING', `keyring ${file} ${missing ? 'does not exist' : 'cannot be read'}`, { hint: 'pass --verify-commits with a file berth can read', cause });
  }
  if ((mode & 0o022) !== 0) {
    throw new InvalidInputError('EKEYRING', `keyring ${file} may be written by others (mode ${(mode & 0o777).toString(8).padStart(4, '0')}), who could add a key`, { hint: `run chmod go-w ${file}` });
  }
  const ssh = parseAllowedSigners(text, file);
  const pgp: PgpKey[] = [];
  for (const block of text.match(PGP_BLOCK) ?? []) pgp.push(...(await readPgpKeys(block, file)));
  if (pgp.length === 0 && ssh.length === 0) throw new InvalidInputError('EKEYRING', `keyring ${file} holds no key`, { hint: HINT });
  return { file, pgp, ssh };
}
