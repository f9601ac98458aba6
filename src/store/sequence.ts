import { ConflictError } from '../errors.js';
import type { PutOp, Store } from './store.js';

/** Tries at fresh sequence numbers before giving up (each one lost means another writer took it). */
export const SEQ_ATTEMPTS = 5;

/** A txn that creates keys numbered by a sequence (history/, outbox/), with other compares and writes. */
export interface SequencedTxn {
  /** The keys to create for sequence number `seq` (several entries of one prefix take `seq`, `seq + 1`, …); each only if absent. */
  at: (seq: number) => PutOp[];
  ifUnchanged?: Record<string, number>;
  /** Written in the same txn, before the sequenced keys. */
  put?: PutOp[];
  del?: string[];
  /** Asked after a failed txn: true when `ifUnchanged` no longer holds, so a fresh number cannot help. */
  lost?: () => Promise<boolean>;
}

/**
 * Commit `txn` at the next sequence number: `seq` = the store's revision + 1, so the keys a writer
 * creates sort in the order it wrote them, and they are created only if absent, so an entry of
 * another writer (sync and controller share outbox/) is never overwritten. When another writer took
 * that number, try again at a fresh one. Returns the sequence number used, or `undefined` when
 * `lost()` says the txn's own guard failed. Throws ConflictError ESEQRACE after SEQ_ATTEMPTS tries;
 * `what` names the write in that error.
 */
export async function commitSequenced(store: Store, txn: SequencedTxn, what: string): Promise<number | undefined> {
  for (let attempt = 1; attempt <= SEQ_ATTEMPTS; attempt++) {
    const seq = (await store.revision()) + 1;
    const created = txn.at(seq);
    const { ok } = await store.commit({
      ifUnchanged: { ...txn.ifUnchanged, ...Object.fromEntries(created.map((p) => [p.key, 0])) },
      put: [...(txn.put ?? []), ...created],
      ...(txn.del ? { del: txn.del } : {}),
    });
    if (ok) return seq;
    if (txn.lost && (await txn.lost())) return undefined;
  }
  throw new ConflictError('ESEQRACE', `other writers took ${SEQ_ATTEMPTS} sequence numbers in a row while ${what}`, {
    hint: 'this is retried; if it persists, check for a writer that reuses history/ or outbox/ keys',
  });
}
