import type { NodeRecord, PodRecord } from '../store/records.js';
import { compareText } from '../text.js';

// The shape of the pure scheduling core, after Kubernetes' scheduler framework: filters say
// whether a pod may go on a node; scores rank the nodes that may take it. What a pod asks for is
// worked out once (PodInfo), and what a node holds is kept up to date as pods are placed (NodeInfo),
// so that a plugin's call costs a few lookups, not a walk over the node's pods.

/** A pod as the scheduler sees it: the record plus what the plugins ask of it, computed once. */
export interface PodInfo {
  pod: PodRecord;
  /** Sum of the containers' requests: cpu in millicores, memory in bytes. */
  requests: { cpu: number; memory: number };
  /** Host ports it publishes, as `<protocol>/<port>`. */
  hostPorts: string[];
  /** The Deployment it belongs to, as one comparable string. */
  owner: string;
  /** Its nodeSelector as sorted `[key, value]` pairs. */
  selector: [string, string][];
}

/**
 * What the pods placed on a node hold: the part of a NodeInfo that placing and removing pods
 * changes, kept per node by `NodeUsages` across rounds.
 */
export interface NodeUsage {
  /** Pods placed. */
  pods: number;
  /** Sum of the placed pods' requests: cpu in millicores, memory in bytes. */
  requested: { cpu: number; memory: number };
  /** Host ports in use, as `<protocol>/<port>`, each with the pods publishing it (a removal frees it with the last). */
  ports: Map<string, number>;
  /** Placed pods per owner (`PodInfo.owner`): spread reads one count instead of counting pods. */
  owners: Map<string, number>;
}

/** A node as the scheduler sees it: its record plus what is already placed on it. */
export interface NodeInfo extends NodeUsage {
  node: NodeRecord;
  /** Cordoned (`berth cordon`): no new pod goes here (Kubernetes' node.spec.unschedulable). */
  unschedulable: boolean;
  /** `ports` and `owners` are a NodeUsages' own: copied before a round's first addPod changes them. */
  shared?: boolean;
}

/** The verdict of a filter that lets the pod on: shared, so that the common case allocates nothing. */
export const FITS: readonly string[] = Object.freeze([]);

/**
 * A filter: the reasons the pod cannot go on the node (`FITS` when it can), Kubernetes' words.
 * NOTE: placing pods on a node must never turn its verdict from "no" to "yes" (true of resources,
 * ports and selectors): a round relies on it to search once for all pods of a template that fit nowhere.
 */
export interface FilterPlugin {
  name: string;
  filter(pod: PodInfo, node: NodeInfo): readonly string[];
  /**
   * Set when the verdict depends only on the node's record and this key of the pod, never on what
   * is placed: the core then asks once per key and node (the pods of one Deployment share a key),
   * as Kubernetes' equivalence classes did.
   */
  equivalenceKey?(pod: PodInfo): string;
}

/** A score: higher is better. Scores are compared in plugin order, each breaking the previous one's ties. */
export interface ScorePlugin {
  name: string;
  score(pod: PodInfo, node: NodeInfo): number;
}

/**
 * What a pod asks for, as Kubernetes counts it: the larger of the sum of its containers' requests
 * and the largest request of one init container (they run one at a time, before the others), per
 * resource.
 * NOTE: as in Kubernetes, a container with a limit but no request requests its limit; if the
 * manifest normalizer already fills requests in, this is a no-op.
 */
export function podRequests(pod: PodRecord): { cpu: number; memory: number } {
  const of = (c: PodRecord['template']['containers'][number]): { cpu: number; memory: number } => ({
    cpu: c.resources.requests.cpu ?? c.resources.limits.cpu ?? 0,
    memory: c.resources.requests.memory ?? c.resources.limits.memory ?? 0,
  });
  let cpu = 0;
  let memory = 0;
  for (const r of pod.template.containers.map(of)) {
    cpu += r.cpu;
    memory += r.memory;
  }
  for (const r of (pod.template.initContainers ?? []).map(of)) {
    cpu = Math.max(cpu, r.cpu);
    memory = Math.max(memory, r.memory);
  }
  return { cpu, memory };
}

/** The host ports a pod publishes, as `<protocol>/<port>`. */
export function podHostPorts(pod: PodRecord): string[] {
  return pod.template.containers.flatMap((c) => c.ports.flatMap((p) => (p.hostPort === undefined ? [] : [`${p.protocol}/${p.hostPort}`])));
}

/** The Deployment a pod belongs to, as one comparable string. */
export function ownerOf(pod: PodRecord): string {
  return `${pod.owner.source}:${pod.namespace}/${pod.owner.name}`;
}

/** The PodInfo of `pod`. */
export function podInfo(pod: PodRecord): PodInfo {
  const selector = Object.entries(pod.template.nodeSelector).sort(([a], [b]) => compareText(a, b));
  return { pod, requests: podRequests(pod), hostPorts: podHostPorts(pod), owner: ownerOf(pod), selector };
}

/** A NodeInfo for `node` with `pods` placed on it. */
export function nodeInfo(node: NodeRecord, pods: PodRecord[] = [], unschedulable = false): NodeInfo {
  const info: NodeInfo = { node, ...emptyUsage(), unschedulable };
  for (const p of pods) addPod(info, podInfo(p));
  return info;
}

/** A node with nothing placed on it. */
export function emptyUsage(): NodeUsage {
  return { pods: 0, requested: { cpu: 0, memory: 0 }, ports: new Map(), owners: new Map() };
}

/** Account for one more pod on the node (the scheduler's round binds pods one after another). */
export function addPod(info: NodeUsage & { shared?: boolean }, pod: PodInfo): void {
  if (info.shared) {
    info.ports = new Map(info.ports);
    info.owners = new Map(info.owners);
    info.shared = false;
  }
  info.pods++;
  info.requested.cpu += pod.requests.cpu;
  info.requested.memory += pod.requests.memory;
  for (const port of pod.hostPorts) info.ports.set(port, (info.ports.get(port) ?? 0) + 1);
  info.owners.set(pod.owner, (info.owners.get(pod.owner) ?? 0) + 1);
}

/** Account for a pod gone from the node (deleted, or bound elsewhere): the inverse of addPod. */
export function removePod(usage: NodeUsage, pod: PodInfo): void {
  usage.pods--;
  usage.requested.cpu -= pod.requests.cpu;
  usage.requested.memory -= pod.requests.memory;
  for (const port of pod.hostPorts) decrement(usage.ports, port);
  decrement(usage.owners, pod.owner);
}

function decrement(counts: Map<string, number>, key: string): void {
  const n = (counts.get(key) ?? 0) - 1;
  if (n > 0) counts.set(key, n);
  else counts.delete(key);
}
