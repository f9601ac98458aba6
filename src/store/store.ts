import { BerthError } from '../errors.js';
import { formatBytes } from '../text.js';

// The seam every component talks through. Keys are relative to the store's prefix.

/** A read at a revision that etcd has compacted away; re-read at the latest seal. */
export class CompactedError extends BerthError {}

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

/** How a lease is kept alive. */
export interface LeaseOptions {
  /** Renew every this many milliseconds (default: a third of the TTL). */
  renewMs?: number;
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

/** etcd's default --max-request-bytes: the largest request (one txn) the server takes. */
export const DEFAULT_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;

/**
 * What one `commit` may carry. `maxTxnBytes` is estimated by txnBytes and leaves headroom under
 * etcd's --max-request-bytes for the key prefix and the protobuf framing of the request.
 */
export interface StoreLimits {
  maxTxnOps: number;
  maxTxnBytes: number;
}

/** The limits of a store whose etcd runs with `--max-request-bytes maxRequestBytes`: 90 % of it, as headroom. */
export function limitsFor(maxRequestBytes: number = DEFAULT_MAX_REQUEST_BYTES): StoreLimits {
  return { maxTxnOps: MAX_TXN_OPS, maxTxnBytes: Math.floor(maxRequestBytes * 0.9) };
}

// Per compare or operation: the protobuf tags and lengths of a RequestOp and its fields, rounded up.
const OP_OVERHEAD_BYTES = 32;

/** The bytes one put (a delete or compare: `value` undefined) adds to a txn, as txnBytes counts them. */
export function opBytes(key: string, value?: string): number {
  return OP_OVERHEAD_BYTES + Buffer.byteLength(key) + (value === undefined ? 0 : Buffer.byteLength(value));
}

/** An estimate, from above, of a txn's size on the wire (without the store's key prefix). */
export function txnBytes(txn: Txn): number {
  let n = 0;
  for (const key of Object.keys(txn.ifUnchanged ?? {})) n += opBytes(key);
  for (const p of txn.put ?? []) n += opBytes(p.key, p.value);
  for (const key of txn.del ?? []) n += opBytes(key);
  return n;
}

/** Throw ETXNTOOBIG when `txn` is more than `limits` allow (checked by every Store before it sends). */
export function checkTxn(txn: Txn, limits: StoreLimits): void {
  const ops = (txn.put?.length ?? 0) + (txn.del?.length ?? 0);
  if (ops > limits.maxTxnOps) {
    throw new BerthError('ETXNTOOBIG', `a transaction of ${ops} operations exceeds ${limits.maxTxnOps}`, {
      hint: 'split it (commitChunked, packTxns)',
    });
  }
  const bytes = txnBytes(txn);
  if (bytes > limits.maxTxnBytes) {
    throw new BerthError('ETXNTOOBIG', `a transaction of ${formatBytes(bytes)} exceeds the ${formatBytes(limits.maxTxnBytes)} one etcd request may carry`, {
      hint: 'split it (commitChunked, packTxns); etcd refuses requests over its --max-request-bytes',
    });
  }
}

/** The desired and observed state of the cluster: etcd, or an in-memory twin for unit tests. */
export interface Store {
  /** What one `commit` may carry; larger txns are refused with ETXNTOOBIG before they are sent. */
  readonly limits: StoreLimits;
  /** The store's current revision. */
  revision(): Promise<number>;
  get(key: string, opts?: { revision?: number }): Promise<Entry | undefined>;
  /**
   * Every key under `prefix`, sorted by key, read at one revision (the latest unless given), in
   * pages of bounded size that are all read at that one revision. `revision` is the store's revision
   * at the read (not the one asked for).
   */
  list(prefix: string, opts?: { revision?: number }): Promise<{ entries: Entry[]; revision: number }>;
  /**
   * How many keys are under `prefix`, and which were written after `revision` (keys and
   * modRevisions, no values), at one revision: whether anything changed since a known state costs
   * two small reads instead of a list.
   */
  changedSince(prefix: string, revision: number): Promise<{ count: number; changed: { key: string; modRevision: number }[] }>;
  commit(txn: Txn): Promise<{ ok: boolean; revision: number }>;
  /** Events for keys under `prefix` from `fromRevision` (inclusive) on; `onError` hears a broken watch (then re-list). */
  watch(prefix: string, fromRevision: number, onEvent: (e: StoreEvent) => void, onError?: (err: Error) => void): Closer;
  /**
   * A lease of `ttlSeconds`, kept alive until revoked or lost. `renewMs` sets how often it is renewed
   * (default: a third of the TTL, as etcd's own clients do); a renewal that has not succeeded for a
   * whole TTL means the lease is lost.
   */
  lease(ttlSeconds: number, opts?: LeaseOptions): Promise<Lease>;
  close(): Promise<void>;
}
