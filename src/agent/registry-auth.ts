// Registry credentials for pulls, from the operator's Docker configuration (never from a repository:
// berth has no imagePullSecrets): its `auths`, or the credential helper it names for a registry
// (`credHelpers`, `credsStore`; run by cred-helper.ts). Parsing is pure; RegistryAuth reads the
// file, again when it changes.
import { readFile, stat } from 'node:fs/promises';
import { checkSecretMode } from '../secret-file.js';
import os from 'node:os';
import path from 'node:path';
import { InvalidInputError } from '../errors.js';
import { checkHelperName, runCredentialHelper, type HelperOptions } from './cred-helper.js';

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

/** A Docker config as the agent reads it: credentials in the file, and the helpers that hold the others. */
export interface DockerConfig {
  auths: RegistryAuths;
  /** `credsStore`: the helper of every registry without one of its own in `credHelpers`. */
  credsStore?: string;
  /** `credHelpers`, by registry host: the helper's name and the key as written (what the helper is asked for). */
  credHelpers: ReadonlyMap<string, { helper: string; key: string }>;
}

/**
 * The operator's Docker config file from its text: `{"auths": {host: {auth | username+password |
 * identitytoken}}, "credsStore": name, "credHelpers": {host: name}}`. `file` only names the file in
 * errors, which never quote its content.
 */
export function parseDockerConfig(text: string, file: string): DockerConfig {
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
  const { auths, credsStore, credHelpers } = doc as { auths?: unknown; credsStore?: unknown; credHelpers?: unknown };
  const helper = (v: unknown, what: string): string => {
    const why = typeof v === 'string' ? checkHelperName(v) : 'it is not a string';
    if (why !== undefined) throw bad(`${what}: ${why}`);
    return v as string;
  };
  const helpers = new Map<string, { helper: string; key: string }>();
  if (credHelpers !== undefined) {
    if (typeof credHelpers !== 'object' || credHelpers === null || Array.isArray(credHelpers)) throw bad('"credHelpers" is not an object');
    for (const [key, name] of Object.entries(credHelpers)) helpers.set(hostOfKey(key), { helper: helper(name, `the credHelpers entry of ${JSON.stringify(key)}`), key });
  }
  const config: DockerConfig = { auths: readAuths(auths, bad), credHelpers: helpers };
  // An empty credsStore is Docker's "none".
  if (credsStore !== undefined && credsStore !== '') config.credsStore = helper(credsStore, '"credsStore"');
  return config;
}

/** The `auths` of a Docker config. */
function readAuths(auths: unknown, bad: (why: string) => InvalidInputError): RegistryAuths {
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

/** Docker Hub's address in credential stores (the CLI's IndexServer). */
const HUB_SERVER = 'https://index.docker.io/v1/';

/**
 * The helper that holds `image`'s credentials, as Docker picks it: the registry's `credHelpers`
 * entry, else `credsStore`; then `auths` is not read for it. `serverUrl` is what the helper is asked.
 */
export function helperFor(config: DockerConfig, image: string): { helper: string; serverUrl: string; host: string } | undefined {
  const host = registryOf(image);
  const own = config.credHelpers.get(host);
  if (own !== undefined) return { helper: own.helper, serverUrl: host === HUB ? HUB_SERVER : own.key, host };
  if (config.credsStore !== undefined) return { helper: config.credsStore, serverUrl: host === HUB ? HUB_SERVER : host, host };
  return undefined;
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
  private cached: { mtimeMs: number; size: number; config: DockerConfig } | undefined;

  constructor(
    /** The file read. */
    readonly file: string,
    private readonly explicit: boolean,
    /** How credential helpers run (their PATH, their time limit). */
    private readonly helpers: HelperOptions = {},
  ) {}

  /** Read the file now: an agent fails at start on a bad or missing `--registry-auth-file`, not at its first pull. */
  async check(): Promise<void> {
    await this.config();
  }

  /** The credentials for `image`'s registry, if any: from its credential helper when it has one, as Docker's. */
  async credentialFor(image: string): Promise<RegistryCredential | undefined> {
    const config = await this.config();
    const h = helperFor(config, image);
    // Asked at every pull, as Docker asks: a helper's tokens expire, and it refreshes them.
    if (h !== undefined) return runCredentialHelper(h.helper, h.serverUrl, h.host, this.helpers);
    return credentialFor(config.auths, image);
  }

  private async config(): Promise<DockerConfig> {
    let st;
    try {
      st = await stat(this.file);
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ENOENT' && !this.explicit) return { auths: new Map(), credHelpers: new Map() };
      throw new InvalidInputError('EREGISTRYAUTH', `cannot read registry credentials from ${this.file}: ${(err as { code?: unknown }).code === 'ENOENT' ? 'no such file' : String((err as { code?: unknown }).code ?? err)}`, {
        hint: 'pass an existing file to --registry-auth-file (a Docker config.json with "auths")',
      });
    }
    // The flag's file holds passwords: refused when others may read it. Docker's own default file is
    // taken as Docker takes it (docker login writes it 0600; one by hand may hold no secret at all).
    if (this.explicit) checkSecretMode(this.file, st.mode, '--registry-auth-file', 'EREGISTRYAUTH');
    if (this.cached && this.cached.mtimeMs === st.mtimeMs && this.cached.size === st.size) return this.cached.config;
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      throw new InvalidInputError('EREGISTRYAUTH', `cannot read registry credentials from ${this.file}: ${String((err as { code?: unknown }).code ?? err)}`, { hint: 'make the file readable by the agent\'s user' });
    }
    const config = parseDockerConfig(text, this.file);
    this.cached = { mtimeMs: st.mtimeMs, size: st.size, config };
    return config;
  }
}
