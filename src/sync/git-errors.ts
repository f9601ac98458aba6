// isomorphic-git's errors, read at the adapter so they never cross out of src/sync.
import { BerthError, InvalidInputError } from '../errors.js';
import { redactUrl } from '../log.js';
import { ENV, type CredentialProvider } from './credentials.js';

/** isomorphic-git's error code (NotFoundError, PushRejectedError, …), if any. */
export function codeOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

/** A foreign error's message on one line, with any credentials of a URL in it removed. */
export function causeText(cause: unknown): string {
  const text = cause instanceof Error ? cause.message : String(cause);
  const refused = codeOf(cause) === 'GitPushError' ? text.replace(/^One or more branches were not updated:\s*-\s*/, 'the server refused it: ') : text;
  return redactUrl(refused).replace(/\s+/g, ' ').trim();
}

/** The HTTP status of isomorphic-git's HttpError, if that is what `err` is. */
export function httpStatusOf(err: unknown): number | undefined {
  if (codeOf(err) !== 'HttpError' || typeof err !== 'object' || err === null || !('data' in err)) return undefined;
  const data = err.data;
  return typeof data === 'object' && data !== null && 'statusCode' in data && typeof data.statusCode === 'number' ? data.statusCode : undefined;
}

/**
 * A remote's refusal of who berth is (HTTP 401/403) as an input error naming where the credentials
 * came from and what to fix, never their value; a BerthError thrown inside (a credentials file that
 * became unreadable) as itself; anything else as `otherwise()`.
 */
export function remoteError(cause: unknown, remote: { url: string; credentials: CredentialProvider | undefined }, otherwise: () => BerthError): BerthError {
  if (cause instanceof BerthError) return cause;
  const status = httpStatusOf(cause);
  const { url, credentials } = remote;
  if (status === 401 && credentials) {
    return new InvalidInputError('EAUTH', `${url} refused the credentials from ${credentials.from} (HTTP 401)`, { hint: `${credentials.fix}; berth tries again at each poll`, cause });
  }
  if (status === 401) {
    return new InvalidInputError('EAUTH', `${url} asks for credentials (HTTP 401) and berth has none`, {
      hint: `pass --repo-credentials-file <file>, or set ${ENV.username} and ${ENV.password} (README: Private repositories)`,
      cause,
    });
  }
  if (status === 403) {
    return new InvalidInputError('EAUTH', `${url} refused access${credentials ? ` to the user of ${credentials.from}` : ''} (HTTP 403)`, {
      hint: 'give that user read access to the repository (and write access for git-notes statuses, or pass --status none)',
      cause,
    });
  }
  return otherwise();
}
