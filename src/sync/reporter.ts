import type { OutboxRecord } from '../store/index.js';

/**
 * Delivers commit statuses to where people read them: git notes, a forge's status API. Entries come
 * in outbox order and may span several commits. Resolving means every entry was delivered; throwing
 * means none may be assumed delivered (they stay in the outbox and come again, so a reporter must
 * tolerate an entry it already delivered).
 */
export interface StatusReporter {
  report(entries: OutboxRecord[]): Promise<void>;
}

/** For operators who want no statuses on the Git side (a read-only remote): the outbox is drained, nothing is written. */
export const discardReporter: StatusReporter = {
  report: async () => undefined,
};
