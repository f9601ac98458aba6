import type { PutOp, Store } from './store.js';
import { MAX_TXN_OPS } from './store.js';

/**
 * Write puts and deletes in as many transactions as etcd's max-txn-ops needs, in order; returns the
 * revision after the last one (the current revision when there was nothing to write).
 * NOTE: only each chunk is atomic; callers that need all-or-nothing seal afterwards.
 */
export async function commitChunked(store: Store, put: PutOp[], del: string[]): Promise<number> {
  const ops: ({ put: PutOp } | { del: string })[] = [...put.map((p) => ({ put: p })), ...del.map((d) => ({ del: d }))];
  let revision = ops.length === 0 ? await store.revision() : 0;
  for (let i = 0; i < ops.length; i += MAX_TXN_OPS) {
    const chunk = ops.slice(i, i + MAX_TXN_OPS);
    revision = (await store.commit({ put: chunk.flatMap((o) => ('put' in o ? [o.put] : [])), del: chunk.flatMap((o) => ('del' in o ? [o.del] : [])) })).revision;
  }
  return revision;
}
