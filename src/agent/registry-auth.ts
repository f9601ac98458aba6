// Registry credentials for pulls, from the operator's Docker configuration (never from a repository:
// berth has no imagePullSecrets). Parsing is pure; RegistryAuth reads the file, again when it changes.
import { readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { InvalidInputError } from '../errors.js';

/** What Docker sends a registry for one pull (the X-Registry-Auth header). */
export interface RegistryCredential {
  username?: string;
  password?: string;
  /** An OAuth refresh token some registries hand out instead of a password. */
  identitytoken?: string;
  serveraddress: string;
}

/** The `auths` of a Docker config, by registry host (`registry.example.com:5000`, `docker.io`). */
export type RegistryAuths = ReadonlyMap<string, RegistryCredential>;

/** Docker Hub's name in image references and its key in a Docker config. */
const HUB = 'docker.io';
const HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com']);

/**
 * The registry host of an image reference, by Docker's rule: the part before the first `/` when it
 * has a `.` or a `:` or is `localhost`; otherwise Docker Hub (`docker.io`).
 */
export function registryOf(image: string): string {
  const slash = image.indexOf('/');
  if (slash < 0) return HUB;
  const first = image.slice(0, slash);
  if (first.includes('.') || first.includes(':') || first === 'localhost') return HUB_ALIASES.has(first) ? HUB : first;
  return HUB;
}

/** A config key (`https://index.docker.io/v1/`, `http://r:5000`, `r:5000`) as a registry host. */
function hostOfKey(key: string): string {
  const host = key.replace(/^[a-z]+:\/\//i, '').split('/')[0] ?? '';
  return HUB_ALIASES.has(host) ? HUB : host;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/**
 * The credentials in the text of a Docker config file (`{"auths": {host: {auth | username+password |
 * identitytoken}}}`). `file` only names the file in errors, which never quote its content.
 */
export function parseDockerConfig(text: string, file: string): RegistryAuths {
  const bad = (why: string): InvalidInputError =>
    new InvalidInputError('EREGISTRYAUTH', `cannot read registry credentials from ${file}: ${why}`, { hint: 'fix the file (docker login writes it), or pass --registry-auth-file <file>' });
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    // NOTE: JSON.parse's own message quotes the text around the error, which may be a password.
    throw bad('it is not valid JSON');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw bad('it is not a JSON object');
  const auths = (doc as { auths?: unknown }).auths;
  const out = new Map<string, RegistryCredential>();
  if (auths === undefined) return out;
  if (typeof auths !== 'object' || auths === null || Array.isArray(auths)) throw bad('"auths" is not an object');
  for (const [key, entry] of Object.entries(auths)) {
    if (typeof entry !== 'object' || entry === null) throw bad(`the entry of ${JSON.stringify(key)} is not an object`);
    const e = entry as Record<string, unknown>;
    const host = hostOfKey(key);
    const cred: RegistryCredential = { serveraddress: host };
    const auth = str(e.auth);
    if (auth !== undefined) {
      const plain = Buffer.from(auth, 'base64').toString('utf8');
      const colon = plain.indexOf(':');
      if (colon <= 0) throw bad(`the "auth" of ${JSON.stringify(key)} is not base64 of user:password`);
      cred.username = plain.slice(0, colon);
      cred.password = plain.slice(colon + 1);
    }
    const username = str(e.username);
    const password = str(e.password);
    if (username !== undefined) cred.username = username;
    if (password !== undefined) cred.password = password;
    const token = str(e.identitytoken);
    if (token !== undefined) cred.identitytoken = token;
    // An entry with nothing in it (a credential helper's placeholder) gives no credentials.
    if (cred.username !== undefined || cred.identitytoken !== undefined) out.set(host, cred);
  }
  return out;
}

/** The credentials for pulling `image`, if the config has some for its registry. */
export function credentialFor(auths: RegistryAuths, image: string): RegistryCredential | undefined {
  return auths.get(registryOf(image));
}

/** The Docker config berth reads: the flag's file, else `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
export function registryAuthPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env, home = os.homedir()): { file: string; explicit: boolean } {
  if (flag !== undefined && flag.trim() !== '') return { file: path.resolve(flag), explicit: true };
  const dir = env.DOCKER_CONFIG?.trim() || path.join(home, '.docker');
  return { file: path.join(dir, 'config.json'), explicit: false };
}

/**
 * The operator's registry credentials, read from one file and read again when it changes (a
 * `docker login` needs no agent restart). A missing default file means no credentials; a missing
 * `--registry-auth-file` is an error.
 */
export class RegistryAuth {
  private cached: { mtimeMs: number; size: number; auths: RegistryAuths } | undefined;

  constructor(
    /** The file read. */
    readonly file: string,
    private readonly explicit: boolean,
  ) {}

  /** Read the file now: an agent fails at start on a bad or missing `--registry-auth-file`, not at its first pull. */
  async check(): Promise<void> {
    await this.auths();
  }

  /** The credentials for `image`'s registry, if any. */
  async credentialFor(image: string): Promise<RegistryCredential | undefined> {
    return credentialFor(await this.auths(), image);
  }

  private async auths(): Promise<RegistryAuths> {
    let st;
    try {
      st = await stat(this.file);
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ENOENT' && !this.explicit) return new Map();
      throw new InvalidInputError('EREGISTRYAUTH', `cannot read registry credentials from ${this.file}: ${(err as { code?: unknown }).code === 'ENOENT' ? 'no such file' : String((err as { code?: unknown }).code ?? err)}`, {
        hint: 'pass an existing file to --registry-auth-file (a Docker config.json with "auths")',
      });
    }
    if (this.cached && this.cached.mtimeMs === st.mtimeMs && this.cached.size === st.size) return this.cached.auths;
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      throw new InvalidInputError('EREGISTRYAUTH', `cannot read registry credentials from ${this.file}: ${String((err as { code?: unknown }).code ?? err)}`, { hint: 'make the file readable by the agent\'s user' });
    }
    const auths = parseDockerConfig(text, this.file);
    this.cached = { mtimeMs: st.mtimeMs, size: st.size, auths };
    return auths;
  }
}
