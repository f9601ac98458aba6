import { ConflictError } from '../errors.js';

/** Re-reads after a lost compare-and-swap within one reconcile, before backing off through the loop. */
const MAX_CONFLICT_RETRIES = 3;

/**
 * Run `pass` (read, plan, write; resolves to how many writes lost a compare-and-swap) again from a
 * fresh read while it loses, a few times; then throw a ConflictError so the loop backs off.
 */
export async function rerunWhileLosing(
  pass: () => Promise<number>,
  what: { code: string; message: (lost: number) => string; onRetry: (lost: number, attempt: number) => void },
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const lost = await pass();
    if (lost === 0) return;
    if (attempt >= MAX_CONFLICT_RETRIES) {
      throw new ConflictError(what.code, what.message(lost), { hint: 'run one controller (`berth controller` or `berth up`) per etcd --prefix; berth has no leader election; this pass is retried' });
    }
    what.onRetry(lost, attempt);
  }
}
