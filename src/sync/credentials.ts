// Credentials for http(s) repositories: read from a file, the environment or the URL, handed to
// isomorphic-git's onAuth only, and named in errors by where they came from, never by value.
import { readSecretFile } from '../secret-file.js';
import { InvalidInputError, UsageError } from '../errors.js';

/** HTTP basic credentials; a token is sent as the password. */
export interface RepoCredentials {
  username: string;
  password: string;
}

/**
 * Where a source's credentials come from, and how to read them (again: a rotated token in the file
 * is read at the next fetch). `from` names the place in errors ("--repo-credentials-file /etc/x").
 */
export interface CredentialProvider {
  from: string;
  /** What to fix when the server refuses them. */
  fix: string;
  get(): Promise<RepoCredentials>;
}

/** The user name sent with a `token:` and no `username:`; GitHub, Gitea/Forgejo and GitLab ignore it for a personal access token. */
export const TOKEN_USERNAME = 'x-access-token';

/** Environment variables read when a source has no credentials file and none in its URL. */
export const ENV = { username: 'BERTH_REPO_USERNAME', password: 'BERTH_REPO_PASSWORD', token: 'BERTH_REPO_TOKEN' } as const;

const KEYS = ['username', 'password', 'token'] as const;
type Key = (typeof KEYS)[number];

/**
 * A credentials file's text: `key: value` lines (`username`, `password`, `token`), `#` comments and
 * blank lines. Either `username` + `password`, or `token` (with an optional `username`). Errors name
 * `file:line:col`, and never quote a value.
 */
export function parseCredentials(text: string, file: string): RepoCredentials {
  const seen = new Map<Key, string>();
  const lines = text.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const at = `${file}:${i + 1}:${raw.length - raw.trimStart().length + 1}`;
    const colon = line.indexOf(':');
    if (colon === -1) throw new InvalidInputError('ECREDENTIALS', `${at}: expected 'key: value'`, { hint: FORMAT });
    const key = line.slice(0, colon).trim();
    if (!isKey(key)) throw new InvalidInputError('ECREDENTIALS', `${at}: unknown key '${key.slice(0, 40)}'`, { hint: FORMAT });
    if (seen.has(key)) throw new InvalidInputError('ECREDENTIALS', `${at}: '${key}' given twice`, { hint: FORMAT });
    const value = line.slice(colon + 1).trim();
    if (value === '') throw new InvalidInputError('ECREDENTIALS', `${at}: '${key}' is empty`, { hint: FORMAT });
    seen.set(key, value);
  }
  return fromValues(seen.get('username'), seen.get('password'), seen.get('token'), file);
}

const FORMAT = "write 'username: …' and 'password: …' lines, or a 'token: …' line (README: Private repositories)";

function isKey(key: string): key is Key {
  return (KEYS as readonly string[]).includes(key);
}

function fromValues(username: string | undefined, password: string | undefined, token: string | undefined, where: string): RepoCredentials {
  if (token !== undefined && password !== undefined) throw new InvalidInputError('ECREDENTIALS', `${where}: both a password and a token`, { hint: 'keep one of them' });
  if (token !== undefined) return { username: username ?? TOKEN_USERNAME, password: token };
  if (username !== undefined && password !== undefined) return { username, password };
  throw new InvalidInputError('ECREDENTIALS', `${where}: ${username === undefined ? 'no username' : 'no password'}`, { hint: FORMAT });
}

/**
 * Read a credentials file, refused (as ssh refuses a private key) when anyone but its owner may
 * read or write it.
 */
export async function readCredentialsFile(file: string): Promise<RepoCredentials> {
  return parseCredentials(await readPrivateFile(file, 'credentials file'), file);
}

/** A forge's API token (`--forge-token-file`): the file's text, trimmed; refused like a credentials file. */
export async function readTokenFile(file: string): Promise<string> {
  const token = (await readPrivateFile(file, 'token file')).trim();
  if (token === '') throw new InvalidInputError('ECREDENTIALS', `token file ${file} is empty`, { hint: 'write the forge\'s API token into it' });
  return token;
}

/** A secret file's text; refused when it is missing, unreadable, or open to anyone but its owner. */
async function readPrivateFile(file: string, what: string): Promise<string> {
  return (await readSecretFile(file, what, 'ECREDENTIALS')).toString('utf8');
}

/** Credentials in the environment (`BERTH_REPO_USERNAME` + `BERTH_REPO_PASSWORD`, or `BERTH_REPO_TOKEN`), if any. */
export function credentialsFromEnv(env: NodeJS.ProcessEnv): RepoCredentials | undefined {
  const value = (name: string): string | undefined => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  const [username, password, token] = [value(ENV.username), value(ENV.password), value(ENV.token)];
  if (username === undefined && password === undefined && token === undefined) return undefined;
  return fromValues(username, password, token, `the environment (${ENV.username}, ${ENV.password}, ${ENV.token})`);
}

/** `user:password@` taken out of an http(s) URL: the URL to fetch, and the credentials it held. */
export function splitUrlCredentials(url: string): { url: string; credentials?: RepoCredentials } {
  const m = /^(https?:\/\/)([^/@\s]*)@/.exec(url);
  if (!m) return { url };
  const userinfo = m[2] ?? '';
  const colon = userinfo.indexOf(':');
  const decode = (s: string): string => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  const username = decode(colon === -1 ? userinfo : userinfo.slice(0, colon));
  const password = colon === -1 ? '' : decode(userinfo.slice(colon + 1));
  return { url: `${m[1] ?? ''}${url.slice(m[0].length)}`, credentials: { username, password } };
}

/** The credentials of a URL's `user:password@`, if it has any. */
export function urlCredentials(repo: string): CredentialProvider | undefined {
  const inUrl = splitUrlCredentials(repo).credentials;
  return inUrl && urlProvider(inUrl);
}

function urlProvider(credentials: RepoCredentials): CredentialProvider {
  return { from: 'the repository URL', fix: 'check the user name and password in the repository URL', get: () => Promise.resolve(credentials) };
}

/** Where a source may find credentials; see credentialProvider. */
export interface CredentialSources {
  /** The source's --repo (URL credentials included). */
  repo: string;
  /** --repo-credentials-file (or `credentialsFile` in the config file). */
  file?: string;
  /** How the file was given, for errors (default `--repo-credentials-file`; `credentialsFile` in a config file). */
  fileFlag?: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * The one place a source's credentials come from: its credentials file, else the URL's
 * `user:password@`, else the environment; none for a local path (which refuses a file). A file and
 * URL credentials at once are refused (which would win is a guess). The file is checked now, so a
 * wrong one fails the start.
 */
export async function credentialProvider(sources: CredentialSources): Promise<CredentialProvider | undefined> {
  const { file } = sources;
  const flag = sources.fileFlag ?? '--repo-credentials-file';
  if (!/^https?:\/\//.test(sources.repo)) {
    if (file !== undefined) throw new UsageError('ECREDENTIALS', `${flag} is for http(s) repositories; ${sources.repo} is a local path`, { hint: `leave out ${flag}` });
    return undefined;
  }
  const inUrl = splitUrlCredentials(sources.repo).credentials;
  if (file !== undefined) {
    if (inUrl) throw new InvalidInputError('ECREDENTIALS', `credentials both in the repository URL and in ${flag}`, { hint: 'keep one of them' });
    await readCredentialsFile(file);
    return { from: `${flag} ${file}`, fix: `check the user name and password or token in ${file}`, get: () => readCredentialsFile(file) };
  }
  if (inUrl) return urlProvider(inUrl);
  const env = credentialsFromEnv(sources.env ?? {});
  if (env) return { from: `the environment (${ENV.username}/${ENV.password} or ${ENV.token})`, fix: `check ${ENV.username} and ${ENV.password}, or ${ENV.token}`, get: () => Promise.resolve(env) };
  return undefined;
}
