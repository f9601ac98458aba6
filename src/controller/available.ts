// Pure: which pods count as available — Ready for at least their Deployment's minReadySeconds, as
// Kubernetes counts them — so rollouts pace on availability, not on a first moment of readiness.
import { currentStatus, indexStatuses, isPodReady, podKey, readyCondition, type PodRecord, type PodStatusRecord } from '../store/index.js';
import type { DesiredDeployment } from './pods.js';

/** Available pods, and when the next pod turns available with no write to the store (ms since the epoch). */
export interface Availability {
  /** Keys (`pods/<namespace>/<pod>`). */
  available: Set<string>;
  wakeAt?: number;
}

/**
 * A pod is available when it is ready (isPodReady) and its Ready condition has been True for its
 * Deployment's minReadySeconds at `now`. A status without a lastTransitionTime (an older agent's)
 * counts from its observedAt.
 */
export function availablePods(deployments: readonly DesiredDeployment[], pods: readonly PodRecord[], statuses: readonly PodStatusRecord[], now: Date): Availability {
  const index = indexStatuses(statuses);
  const minReady = new Map(deployments.map((d) => [`${d.source}:${d.object.namespace}/${d.object.name}`, d.object.spec.minReadySeconds]));
  const available = new Set<string>();
  let wakeAt: number | undefined;
  for (const p of pods) {
    if (!isPodReady(p, index)) continue;
    const seconds = minReady.get(`${p.owner.source}:${p.namespace}/${p.owner.name}`) ?? 0;
    const status = currentStatus(p, index);
    const since = Date.parse(readyCondition(status)?.lastTransitionTime ?? status?.observedAt ?? '');
    const at = (Number.isNaN(since) ? 0 : since) + seconds * 1000;
    if (seconds === 0 || at <= now.getTime()) available.add(podKey(p.namespace, p.name));
    else wakeAt = Math.min(wakeAt ?? at, at);
  }
  return wakeAt === undefined ? { available } : { available, wakeAt };
}
