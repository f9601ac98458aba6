// Where Docker is, and what its failures mean in berth's words. Kept apart from docker.ts so the
// CLI can resolve and show `--docker` without opening a connection.
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { BerthError, InvalidInputError, UnavailableError } from '../errors.js';
import { RUNTIME_DOWN } from './runtime.js';
import { registryOf } from './registry-auth.js';

/** The fix for an unreachable daemon, shown after every such error. */
export const DOCKER_HINT = 'start dockerd or pass --docker <socket|url>';

/** Where the Docker daemon listens: a unix socket or a plain-HTTP TCP endpoint. */
export type DockerHost =
  | { kind: 'socket'; socketPath: string; display: string }
  | { kind: 'tcp'; host: string; port: number; display: string };

const DEFAULT_SOCKET = '/var/run/docker.sock';

/**
 * Resolve a `--docker` value (a socket path, `unix://path`, `tcp://h:p`, `http://h:p`); without
 * one, `DOCKER_HOST`; without that, the default socket. TLS endpoints are not supported.
 */
export function dockerHostOptions(spec: string | undefined, env: NodeJS.ProcessEnv = process.env): DockerHost {
  const value = spec?.trim() || env.DOCKER_HOST?.trim() || DEFAULT_SOCKET;
  const socket = (p: string): DockerHost => {
    if (p === '') throw invalid(value, 'the socket path is empty');
    const abs = path.resolve(p);
    return { kind: 'socket', socketPath: abs, display: `unix://${abs}` };
  };
  if (value.startsWith('unix://')) return socket(value.slice('unix://'.length));
  if (value.startsWith('/') || value.startsWith('.')) return socket(value);
  const withScheme = value.includes('://') ? value : `tcp://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw invalid(value, 'it is not a socket path or a URL');
  }
  if (url.protocol !== 'tcp:' && url.protocol !== 'http:') {
    throw invalid(value, `the scheme ${url.protocol.replace(/:$/, '')}:// is not supported`);
  }
  if (url.hostname === '') throw invalid(value, 'the host is empty');
  // 2375 is Docker's plain-HTTP port; TLS (2376) would need client certificates berth does not take.
  const port = url.port === '' ? 2375 : Number(url.port);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return { kind: 'tcp', host, port, display: `tcp://${url.host}${url.port === '' ? ':2375' : ''}` };
}

function invalid(value: string, why: string): InvalidInputError {
  return new InvalidInputError('EDOCKERHOST', `cannot use Docker host "${value}": ${why}`, {
    hint: 'pass --docker /path/to/docker.sock, unix:///path, tcp://host:port or http://host:port',
  });
}

/** Error codes of a socket that says "nobody is there" rather than "the request was bad". */
const UNREACHABLE = new Set(['ENOENT', 'ECONNREFUSED', 'EACCES', 'EPERM', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ENOTSOCK']);

/** The HTTP status of a dockerode error, if it has one. */
export function statusOf(err: unknown): number | undefined {
  const s = (err as { statusCode?: unknown } | null)?.statusCode;
  return typeof s === 'number' ? s : undefined;
}

/** Docker's own message (from the JSON body) rather than dockerode's "(HTTP code 404) …" wrapper. */
export function dockerMessage(err: unknown): string {
  const json = (err as { json?: unknown } | null)?.json;
  const msg = (json as { message?: unknown } | null)?.message;
  if (typeof msg === 'string' && msg !== '') return msg;
  // Without a JSON body dockerode prefixes the daemon's text with "(HTTP code 500) server error - ".
  if (err instanceof Error) return err.message.replace(/^\(HTTP code \d+\) [^-]*- /, '').trim();
  return String(err);
}

/** True when the daemon could not be reached at all (socket absent, refused, reset). */
export function isUnreachable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && UNREACHABLE.has(code);
}

/** Translate a dockerode failure of `what` into a berth error; nothing dockerode-shaped leaves this folder. */
export function translate(err: unknown, what: string, host: DockerHost): BerthError {
  if (err instanceof BerthError) return err;
  if (isUnreachable(err)) {
    const code = (err as { code?: unknown }).code;
    const hint = code === 'EACCES' || code === 'EPERM' ? `run as a user allowed to use ${host.display}, or ${DOCKER_HINT}` : DOCKER_HINT;
    return new UnavailableError(RUNTIME_DOWN, `cannot reach Docker at ${host.display} (${String(code)})`, { hint, cause: err });
  }
  const status = statusOf(err);
  // Docker answers 400 for a request it can never accept (a memory limit under 6 MB, a bad port):
  // retrying will not help, the manifest must change.
  if (status === 400) {
    return new InvalidInputError('EDOCKERBADREQUEST', `${what}: ${dockerMessage(err)}`, { hint: 'fix the container spec in the manifest', cause: err });
  }
  const code = status === 404 ? 'EDOCKERNOTFOUND' : status === 409 ? 'EDOCKERCONFLICT' : 'EDOCKER';
  return new BerthError(code, `${what}: ${dockerMessage(err)}`, { cause: err });
}

/** Registry answers that mean the image reference is wrong, not that the registry is down. */
const NOT_FOUND = /not found|manifest unknown|does not exist|pull access denied|repository name must|invalid reference format/i;
/** Registry answers that mean it wants credentials it was not given, or refused those it was. */
const AUTH = /no basic auth credentials|unauthorized|authentication required|incorrect username or password|denied: /i;
const NO_CREDENTIALS = /no basic auth credentials/i;

/**
 * Translate a failed pull, naming the image and what its registry answered: credentials missing or
 * refused and an unknown image are the operator's or the manifest's to fix; anything else (the
 * registry unreachable) may pass.
 */
export function pullError(image: string, message: string, host: DockerHost, cause?: unknown): BerthError {
  const registry = registryOf(image);
  // Docker Hub answers an unknown repository and a private one alike ("pull access denied … may require 'docker login'").
  if (AUTH.test(message) && !/pull access denied/i.test(message)) {
    const what = NO_CREDENTIALS.test(message) ? `registry ${registry} asks for credentials and the agent has none for it` : `registry ${registry} refused the credentials`;
    return new InvalidInputError('EIMAGEAUTH', `cannot pull image ${image}: ${what} (${message})`, {
      hint: `put credentials for ${registry} in the Docker config of the agent's user (docker login ${registry}) or in --registry-auth-file`,
      cause,
    });
  }
  if (NOT_FOUND.test(message)) {
    return new InvalidInputError('EIMAGENOTFOUND', `cannot pull image ${image}: registry ${registry} has no such image (${message})`, {
      hint: 'check the image name and tag in the manifest',
      cause,
    });
  }
  return new UnavailableError('EIMAGEPULL', `cannot pull image ${image}: registry ${registry} cannot be reached (${message})`, {
    hint: `check that the registry is reachable from the Docker host at ${host.display}`,
    cause,
  });
}

/** Split an image reference into Docker's `fromImage` and `tag` (a digest counts as the tag). */
export function parseImageRef(image: string): { repository: string; tag: string } {
  const at = image.indexOf('@');
  if (at >= 0) return { repository: image.slice(0, at), tag: image.slice(at + 1) };
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  // A colon before the last slash is a registry port (localhost:5000/app), not a tag.
  if (colon > slash) return { repository: image.slice(0, colon), tag: image.slice(colon + 1) };
  return { repository: image, tag: 'latest' };
}

/** Call `onLine` with each complete line of a newline-delimited stream; returns a flush for the tail. */
export function lineSplitter(onLine: (line: string) => void): { push(chunk: Buffer | string): void; flush(): void } {
  let buf = '';
  // A chunk may end inside a multi-byte character; the decoder holds it back until the rest arrives.
  const decoder = new StringDecoder('utf8');
  const emit = (line: string): void => {
    const trimmed = line.trim();
    if (trimmed !== '') onLine(trimmed);
  };
  return {
    push(chunk) {
      buf += typeof chunk === 'string' ? chunk : decoder.write(chunk);
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        emit(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
      }
    },
    flush() {
      emit(buf + decoder.end());
      buf = '';
    },
  };
}
