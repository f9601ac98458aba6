import { BerthError } from '../errors.js';
import type { PutOp, Store, StoreLimits, Txn } from './store.js';
import { opBytes, txnBytes } from './store.js';
import { formatBytes } from '../text.js';

/** One write, or a group of writes with compares, that must stay in one txn. */
export interface TxnPart<T = unknown> {
  txn: Txn;
  /** What the part stands for (a pod, a bind), handed back with the txn it landed in. */
  item: T;
}

/**
 * Merge parts into as few txns as `limits` allow, in order: each txn keeps to maxTxnOps puts and
 * deletes, as many compares, and maxTxnBytes as txnBytes counts them.
 * NOTE: etcd counts compares and operations separately against --max-txn-ops, and the whole request
 * against --max-request-bytes. A part that alone exceeds the limits throws ETXNTOOBIG naming it.
 */
export function packTxns<T>(parts: readonly TxnPart<T>[], limits: StoreLimits, name: (item: T) => string = String): { txn: Txn; items: T[] }[] {
  const out: { txn: Txn; items: T[] }[] = [];
  let cur: { txn: Required<Txn>; items: T[]; ops: number; compares: number; bytes: number } | undefined;
  for (const part of parts) {
    const ops = (part.txn.put?.length ?? 0) + (part.txn.del?.length ?? 0);
    const compares = Object.keys(part.txn.ifUnchanged ?? {}).length;
    const bytes = txnBytes(part.txn);
    if (ops > limits.maxTxnOps || compares > limits.maxTxnOps || bytes > limits.maxTxnBytes) {
      throw new BerthError('ETXNTOOBIG', `${name(part.item)} is ${formatBytes(bytes)} in ${ops} operations, more than one etcd request may carry (${formatBytes(limits.maxTxnBytes)}, ${limits.maxTxnOps} operations)`, {
        hint: 'make the object smaller; etcd refuses requests over its --max-request-bytes',
      });
    }
    if (!cur || cur.ops + ops > limits.maxTxnOps || cur.compares + compares > limits.maxTxnOps || cur.bytes + bytes > limits.maxTxnBytes) {
      cur = { txn: { ifUnchanged: {}, put: [], del: [] }, items: [], ops: 0, compares: 0, bytes: 0 };
      out.push(cur);
    }
    Object.assign(cur.txn.ifUnchanged, part.txn.ifUnchanged);
    cur.txn.put.push(...(part.txn.put ?? []));
    cur.txn.del.push(...(part.txn.del ?? []));
    cur.items.push(part.item);
    cur.ops += ops;
    cur.compares += compares;
    cur.bytes += bytes;
  }
  return out;
}

/**
 * Write puts and deletes in as many transactions as etcd's limits need (operations and bytes,
 * `store.limits`), in order; returns the revision after the last one (the current revision when
 * there was nothing to write). A single put larger than one request throws ETXNTOOBIG naming its key.
 * `inFlight` txns at once (default 1): only for keys that are each written once (no key both put
 * and deleted), whose order does not matter; each round trip then overlaps the others.
 * NOTE: only each chunk is atomic; callers that need all-or-nothing seal afterwards.
 */
export async function commitChunked(store: Store, put: PutOp[], del: string[], inFlight = 1): Promise<number> {
  const parts: TxnPart<string>[] = [...put.map((p) => ({ txn: { put: [p] }, item: p.key })), ...del.map((key) => ({ txn: { del: [key] }, item: key }))];
  if (parts.length === 0) return store.revision();
  const txns = packTxns(parts, store.limits);
  let revision = 0;
  let next = 0;
  const writer = async (): Promise<void> => {
    for (let txn = txns[next++]?.txn; txn !== undefined; txn = txns[next++]?.txn) {
      // NOTE: awaited first: `Math.max(revision, await …)` would read `revision` before the other writers moved it.
      const done = await store.commit({ put: txn.put ?? [], del: txn.del ?? [] });
      revision = Math.max(revision, done.revision);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(inFlight, txns.length)) }, writer));
  return revision;
}

/** The largest value a single put of `key` may carry under `limits`. */
export function maxValueBytes(key: string, limits: StoreLimits): number {
  return limits.maxTxnBytes - opBytes(key, '');
}
