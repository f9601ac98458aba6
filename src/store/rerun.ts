import { ConflictError } from '../errors.js';

/** Re-reads after a lost compare-and-swap within one reconcile, before backing off through the loop. */
export const MAX_CONFLICT_RETRIES = 3;

/**
 * Run `pass` (read, plan, write; resolves to how many writes lost a compare-and-swap) again from a
 * fresh read while it loses, a few times; then throw a ConflictError (`code`, `message`, `hint`) so
 * the loop backs off. The one conflict-retry of the controller, its health pass and the scheduler.
 */
export async function rerunWhileLosing(
  pass: () => Promise<number>,
  what: { code: string; message: (lost: number) => string; hint: string; onRetry: (lost: number, attempt: number) => void },
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const lost = await pass();
    if (lost === 0) return;
    if (attempt >= MAX_CONFLICT_RETRIES) throw new ConflictError(what.code, what.message(lost), { hint: what.hint });
    what.onRetry(lost, attempt);
  }
}
