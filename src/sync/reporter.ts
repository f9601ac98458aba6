import type { OutboxRecord } from '../store/index.js';

/**
 * Delivers commit statuses to where people read them: git notes, a forge's status API. Entries come
 * in outbox order and may span several commits. `report` takes a batch: resolving means every entry
 * was delivered; throwing means none may be assumed delivered (they stay in the outbox and come
 * again, so `report` must tolerate an entry it already delivered, as git notes skip a line they
 * have). A sink that would show a status twice (a forge) is `once` instead: the outbox hands it one
 * entry at a time after `report`, marked in etcd while it is sent, so each entry is sent once.
 */
export interface StatusReporter {
  report(entries: OutboxRecord[]): Promise<void>;
  once?: OnceSink;
}

/** A sink where delivering an entry twice shows it twice (a forge's commit statuses). */
export interface OnceSink {
  /** Deliver one entry; throwing means it may or may not have arrived. */
  send(entry: OutboxRecord): Promise<void>;
  /** Whether `entry`, whose sending a crash or a failure cut short, arrived all the same (asked before sending it again). */
  arrived(entry: OutboxRecord): Promise<boolean>;
}

/** For operators who want no statuses on the Git side (a read-only remote): the outbox is drained, nothing is written. */
export const discardReporter: StatusReporter = {
  report: async () => undefined,
};
