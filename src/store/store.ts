// The seam every component talks through. Keys are relative to the store's prefix.

/** A key as stored, with etcd's MVCC revisions. */
export interface Entry {
  key: string;
  value: string;
  /** Revision of the last write of this key (0 never occurs for a present key). */
  modRevision: number;
  createRevision: number;
}

/** A change seen by a watch; `revision` is the key's modRevision (for a delete, the revision of the delete). */
export type StoreEvent =
  | { type: 'put'; key: string; value: string; revision: number }
  | { type: 'delete'; key: string; revision: number };

/** Something to stop: a watch, a keep-alive. */
export interface Closer {
  close(): Promise<void>;
}

/** A lease: keys put with it vanish when it expires or is revoked. */
export interface Lease {
  readonly id: string;
  /** Called once if the lease is lost (keep-alive failed and it expired). */
  onLost(cb: () => void): void;
  revoke(): Promise<void>;
}

/** A write in a transaction; with `lease`, the key lives only as long as the lease. */
export interface PutOp {
  key: string;
  value: string;
  lease?: Lease;
}

/**
 * One atomic transaction. `ifUnchanged` maps key → expected modRevision (0: the key must be absent).
 * NOTE: etcd rejects a txn of more than --max-txn-ops (128 by default) operations; callers split.
 */
export interface Txn {
  ifUnchanged?: Record<string, number>;
  put?: PutOp[];
  del?: string[];
}

/** The largest number of puts plus deletes one `commit` accepts everywhere. */
export const MAX_TXN_OPS = 128;

/** The desired and observed state of the cluster: etcd, or an in-memory twin for unit tests. */
export interface Store {
  /** The store's current revision. */
  revision(): Promise<number>;
  get(key: string, opts?: { revision?: number }): Promise<Entry | undefined>;
  /** Every key under `prefix`, sorted by key, read at one revision (the latest unless given). */
  list(prefix: string, opts?: { revision?: number }): Promise<{ entries: Entry[]; revision: number }>;
  commit(txn: Txn): Promise<{ ok: boolean; revision: number }>;
  /** Events for keys under `prefix` from `fromRevision` (inclusive) on; `onError` hears a broken watch (then re-list). */
  watch(prefix: string, fromRevision: number, onEvent: (e: StoreEvent) => void, onError?: (err: Error) => void): Closer;
  lease(ttlSeconds: number): Promise<Lease>;
  close(): Promise<void>;
}
