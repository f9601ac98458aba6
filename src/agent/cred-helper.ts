// Docker's credential helpers (`credsStore`, `credHelpers` in the operator's Docker config): the
// agent runs `docker-credential-<name> get` as the Docker CLI does, with the registry's address on
// stdin and the credentials as JSON on stdout, bounded in time and output. What a helper prints is
// never logged nor put in an error: it may be a password.
import { spawn } from 'node:child_process';
import { InvalidInputError, UnavailableError } from '../errors.js';
import type { RegistryCredential } from './registry-auth.js';

/** A helper's name: the suffix of `docker-credential-<name>`, found on PATH (never a path). */
export function checkHelperName(name: string): string | undefined {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name) ? undefined : `${JSON.stringify(name)} is not a credential helper name (letters, digits, '.', '_', '-')`;
}

/** What docker-credential-helpers print when they hold nothing for the address (then the pull is anonymous, as Docker's). */
const NOT_FOUND = 'credentials not found in native keychain';

/** The helpers' marker of an identity token in place of a user name. */
const TOKEN_USER = '<token>';

/**
 * The credentials in a helper's answer (pure): `{"ServerURL", "Username", "Secret"}`, a Username of
 * `<token>` meaning the Secret is an identity token. `host` is the registry they are for.
 */
export function parseHelperOutput(stdout: string, helper: string, host: string): RegistryCredential | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(stdout);
  } catch {
    // NOTE: JSON.parse's message quotes the text, which may be the secret.
    throw new InvalidInputError('ECREDHELPER', `credential helper docker-credential-${helper} did not answer with JSON for ${host}`, { hint: `try: echo ${host} | docker-credential-${helper} get` });
  }
  const d = (typeof doc === 'object' && doc !== null ? doc : {}) as { Username?: unknown; Secret?: unknown };
  const username = typeof d.Username === 'string' ? d.Username : '';
  const secret = typeof d.Secret === 'string' ? d.Secret : '';
  if (secret === '') return undefined;
  if (username === TOKEN_USER) return { identitytoken: secret, serveraddress: host };
  return { username, password: secret, serveraddress: host };
}

/** How to run helpers: their environment (its PATH finds them) and how long one may take. */
export interface HelperOptions {
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** A helper's answer is a few hundred bytes; more is not an answer. */
const MAX_OUTPUT = 64 * 1024;

/**
 * Run `docker-credential-<helper> get` for `serverUrl` (what the helper was given at `docker login`:
 * Docker Hub's `https://index.docker.io/v1/`, otherwise the registry's host) and read its answer.
 * Nothing stored for it: undefined (an anonymous pull, as Docker's). A helper that is missing, fails,
 * prints too much or runs past `timeoutMs` (default 10 s) is an error naming only the helper.
 */
export function runCredentialHelper(helper: string, serverUrl: string, host: string, opts: HelperOptions = {}): Promise<RegistryCredential | undefined> {
  const bad = checkHelperName(helper);
  if (bad !== undefined) return Promise.reject(new InvalidInputError('ECREDHELPER', `cannot run the credential helper for ${host}: ${bad}`, { hint: 'fix credsStore or credHelpers in the Docker config (--registry-auth-file)' }));
  const program = `docker-credential-${helper}`;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const child = spawn(program, ['get'], { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'ignore'] });
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    const timer = setTimeout(() => fail(new UnavailableError('ECREDHELPER', `credential helper ${program} did not answer for ${host} within ${timeoutMs / 1000} s`, { hint: `try: echo ${host} | ${program} get` })), timeoutMs);
    child.on('error', (err: NodeJS.ErrnoException) =>
      fail(
        err.code === 'ENOENT'
          ? new InvalidInputError('ECREDHELPER', `credential helper ${program} (for ${host}) is not on the agent's PATH`, { hint: `install ${program}, or fix credsStore or credHelpers in the Docker config` })
          : new UnavailableError('ECREDHELPER', `cannot run credential helper ${program} for ${host}: ${err.code ?? 'error'}`),
      ),
    );
    child.stdout.on('data', (b: Buffer) => {
      size += b.length;
      if (size > MAX_OUTPUT) fail(new InvalidInputError('ECREDHELPER', `credential helper ${program} printed more than ${MAX_OUTPUT / 1024} KiB for ${host}`, { hint: `try: echo ${host} | ${program} get` }));
      else chunks.push(b);
    });
    child.on('close', (code) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const out = Buffer.concat(chunks).toString('utf8');
      if (code === 0) {
        try {
          resolve(parseHelperOutput(out, helper, host));
        } catch (err) {
          reject(err as Error);
        }
      } else if (out.trim() === NOT_FOUND) {
        resolve(undefined);
      } else {
        reject(new UnavailableError('ECREDHELPER', `credential helper ${program} failed for ${host} (exit code ${code ?? 'none'})`, { hint: `try: echo ${host} | ${program} get` }));
      }
    });
    // A helper that exits without reading stdin makes the write fail with EPIPE; its exit code says what happened.
    child.stdin.on('error', () => undefined);
    child.stdin.end(serverUrl);
  });
}
