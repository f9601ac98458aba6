// Pure: which nodes are NotReady, and which of their pods go once the grace is over (Kubernetes'
// node lifecycle controller, with deletion in place of taints).
import { podKey, type CordonRecord, type NodeLostRecord, type NodeRecord, type PodRecord } from '../store/index.js';
import { compareText } from '../text.js';

/** How long a node may be NotReady before its pods are deleted and made again elsewhere (`--node-grace`). */
export const DEFAULT_NODE_GRACE_MS = 5_000;

/** How long a lost node with nothing left on it stays in `berth get nodes` as NotReady. */
export const FORGET_LOST_AFTER_MS = 3_600_000;

/** Everything planNodeLifecycle reads. */
export interface NodeLifecycleInput {
  /** Nodes whose lease is live (`nodes/<node>` present). */
  ready: ReadonlySet<string>;
  /** Nodes this controller saw registered, as last seen: one that goes away with no pod bound is NotReady too. */
  seen: ReadonlyMap<string, NodeRecord>;
  /** The `lostnodes/` records there are, by node. */
  lost: ReadonlyMap<string, NodeLostRecord>;
  pods: readonly PodRecord[];
  now: Date;
  graceMs: number;
  /** Cordoned nodes (`cordons/`), by node: those with `drain` have their pods moved off. */
  cordons?: ReadonlyMap<string, CordonRecord>;
  /** Keys (`pods/<namespace>/<pod>`) of the ready pods (isPodReady). */
  readyPods?: ReadonlySet<string>;
  /** Per Deployment (ownerKey), the ready pods a drain must leave it: `replicas − maxUnavailable`. */
  keepReady?: ReadonlyMap<string, number>;
}

/** A Deployment as drain counts its pods: `<source>:<namespace>/<name>`. */
export const ownerKey = (source: string, namespace: string, name: string): string => `${source}:${namespace}/${name}`;

/** A pod to delete (with its binding): its node is gone (`lost`: guarded by the node staying absent) or being drained. */
export interface Eviction {
  pod: PodRecord;
  node: string;
  message: string;
  cause: 'lost' | 'drain';
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
  /** Pods a drain must leave where they are for now, and why. */
  blocked: Eviction[];
  /** When the next grace ends (ms since the epoch), to look again then. */
  wakeAt?: number;
}

/** The NotReady nodes and what to do about them. Pure: `now` is passed in. */
export function planNodeLifecycle(input: NodeLifecycleInput): NodeLifecyclePlan {
  const { ready, lost, now, graceMs } = input;
  const at = now.getTime();
  const plan: NodeLifecyclePlan = { markLost: [], evicted: [], forget: [], evict: [], blocked: [] };
  const podsOn = new Map<string, PodRecord[]>();
  for (const p of input.pods) if (p.node !== undefined) podsOn.set(p.node, [...(podsOn.get(p.node) ?? []), p]);

  const gone = new Set([...input.seen.keys(), ...podsOn.keys(), ...lost.keys()].filter((n) => !ready.has(n)));
  for (const name of [...gone].sort(compareText)) {
    const record = lost.get(name);
    if (record === undefined) {
      const last = input.seen.get(name);
      plan.markLost.push({ type: 'nodeLost', name, since: now.toISOString(), ...(last === undefined ? {} : { last }) });
      if (podsOn.has(name)) wake(plan, at + graceMs);
      continue;
    }
    const graceEnds = Date.parse(record.since) + graceMs;
    const pods = podsOn.get(name) ?? [];
    if (pods.length > 0 && graceEnds > at) {
      wake(plan, graceEnds);
    } else if (pods.length > 0) {
      const message = `node ${name} not ready for ${Math.round((at - Date.parse(record.since)) / 1000)}s (--node-grace ${graceMs / 1000}s)`;
      for (const pod of [...pods].sort(byName)) plan.evict.push({ pod, node: name, message, cause: 'lost' });
      plan.evicted.push({ ...record, evictedAt: now.toISOString() });
    } else if (Date.parse(record.evictedAt ?? record.since) + FORGET_LOST_AFTER_MS <= at) {
      plan.forget.push(name);
    }
  }
  for (const name of lost.keys()) if (ready.has(name)) plan.forget.push(name);
  plan.forget.sort(compareText);
  planDrain(input, podsOn, plan);
  return plan;
}

const byName = (a: PodRecord, b: PodRecord): number => compareText(a.namespace, b.namespace) || compareText(a.name, b.name);

/**
 * The pods of draining (Ready) nodes that may go now: every one that is not ready, and ready ones
 * while their Deployment keeps `keepReady` ready pods without them, as an eviction honours a
 * PodDisruptionBudget. A pod of no Deployment in force is left to the controller.
 */
function planDrain(input: NodeLifecycleInput, podsOn: ReadonlyMap<string, PodRecord[]>, plan: NodeLifecyclePlan): void {
  const readyPods = input.readyPods ?? new Set<string>();
  const keepReady = input.keepReady ?? new Map<string, number>();
  const isReady = (p: PodRecord): boolean => readyPods.has(podKey(p.namespace, p.name));
  const owner = (p: PodRecord): string => ownerKey(p.owner.source, p.namespace, p.owner.name);
  const readyOf = new Map<string, number>();
  for (const p of input.pods) if (isReady(p)) readyOf.set(owner(p), (readyOf.get(owner(p)) ?? 0) + 1);
  const draining = [...(input.cordons?.values() ?? [])].filter((c) => c.drain && input.ready.has(c.name)).map((c) => c.name).sort(compareText);
  for (const node of draining) {
    // Pods that are not ready first: they cost no availability.
    const pods = [...(podsOn.get(node) ?? [])].sort((a, b) => Number(isReady(a)) - Number(isReady(b)) || byName(a, b));
    for (const pod of pods) {
      const keep = keepReady.get(owner(pod));
      const ready = readyOf.get(owner(pod)) ?? 0;
      if (keep === undefined) continue;
      if (!isReady(pod)) {
        plan.evict.push({ pod, node, message: `draining node ${node}`, cause: 'drain' });
      } else if (ready - 1 >= keep) {
        readyOf.set(owner(pod), ready - 1);
        plan.evict.push({ pod, node, message: `draining node ${node}`, cause: 'drain' });
      } else {
        plan.blocked.push({ pod, node, cause: 'drain', message: `Deployment ${pod.namespace}/${pod.owner.name} keeps ${keep} ready pod(s) (replicas − maxUnavailable) and has ${ready}; waiting for its other pods to be ready` });
      }
    }
  }
}

function wake(plan: NodeLifecyclePlan, at: number): void {
  plan.wakeAt = Math.min(plan.wakeAt ?? at, at);
}
