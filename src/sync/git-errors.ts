// isomorphic-git's errors, read at the adapter so they never cross out of src/sync.
import { redactUrl } from '../log.js';

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
