import { bindingKey, encode, packTxns, podKey, type PodRecord, type Store, type Txn } from '../store/index.js';
import type { PodPlan } from './pods.js';

/** What applying a plan did; `conflicts` counts txns that lost a compare-and-swap (re-read and retry). */
export interface ApplyResult {
  created: number;
  deleted: number;
  conflicts: number;
}

/**
 * Apply a pod plan in as few txns as etcd's limits allow (operations and bytes, packTxns). Deletes go first: when a step both
 * deletes and creates (a rollout step, a scale-down beside new replicas), freeing the old pods'
 * ports and resources first lets the new ones schedule at once. `modRevisions` maps each pod key
 * to the modRevision it was planned at.
 */
export async function applyPodPlan(store: Store, plan: PodPlan, modRevisions: ReadonlyMap<string, number>, hooks: ApplyHooks = {}): Promise<ApplyResult> {
  const result: ApplyResult = { created: 0, deleted: 0, conflicts: 0 };
  // One lost compare fails the whole merged txn; the caller re-reads and re-plans, which is cheap.
  const name = (p: PodRecord): string => `pod ${p.namespace}/${p.name}`;
  const write = async (ops: { txn: Txn; item: PodRecord }[], how: 'created' | 'deleted'): Promise<void> => {
    for (const { txn, items } of packTxns(ops, store.limits, name)) {
      const { ok, revision } = await store.commit(txn);
      if (ok) {
        result[how] += items.length;
        hooks.written?.(items, how, revision);
      } else {
        result.conflicts++;
        hooks.lost?.(items);
      }
    }
  };
  await write(plan.delete.map((p) => ({ txn: deleteOp(p, modRevisions), item: p })), 'deleted');
  await write(plan.create.map((p) => ({ txn: createOp(p), item: p })), 'created');
  return result;
}

/** What a caller that keeps the pods in memory hears of an apply. */
export interface ApplyHooks {
  /** Pods created or deleted, at `revision`. */
  written?(pods: PodRecord[], how: 'created' | 'deleted', revision: number): void;
  /** Pods of a txn that lost its compare-and-swap: the caller's view of them is stale. */
  lost?(pods: PodRecord[]): void;
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
