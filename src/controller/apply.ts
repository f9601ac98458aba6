import { MAX_TXN_OPS, bindingKey, encode, podKey, type PodRecord, type Store, type Txn } from '../store/index.js';
import type { PodPlan } from './pods.js';

/** What applying a plan did; `conflicts` counts txns that lost a compare-and-swap (re-read and retry). */
export interface ApplyResult {
  created: number;
  deleted: number;
  conflicts: number;
}

/**
 * Apply a pod plan in txns of at most MAX_TXN_OPS operations. Deletes go first: when a step both
 * deletes and creates (a rollout step, a scale-down beside new replicas), freeing the old pods'
 * ports and resources first lets the new ones schedule at once. `modRevisions` maps each pod key
 * to the modRevision it was planned at.
 */
export async function applyPodPlan(store: Store, plan: PodPlan, modRevisions: ReadonlyMap<string, number>): Promise<ApplyResult> {
  const result: ApplyResult = { created: 0, deleted: 0, conflicts: 0 };
  for (const txn of chunk(plan.delete.map((p) => deleteOp(p, modRevisions)))) {
    const { ok } = await store.commit(txn.txn);
    if (ok) result.deleted += txn.pods;
    else result.conflicts++;
  }
  for (const txn of chunk(plan.create.map(createOp))) {
    const { ok } = await store.commit(txn.txn);
    if (ok) result.created += txn.pods;
    else result.conflicts++;
  }
  return result;
}

/** Create a pod only if its key is absent, so a plan computed on a stale view never overwrites one. */
function createOp(pod: PodRecord): Txn {
  const key = podKey(pod.namespace, pod.name);
  return { ifUnchanged: { [key]: 0 }, put: [{ key, value: encode(pod) }] };
}

/**
 * Delete a pod and, if it was bound, its binding, in one txn guarded by the pod's modRevision:
 * a bind that raced in after the read changes it, so the txn fails instead of orphaning a binding.
 */
function deleteOp(pod: PodRecord, modRevisions: ReadonlyMap<string, number>): Txn {
  const key = podKey(pod.namespace, pod.name);
  const del = [key];
  if (pod.node !== undefined) del.push(bindingKey(pod.node, pod.namespace, pod.name));
  // A pod without a known revision cannot be guarded; -1 never matches, so the txn just fails.
  return { ifUnchanged: { [key]: modRevisions.get(key) ?? -1 }, del };
}

/**
 * Merge per-pod txns into as few as possible.
 * NOTE: etcd counts compares and operations separately against --max-txn-ops; both stay ≤ 128 here.
 * One lost compare fails the whole merged txn; the caller re-reads and re-plans, which is cheap.
 */
function chunk(ops: Txn[]): { txn: Txn; pods: number }[] {
  const out: { txn: Txn; pods: number }[] = [];
  let cur: { txn: Required<Txn>; pods: number; ops: number; compares: number } | undefined;
  for (const op of ops) {
    const size = (op.put?.length ?? 0) + (op.del?.length ?? 0);
    const compares = Object.keys(op.ifUnchanged ?? {}).length;
    if (!cur || cur.ops + size > MAX_TXN_OPS || cur.compares + compares > MAX_TXN_OPS) {
      cur = { txn: { ifUnchanged: {}, put: [], del: [] }, pods: 0, ops: 0, compares: 0 };
      out.push(cur);
    }
    Object.assign(cur.txn.ifUnchanged, op.ifUnchanged);
    cur.txn.put.push(...(op.put ?? []));
    cur.txn.del.push(...(op.del ?? []));
    cur.pods++;
    cur.ops += size;
    cur.compares += compares;
  }
  return out;
}
