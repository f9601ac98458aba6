import type { NodeRecord, PodRecord } from '../store/records.js';
import { addPod, nodeInfo, type FilterPlugin, type NodeInfo, type ScorePlugin } from './framework.js';
import { hostPorts } from './plugins/hostPorts.js';
import { leastAllocated } from './plugins/leastAllocated.js';
import { nodeSelector } from './plugins/nodeSelector.js';
import { resources } from './plugins/resources.js';
import { fewestPods, spreadByOwner } from './plugins/spread.js';

/** The filters and scores one scheduling round runs, in order. */
export interface Profile {
  filters: FilterPlugin[];
  /** Compared in order: a later score only breaks the ties of the earlier ones; then the node name. */
  scores: ScorePlugin[];
}

/**
 * Spread replicas first (losing a node should cost a Deployment few of them), then prefer the least
 * allocated node, then the emptiest. Lexicographic rather than a weighted sum: every placement can
 * be explained in one sentence, and a test can say which node wins and why.
 */
export const DEFAULT_PROFILE: Profile = {
  filters: [nodeSelector, hostPorts, resources],
  scores: [spreadByOwner, leastAllocated, fewestPods],
};

/** One placement decided by a round. */
export interface Bind {
  pod: PodRecord;
  node: string;
}

/** A pod no node can take now, with the reason in Kubernetes' words. */
export interface Unschedulable {
  pod: PodRecord;
  reason: string;
}

/** The outcome of one round: placements in pod key order, and the pods left waiting. */
export interface ScheduleResult {
  bind: Bind[];
  unschedulable: Unschedulable[];
}

const podKeyOf = (p: PodRecord): string => `${p.namespace}/${p.name}`;

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Place unbound `pods` on `nodes`, given the pods already `placed` (bound). Pods are taken in key
 * order and placed one after another, so each sees the earlier placements of the same round.
 * Pure and deterministic: equal scores fall to the node name.
 */
export function schedule(pods: PodRecord[], nodes: NodeRecord[], placed: PodRecord[], profile: Profile = DEFAULT_PROFILE): ScheduleResult {
  const infos = [...nodes].sort((a, b) => compare(a.name, b.name)).map((n) => nodeInfo(n));
  const byName = new Map(infos.map((i) => [i.node.name, i]));
  for (const p of placed) {
    // A pod bound to a node that is gone holds nothing on the nodes that remain.
    const info = p.node === undefined ? undefined : byName.get(p.node);
    if (info) addPod(info, p);
  }

  const result: ScheduleResult = { bind: [], unschedulable: [] };
  for (const pod of [...pods].sort((a, b) => compare(podKeyOf(a), podKeyOf(b)))) {
    const feasible: NodeInfo[] = [];
    const failures: { filter: number; reason: string }[] = [];
    for (const info of infos) {
      const failed = firstFailure(pod, info, profile.filters);
      if (failed) failures.push(...failed.reasons.map((reason) => ({ filter: failed.index, reason })));
      else feasible.push(info);
    }
    const best = pick(pod, feasible, profile.scores);
    if (!best) {
      result.unschedulable.push({ pod, reason: explain(infos.length, failures) });
      continue;
    }
    addPod(best, pod);
    result.bind.push({ pod, node: best.node.name });
  }
  return result;
}

/** The first filter that rejects the pod on this node, as Kubernetes stops at the first. */
function firstFailure(pod: PodRecord, info: NodeInfo, filters: FilterPlugin[]): { index: number; reasons: string[] } | undefined {
  for (const [index, f] of filters.entries()) {
    const reasons = f.filter(pod, info);
    if (reasons.length > 0) return { index, reasons };
  }
  return undefined;
}

/** The best node by the scores in order, then by name (`feasible` is already in name order). */
function pick(pod: PodRecord, feasible: NodeInfo[], scores: ScorePlugin[]): NodeInfo | undefined {
  let best: { info: NodeInfo; score: number[] } | undefined;
  for (const info of feasible) {
    const score = scores.map((s) => s.score(pod, info));
    if (!best || isBetter(score, best.score)) best = { info, score };
  }
  return best?.info;
}

function isBetter(a: number[], b: number[]): boolean {
  for (const [i, x] of a.entries()) {
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return false;
}

/** "0/3 nodes are available: 2 node(s) didn't match node selector, 1 Insufficient cpu." ordered by filter. */
function explain(total: number, failures: { filter: number; reason: string }[]): string {
  if (total === 0) return '0/0 nodes are available: no nodes registered';
  const counts = new Map<string, { filter: number; reason: string; n: number }>();
  for (const f of failures) {
    const c = counts.get(f.reason) ?? { ...f, n: 0 };
    c.n++;
    counts.set(f.reason, c);
  }
  const parts = [...counts.values()]
    .sort((a, b) => a.filter - b.filter || compare(a.reason, b.reason))
    .map((c) => `${c.n} ${c.reason}`);
  return `0/${total} nodes are available: ${parts.join(', ')}`;
}
