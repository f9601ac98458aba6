// Pure: which nodes are NotReady, and which of their pods go once the grace is over (Kubernetes'
// node lifecycle controller, with deletion in place of taints).
import type { NodeLostRecord, PodRecord } from '../store/index.js';
import { compareText } from '../text.js';

/** How long a node may be NotReady before its pods are deleted and made again elsewhere (`--node-grace`). */
export const DEFAULT_NODE_GRACE_MS = 5_000;

/** How long a lost node with nothing left on it stays in `berth get nodes` as NotReady. */
export const FORGET_LOST_AFTER_MS = 3_600_000;

/** Everything planNodeLifecycle reads. */
export interface NodeLifecycleInput {
  /** Nodes whose lease is live (`nodes/<node>` present). */
  ready: ReadonlySet<string>;
  /** Nodes this controller saw registered: one that goes away with no pod bound is NotReady too. */
  seen: ReadonlySet<string>;
  /** The `lostnodes/` records there are, by node. */
  lost: ReadonlyMap<string, NodeLostRecord>;
  pods: readonly PodRecord[];
  now: Date;
  graceMs: number;
}

/** A pod to delete (with its binding) because its node is gone. */
export interface Eviction {
  pod: PodRecord;
  node: string;
  message: string;
}

/** The writes that follow the nodes' leases. */
export interface NodeLifecyclePlan {
  /** New `lostnodes/` records (a node just went NotReady). */
  markLost: NodeLostRecord[];
  /** `lostnodes/` records to stamp with `evictedAt` (their pods are deleted in the same pass). */
  evicted: NodeLostRecord[];
  /** Nodes whose `lostnodes/` record goes: they registered again, or went long ago and hold nothing. */
  forget: string[];
  /** Pods on nodes NotReady for longer than the grace, sorted by node then pod. */
  evict: Eviction[];
  /** When the next grace ends (ms since the epoch), to look again then. */
  wakeAt?: number;
}

/** The NotReady nodes and what to do about them. Pure: `now` is passed in. */
export function planNodeLifecycle(input: NodeLifecycleInput): NodeLifecyclePlan {
  const { ready, lost, now, graceMs } = input;
  const at = now.getTime();
  const plan: NodeLifecyclePlan = { markLost: [], evicted: [], forget: [], evict: [] };
  const podsOn = new Map<string, PodRecord[]>();
  for (const p of input.pods) if (p.node !== undefined) podsOn.set(p.node, [...(podsOn.get(p.node) ?? []), p]);

  const gone = new Set([...input.seen, ...podsOn.keys(), ...lost.keys()].filter((n) => !ready.has(n)));
  for (const name of [...gone].sort(compareText)) {
    const record = lost.get(name);
    if (record === undefined) {
      plan.markLost.push({ type: 'nodeLost', name, since: now.toISOString() });
      if (podsOn.has(name)) wake(plan, at + graceMs);
      continue;
    }
    const graceEnds = Date.parse(record.since) + graceMs;
    const pods = podsOn.get(name) ?? [];
    if (pods.length > 0 && graceEnds > at) {
      wake(plan, graceEnds);
    } else if (pods.length > 0) {
      const message = `node ${name} not ready for ${Math.round((at - Date.parse(record.since)) / 1000)}s (--node-grace ${graceMs / 1000}s)`;
      for (const pod of [...pods].sort((a, b) => compareText(a.name, b.name) || compareText(a.namespace, b.namespace))) plan.evict.push({ pod, node: name, message });
      plan.evicted.push({ ...record, evictedAt: now.toISOString() });
    } else if (Date.parse(record.evictedAt ?? record.since) + FORGET_LOST_AFTER_MS <= at) {
      plan.forget.push(name);
    }
  }
  for (const name of lost.keys()) if (ready.has(name)) plan.forget.push(name);
  plan.forget.sort(compareText);
  return plan;
}

function wake(plan: NodeLifecyclePlan, at: number): void {
  plan.wakeAt = Math.min(plan.wakeAt ?? at, at);
}
