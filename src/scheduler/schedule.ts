import type { NodeRecord, PodRecord } from '../store/records.js';
import { addPod, nodeInfo, podInfo, type FilterPlugin, type NodeInfo, type NodeUsage, type PodInfo, type ScorePlugin } from './framework.js';
import { NodeUsages } from './usage.js';
import { hostPorts } from './plugins/hostPorts.js';
import { leastAllocated } from './plugins/leastAllocated.js';
import { nodeSelector } from './plugins/nodeSelector.js';
import { nodeUnschedulable } from './plugins/nodeUnschedulable.js';
import { resources } from './plugins/resources.js';
import { fewestPods, spreadByOwner } from './plugins/spread.js';
import { Equivalence } from './equivalence.js';
import { numFeasibleNodesToFind } from './sample.js';
import { compareText } from '../text.js';

/** The filters and scores one scheduling round runs, in order. */
export interface Profile {
  filters: FilterPlugin[];
  /** Compared in order: a later score only breaks the ties of the earlier ones; then the node name. */
  scores: ScorePlugin[];
  /**
   * Kubernetes' percentageOfNodesToScore: once this share of the nodes (1–100) is found feasible
   * for a pod, the search stops and only those are scored. 0 or absent adapts it to the cluster's
   * size as Kubernetes does (every node up to 100 nodes; 10 % of 5,000). See `numFeasibleNodesToFind`.
   */
  percentageOfNodesToScore?: number;
}

/**
 * Spread replicas first (losing a node should cost a Deployment few of them), then prefer the least
 * allocated node, then the emptiest. Lexicographic rather than a weighted sum: every placement can
 * be explained in one sentence, and a test can say which node wins and why.
 */
export const DEFAULT_PROFILE: Profile = {
  filters: [nodeUnschedulable, nodeSelector, hostPorts, resources],
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
  /** Where the next round's search should start (`ScheduleOptions.start`). */
  nextStart: number;
}

/** How one round runs. */
export interface ScheduleOptions {
  /**
   * The index (in node name order) where the search for feasible nodes starts; each pod's search
   * continues where the previous one stopped, as Kubernetes' nextStartNodeIndex does, so that a
   * sampled search visits every node in turn. Pass the previous round's `nextStart`.
   */
  start?: number;
  /** Cordoned nodes (`cordons/`): they take no new pod. */
  unschedulable?: ReadonlySet<string>;
  /**
   * What each pod asks for (default: `podInfo`, worked out afresh). The scheduler loop passes one that
   * remembers it per record across rounds, so a round with 30,000 bound pods works out none of them again.
   */
  podInfo?: (pod: PodRecord) => PodInfo;
}

const podKeyOf = (p: PodRecord): string => `${p.namespace}/${p.name}`;


/**
 * Place unbound `pods` on `nodes`, given the pods already `placed` (bound), or what they hold per
 * node (`NodeUsages`, which the round does not change). Pods are taken in key
 * order and placed one after another, so each sees the earlier placements of the same round.
 * Each pod's search stops once `numFeasibleNodesToFind` nodes pass every filter; the best of those
 * by the scores wins. Pure and deterministic: equal scores fall to the node name.
 */
export function schedule(
  pods: PodRecord[], nodes: NodeRecord[], placed: readonly PodRecord[] | NodeUsages, profile: Profile = DEFAULT_PROFILE, opts: ScheduleOptions = {},
): ScheduleResult {
  // One string per owner for the round: spread's count lookups then compare by identity, not by content.
  const owners = new Map<string, string>();
  const infoOf = (pod: PodRecord): PodInfo => {
    const info = (opts.podInfo ?? podInfo)(pod);
    const owner = owners.get(info.owner);
    if (owner === undefined) owners.set(info.owner, info.owner);
    else info.owner = owner;
    return info;
  };
  // A pod bound to a node that is gone holds nothing on the nodes that remain: only registered nodes are looked up.
  const usages = placed instanceof NodeUsages ? placed : NodeUsages.of(placed, infoOf);
  const infos = [...nodes].sort((a, b) => compareText(a.name, b.name)).map((n) => roundInfo(n, usages.get(n.name), opts.unschedulable?.has(n.name) ?? false));

  const total = infos.length;
  const equivalence = new Equivalence(profile.filters, infos);
  const dynamic = profile.filters.filter((f) => f.equivalenceKey === undefined);
  const toFind = numFeasibleNodesToFind(total, profile.percentageOfNodesToScore);
  const feasible = new Int32Array(toFind);
  const best = new Float64Array(profile.scores.length);
  const current = new Float64Array(profile.scores.length);
  let start = total > 0 && Number.isSafeInteger(opts.start) ? (((opts.start ?? 0) % total) + total) % total : 0;

  const result: ScheduleResult = { bind: [], unschedulable: [], nextStart: 0 };
  // Deployments (by template) whose pod fit no node this round, with the reason. Filters never let
  // a pod on once placing others has kept it off, so its siblings fit nowhere either: a Deployment
  // that does not fit costs one search and one explanation a round, not one per replica.
  const hopeless = new Map<string, string>();
  for (const { pod } of pods.map((p) => ({ pod: p, key: podKeyOf(p) })).sort((a, b) => compareText(a.key, b.key))) {
    const info = infoOf(pod);
    const template = `${info.owner}\n${pod.templateHash}`;
    const known = hopeless.get(template);
    if (known !== undefined) {
      result.unschedulable.push({ pod, reason: known });
      continue;
    }
    const fitsStatically = equivalence.of(info);
    let found = 0;
    let processed = 0;
    for (let i = start; processed < total && found < toFind; processed++, i = i + 1 === total ? 0 : i + 1) {
      const node = infos[i];
      if (node && fitsStatically(i) && passes(info, node, dynamic)) feasible[found++] = i;
    }
    if (total > 0) start = (start + processed) % total;
    const winner = pick(info, infos, feasible.subarray(0, found), profile.scores, best, current);
    if (winner === undefined) {
      const reason = explain(info, infos, profile.filters);
      hopeless.set(template, reason);
      result.unschedulable.push({ pod, reason });
      continue;
    }
    addPod(winner, info);
    result.bind.push({ pod, node: winner.node.name });
  }
  result.nextStart = start;
  return result;
}

/** A node's NodeInfo for one round: the usage's counts, its maps shared until the round places a pod there (addPod copies them). */
function roundInfo(node: NodeRecord, usage: Readonly<NodeUsage> | undefined, unschedulable: boolean): NodeInfo {
  if (usage === undefined) return nodeInfo(node, [], unschedulable);
  return { node, unschedulable, pods: usage.pods, requested: { ...usage.requested }, ports: usage.ports, owners: usage.owners, shared: true };
}

/**
 * The best of the `feasible` nodes (indices into `infos`) by the scores in order, then by name.
 * A later score is computed only while the earlier ones tie. `best` and `current` are scratch.
 */
function pick(pod: PodInfo, infos: NodeInfo[], feasible: Int32Array, scores: ScorePlugin[], best: Float64Array, current: Float64Array): NodeInfo | undefined {
  let bestIndex = -1;
  for (const i of feasible) {
    const info = infos[i];
    if (!info) continue;
    let verdict = 0;
    let s = 0;
    if (bestIndex >= 0) {
      for (; s < scores.length; s++) {
        const x = scores[s]?.score(pod, info) ?? 0;
        current[s] = x;
        const y = best[s] ?? 0;
        if (x !== y) {
          verdict = x > y ? 1 : -1;
          break;
        }
      }
      // Infos are in name order: on a full tie the lower index is the lower name.
      if (verdict < 0 || (verdict === 0 && i > bestIndex)) continue;
      s++;
    }
    for (; s < scores.length; s++) current[s] = scores[s]?.score(pod, info) ?? 0;
    best.set(current);
    bestIndex = i;
  }
  return bestIndex < 0 ? undefined : infos[bestIndex];
}

/** Whether every one of `filters` lets the pod on the node. */
function passes(pod: PodInfo, info: NodeInfo, filters: FilterPlugin[]): boolean {
  for (const f of filters) if (f.filter(pod, info).length > 0) return false;
  return true;
}

/** The first filter that rejects the pod on this node, as Kubernetes stops at the first. */
function firstFailure(pod: PodInfo, info: NodeInfo, filters: FilterPlugin[]): { index: number; reasons: readonly string[] } | undefined {
  for (const [index, f] of filters.entries()) {
    const reasons = f.filter(pod, info);
    if (reasons.length > 0) return { index, reasons };
  }
  return undefined;
}

/**
 * "0/3 nodes are available: 2 node(s) didn't match node selector, 1 Insufficient cpu." ordered by
 * filter. Only for a pod that fits nowhere, whose search visited every node: each is asked again,
 * filters in profile order, so the message names the first filter that rejected each node.
 */
function explain(pod: PodInfo, infos: NodeInfo[], filters: FilterPlugin[]): string {
  if (infos.length === 0) return '0/0 nodes are available: no nodes registered';
  const counts = new Map<string, { filter: number; reason: string; n: number }>();
  for (const info of infos) {
    const failed = firstFailure(pod, info, filters);
    for (const reason of failed?.reasons ?? []) {
      const c = counts.get(reason) ?? { filter: failed?.index ?? 0, reason, n: 0 };
      c.n++;
      counts.set(reason, c);
    }
  }
  const parts = [...counts.values()]
    .sort((a, b) => a.filter - b.filter || compareText(a.reason, b.reason))
    .map((c) => `${c.n} ${c.reason}`);
  return `0/${infos.length} nodes are available: ${parts.join(', ')}`;
}
