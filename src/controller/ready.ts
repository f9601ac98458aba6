// Pure: whether a pod counts as ready, the one notion the rollout and `berth/health` share.
import { podKey, type PodRecord, type PodStatusRecord } from '../store/index.js';

/**
 * A pod is ready when it is bound and its own node reported a `Ready: True` status for its
 * template: a status from another node (the pod moved) or for another template (a stale write) says
 * nothing about this pod. Health adds a settle window after restarts on top; a rollout does not
 * (Kubernetes' minReadySeconds defaults to 0, and berth has none yet).
 */
export function isPodReady(pod: PodRecord, status: PodStatusRecord | undefined): boolean {
  if (pod.node === undefined || status === undefined) return false;
  if (status.node !== pod.node || status.namespace !== pod.namespace || status.pod !== pod.name) return false;
  if (status.templateHash !== pod.templateHash) return false;
  return status.conditions.some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Keys (`pods/<namespace>/<pod>`) of the ready pods among `pods`, each judged by its node's status. */
export function readyPodKeys(pods: readonly PodRecord[], statuses: readonly PodStatusRecord[]): Set<string> {
  const byRef = new Map(statuses.map((s) => [`${s.node}/${s.namespace}/${s.pod}`, s]));
  const ready = new Set<string>();
  for (const p of pods) {
    if (p.node !== undefined && isPodReady(p, byRef.get(`${p.node}/${p.namespace}/${p.name}`))) ready.add(podKey(p.namespace, p.name));
  }
  return ready;
}
