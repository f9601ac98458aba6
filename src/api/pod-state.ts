// What a pod's status record says, read the way kubectl's READY and STATUS columns read a pod.
import { currentStatus, isPodReady, readyCondition, type StatusIndex } from '../store/ready.js';
import type { ContainerStatus, Condition, PodRecord, PodStatusRecord } from '../store/records.js';

export { indexStatuses } from '../store/ready.js';

/** A pod's observed state, folded from its status record (if the agent wrote one for this template). */
export interface PodState {
  /** Containers running, of those the template has. */
  readyContainers: number;
  totalContainers: number;
  /** The pod's Ready condition is True (and its node is still registered). */
  ready: boolean;
  /** One word, as kubectl's STATUS column: Running, Pending, Failed, CrashLoopBackOff, ErrImagePull, Drifted, Error, OOMKilled, Completed, Unknown. */
  status: string;
  restarts: number;
  containers: ContainerStatus[];
  conditions: Condition[];
  /** The pod's IP, once its agent reported one for this template. */
  podIP?: string;
}

/** Ready reasons that are not a problem in themselves: the pod's phase says more. */
const PLAIN_REASONS = new Set(['ContainersReady', 'ContainersNotReady', 'ContainersNotInitialized', 'PodCompleted', 'PodFailed']);

/**
 * The state of `pod`. Only a status written by the pod's own node for the pod's own template counts;
 * with `nodes` given, a pod bound to a node that is no longer registered (its agent's lease expired)
 * is Unknown, as kubectl shows pods of a lost node.
 */
export function podState(pod: PodRecord, statuses: StatusIndex, nodes?: ReadonlySet<string>): PodState {
  const totalContainers = pod.template.containers.length;
  const status = currentStatus(pod, statuses);
  const containers = status?.containers ?? [];
  const conditions = status?.conditions ?? [];
  const restarts = containers.reduce((sum, c) => sum + c.restarts, 0);
  const base = { totalContainers, restarts, containers, conditions, ...(status?.podIP === undefined ? {} : { podIP: status.podIP }) };
  if (pod.node !== undefined && nodes !== undefined && !nodes.has(pod.node)) {
    return { ...base, readyContainers: 0, ready: false, status: 'Unknown' };
  }
  if (!status) return { ...base, readyContainers: 0, ready: false, status: 'Pending' };
  const ready = isPodReady(pod, statuses, nodes);
  const readyContainers = containers.filter((c) => c.state === 'running' && c.ready !== false).length;
  return { ...base, readyContainers, ready, status: statusWord(status, readyCondition(status), ready) };
}

/**
 * While the pod initializes, kubectl's words: `Init:N/M` (N of M init containers completed), or
 * `Init:<reason>` for the one that fails (Init:CrashLoopBackOff, Init:Error, Init:ErrImagePull).
 */
function initWord(status: PodStatusRecord): string | undefined {
  const inits = status.initContainers ?? [];
  if (inits.length === 0 || status.conditions.find((c) => c.type === 'Initialized')?.status !== 'False') return undefined;
  const done = inits.filter((c) => c.state === 'exited' && c.exitCode === 0).length;
  const stuck = inits.find((c) => !(c.state === 'exited' && c.exitCode === 0));
  return stuck?.reason !== undefined && stuck.reason !== 'Completed' ? `Init:${stuck.reason}` : `Init:${done}/${inits.length}`;
}

/**
 * A named problem (CrashLoopBackOff, ErrImagePull …) first, then an unhealed drift, then how an
 * ended container ended (Error, OOMKilled, Completed, as kubectl shows it), then the phase.
 */
function statusWord(status: PodStatusRecord, readyCondition: Condition | undefined, ready: boolean): string {
  const init = initWord(status);
  if (init !== undefined) return init;
  if (!ready && readyCondition && !PLAIN_REASONS.has(readyCondition.reason)) return readyCondition.reason;
  if (status.conditions.some((c) => c.type === 'Drifted' && c.status === 'True')) return 'Drifted';
  const ended = status.containers.find((c) => c.state === 'exited' && c.reason !== undefined);
  if (ended?.reason !== undefined) return ended.reason;
  return status.phase;
}
