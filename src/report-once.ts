import type { Logger } from './log.js';

/**
 * Remembers which standing conditions were already reported, so a reconcile that runs every few
 * seconds logs a problem once, and again only after it changed or went away and came back.
 */
export class ReportOnce {
  private reported = new Map<string, string>();
  private seen = new Set<string>();

  /** True the first time `id` is reported with this `message` (since it last went away). */
  fresh(id: string, message: string): boolean {
    this.seen.add(id);
    if (this.reported.get(id) === message) return false;
    this.reported.set(id, message);
    return true;
  }

  /** End a full reconcile: forget what was not reported in it. */
  endRound(): void {
    for (const id of this.reported.keys()) if (!this.seen.has(id)) this.reported.delete(id);
    this.seen.clear();
  }
}

/**
 * For listDecoded's `onCorrupt`: log each unreadable record once (until it changes or goes away and
 * comes back), saying what the loop does about it (`effect`, default "ignored").
 */
export function reportCorrupt(log: Logger, once: ReportOnce, what: string, effect = 'ignored'): (c: { entry: { key: string }; reason: string }) => void {
  return (c) => {
    if (once.fresh(c.entry.key, 'corrupt')) log.warn({ key: c.entry.key, err: c.reason }, `${what} unreadable; ${effect}`);
  };
}
