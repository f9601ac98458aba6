// Records as the components write them, for the read side's unit tests.
import type { ContainerStatus, Condition, EventRecord, HistoryRecord, PodRecord, PodStatusRecord, SealRecord } from '../../../src/store/records.js';

export const NOW = new Date('2025-06-01T12:00:00.000Z');

/** An ISO time `seconds` before NOW. */
export const ago = (seconds: number): string => new Date(NOW.getTime() - seconds * 1000).toISOString();

/** What a test status says; the rest follows from the pod. */
export interface StatusShape {
  phase?: PodStatusRecord['phase'];
  containers?: Partial<ContainerStatus>[];
  ready?: Partial<Condition>;
  drifted?: Partial<Condition>;
  node?: string;
  templateHash?: string;
}

/** The status the pod's agent would write for `p` (bound to `p.node`, or `s.node`). */
export function status(p: PodRecord, s: StatusShape = {}): PodStatusRecord {
  const containers = (s.containers ?? [{}]).map((c, i) => ({ name: `c${i}`, state: 'running' as const, restarts: 0, ...c }));
  const allRunning = containers.every((c) => c.state === 'running');
  const ready: Condition = {
    type: 'Ready',
    status: allRunning ? 'True' : 'False',
    reason: allRunning ? 'ContainersReady' : 'ContainersNotReady',
    message: '',
    ...s.ready,
  };
  return {
    type: 'podStatus',
    node: s.node ?? p.node ?? 'n1',
    namespace: p.namespace,
    pod: p.name,
    templateHash: s.templateHash ?? p.templateHash,
    // As the agent says: Running once a container runs.
    phase: s.phase ?? (containers.some((c) => c.state === 'running') ? 'Running' : 'Pending'),
    containers,
    conditions: [ready, ...(s.drifted ? [{ type: 'Drifted', status: 'True' as const, reason: 'Drifted', message: 'removed', ...s.drifted }] : [])],
    observedAt: NOW.toISOString(),
  };
}

/** A history record of `source` at `time`. */
export function history(source: string, commit: string, time: string, over: Partial<HistoryRecord> = {}): HistoryRecord {
  return { type: 'history', source, commit, outcome: 'applied', time, author: 'Ada', message: `${commit} message\n\nbody`, errors: [], ...over };
}

/** The seal of `source` for `commit`. */
export function seal(source: string, commit: string, time: string): SealRecord {
  return {
    type: 'seal', source, commit, revision: 1, time, author: 'Ada', message: `apply ${commit}\nmore`,
    counts: { objects: 1, created: 1, updated: 0, deleted: 0 },
  };
}

/** An agent's event. */
export function event(time: string, reason: string, object = 'pod/default/web-1'): EventRecord {
  return { type: 'event', time, component: 'agent', reason, message: `${reason} happened`, object };
}
