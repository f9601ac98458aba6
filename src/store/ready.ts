// Pure: when a pod counts as ready — the one notion rollouts, `berth/health` and `berth get` share.
import { podKey } from './keys.js';
import type { Condition, PodRecord, PodStatusRecord } from './records.js';

/**
 * Status records by `<node>/<namespace>/<pod>`, the tail of their key: a Map (indexStatuses), or a
 * view of a watch cache of `status/` (no copy per pass).
 */
export interface StatusIndex {
  get(ref: string): PodStatusRecord | undefined;
}

const statusRef = (node: string, namespace: string, pod: string): string => `${node}/${namespace}/${pod}`;

/** Index status records for currentStatus and isPodReady. */
export function indexStatuses(statuses: readonly PodStatusRecord[]): Map<string, PodStatusRecord> {
  return new Map(statuses.map((s) => [statusRef(s.node, s.namespace, s.pod), s]));
}

/**
 * The status that speaks for `pod`: the one its own node wrote for its own template. A status from
 * another node (the pod moved) or for another template (a stale write) says nothing about this pod.
 */
export function currentStatus(pod: PodRecord, statuses: StatusIndex): PodStatusRecord | undefined {
  if (pod.node === undefined) return undefined;
  const status = statuses.get(statusRef(pod.node, pod.namespace, pod.name));
  return status?.templateHash === pod.templateHash ? status : undefined;
}

/** The Ready condition of a status. */
export function readyCondition(status: PodStatusRecord | undefined): Condition | undefined {
  return status?.conditions.find((c) => c.type === 'Ready');
}

/**
 * A pod is ready when it is bound, its current status (currentStatus) says `Ready: True`, and —
 * when `nodes` (the registered node names) is given — its node is still registered. `berth/health`
 * adds a settle window after restarts on top; a rollout does not (Kubernetes' minReadySeconds
 * defaults to 0, and berth has none yet).
 */
export function isPodReady(pod: PodRecord, statuses: StatusIndex, nodes?: { has(node: string): boolean }): boolean {
  if (pod.node === undefined || (nodes !== undefined && !nodes.has(pod.node))) return false;
  return readyCondition(currentStatus(pod, statuses))?.status === 'True';
}

/** Keys (`pods/<namespace>/<pod>`) of the ready pods among `pods` (isPodReady). */
export function readyPodKeys(pods: readonly PodRecord[], statuses: readonly PodStatusRecord[]): Set<string> {
  const index = indexStatuses(statuses);
  return new Set(pods.filter((p) => isPodReady(p, index)).map((p) => podKey(p.namespace, p.name)));
}
