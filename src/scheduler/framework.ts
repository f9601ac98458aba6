import type { NodeRecord, PodRecord } from '../store/records.js';

// The shape of the pure scheduling core, after Kubernetes' scheduler framework: filters say
// whether a pod may go on a node; scores rank the nodes that may take it.

/** A node as the scheduler sees it: its record plus what is already placed on it. */
export interface NodeInfo {
  node: NodeRecord;
  pods: PodRecord[];
  /** Sum of the placed pods' requests: cpu in millicores, memory in bytes. */
  requested: { cpu: number; memory: number };
  /** Host ports in use, as `<protocol>/<port>`. */
  ports: Set<string>;
}

/** A filter: the reasons the pod cannot go on the node (empty when it can), Kubernetes' words. */
export interface FilterPlugin {
  name: string;
  filter(pod: PodRecord, node: NodeInfo): string[];
}

/** A score: higher is better. Scores are compared in plugin order, each breaking the previous one's ties. */
export interface ScorePlugin {
  name: string;
  score(pod: PodRecord, node: NodeInfo): number;
}

/**
 * What a pod asks for: the sum of its containers' requests.
 * NOTE: as in Kubernetes, a container with a limit but no request requests its limit; if the
 * manifest normalizer already fills requests in, this is a no-op.
 */
export function podRequests(pod: PodRecord): { cpu: number; memory: number } {
  let cpu = 0;
  let memory = 0;
  for (const c of pod.template.containers) {
    cpu += c.resources.requests.cpu ?? c.resources.limits.cpu ?? 0;
    memory += c.resources.requests.memory ?? c.resources.limits.memory ?? 0;
  }
  return { cpu, memory };
}

/** The host ports a pod publishes, as `<protocol>/<port>`. */
export function podHostPorts(pod: PodRecord): string[] {
  return pod.template.containers.flatMap((c) => c.ports.flatMap((p) => (p.hostPort === undefined ? [] : [`${p.protocol}/${p.hostPort}`])));
}

/** A NodeInfo for `node` with `pods` placed on it. */
export function nodeInfo(node: NodeRecord, pods: PodRecord[] = []): NodeInfo {
  const info: NodeInfo = { node, pods: [], requested: { cpu: 0, memory: 0 }, ports: new Set() };
  for (const p of pods) addPod(info, p);
  return info;
}

/** Account for one more pod on the node (the scheduler's round binds pods one after another). */
export function addPod(info: NodeInfo, pod: PodRecord): void {
  info.pods.push(pod);
  const r = podRequests(pod);
  info.requested.cpu += r.cpu;
  info.requested.memory += r.memory;
  for (const port of podHostPorts(pod)) info.ports.add(port);
}

/** The Deployment a pod belongs to, as one comparable string. */
export function ownerOf(pod: PodRecord): string {
  return `${pod.owner.source}:${pod.namespace}/${pod.owner.name}`;
}
