// What a pod's status record says, read the way kubectl's READY and STATUS columns read a pod.
import type { ContainerStatus, Condition, PodRecord, PodStatusRecord } from '../store/records.js';

/** A pod's observed state, folded from its status record (if the agent wrote one for this template). */
export interface PodState {
  /** Containers running, of those the template has. */
  readyContainers: number;
  totalContainers: number;
  /** The pod's Ready condition is True (and its node is still registered). */
  ready: boolean;
  /** One word, as kubectl's STATUS column: Running, Pending, Failed, CrashLoopBackOff, ErrImagePull, Drifted, Unknown. */
  status: string;
  restarts: number;
  containers: ContainerStatus[];
  conditions: Condition[];
}

/** Ready reasons that are not a problem in themselves: the pod's phase says more. */
const PLAIN_REASONS = new Set(['ContainersReady', 'ContainersNotReady', 'PodCompleted', 'PodFailed']);

/** Index status records by `<node>/<namespace>/<pod>`, the tail of their key. */
export function indexStatuses(statuses: readonly PodStatusRecord[]): Map<string, PodStatusRecord> {
  return new Map(statuses.map((s) => [statusRef(s.node, s.namespace, s.pod), s]));
}

const statusRef = (node: string, namespace: string, pod: string): string => `${node}/${namespace}/${pod}`;

/**
 * The state of `pod`. Only a status written by the pod's own node for the pod's own template counts;
 * with `nodes` given, a pod bound to a node that is no longer registered (its agent's lease expired)
 * is Unknown, as kubectl shows pods of a lost node.
 */
export function podState(pod: PodRecord, statuses: ReadonlyMap<string, PodStatusRecord>, nodes?: ReadonlySet<string>): PodState {
  const totalContainers = pod.template.containers.length;
  const found = pod.node === undefined ? undefined : statuses.get(statusRef(pod.node, pod.namespace, pod.name));
  const status = found?.templateHash === pod.templateHash ? found : undefined;
  const containers = status?.containers ?? [];
  const conditions = status?.conditions ?? [];
  const restarts = containers.reduce((sum, c) => sum + c.restarts, 0);
  const base = { totalContainers, restarts, containers, conditions };
  if (pod.node !== undefined && nodes !== undefined && !nodes.has(pod.node)) {
    return { ...base, readyContainers: 0, ready: false, status: 'Unknown' };
  }
  if (!status) return { ...base, readyContainers: 0, ready: false, status: 'Pending' };
  const readyCondition = conditions.find((c) => c.type === 'Ready');
  const ready = readyCondition?.status === 'True';
  const readyContainers = containers.filter((c) => c.state === 'running').length;
  return { ...base, readyContainers, ready, status: statusWord(status, readyCondition, ready) };
}

/** A named problem (CrashLoopBackOff, ErrImagePull …) first, then an unhealed drift, then the phase. */
function statusWord(status: PodStatusRecord, readyCondition: Condition | undefined, ready: boolean): string {
  if (!ready && readyCondition && !PLAIN_REASONS.has(readyCondition.reason)) return readyCondition.reason;
  if (status.conditions.some((c) => c.type === 'Drifted' && c.status === 'True')) return 'Drifted';
  return status.phase;
}
