/** One error base for berth: a stable code, a message for people, and a hint that names the fix. */
export class BerthError extends Error {
  readonly code: string;
  readonly hint: string | undefined;

  constructor(code: string, message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = opts.hint;
  }

  /** The one line a CLI user sees: message, then the fix. */
  toLine(): string {
    return this.hint ? `${this.message}; ${this.hint}` : this.message;
  }
}

/** A dependency (etcd, Docker, a git remote) cannot be reached or started. */
export class UnavailableError extends BerthError {}
/** The user's input (flags, repository, manifests) is wrong; retrying will not help. */
export class InvalidInputError extends BerthError {}
/** A command line berth cannot run: a flag's value, a missing or extra argument, flags that exclude each other (exit 2). */
export class UsageError extends InvalidInputError {}
/** A compare-and-swap lost a race; re-read and try again. */
export class ConflictError extends BerthError {}

/** The message of any thrown value, for logs and one-line CLI errors. */
export function messageOf(err: unknown): string {
  if (err instanceof BerthError) return err.toLine();
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * How the loops treat an error (Flux's stalled / waiting / generic, sample-controller's
 * forget / requeue): `input` is permanent for that input (recorded once, not retried until the
 * input changes), `conflict` is retried at once, `unavailable` and anything unexpected are
 * transient (retried with capped, jittered backoff).
 */
export type ErrorKind = 'input' | 'unavailable' | 'conflict' | 'unexpected';

/** The kind of any thrown value. */
export function kindOf(err: unknown): ErrorKind {
  if (err instanceof InvalidInputError) return 'input';
  if (err instanceof ConflictError) return 'conflict';
  if (err instanceof UnavailableError) return 'unavailable';
  return 'unexpected';
}
