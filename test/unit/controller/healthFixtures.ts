// Records as sync, the controller, the scheduler and the agent write them, for the health tests.
import { planPods, type DesiredDeployment } from '../../../src/controller/index.js';
import type { DeploymentObject } from '../../../src/manifest/types.js';
import type { Condition, ContainerStatus, PodRecord, PodStatusRecord, SealRecord } from '../../../src/store/index.js';

/** The seal of `commit` for `source`. */
export function sealOf(commit: string, source = 'main'): SealRecord {
  return {
    type: 'seal', source, commit, revision: 1, time: '2025-06-01T11:59:00.000Z', author: 'Ada', message: commit,
    counts: { objects: 1, created: 1, updated: 0, deleted: 0 },
  };
}

/** `object` as the controller reads it from `source` at the seal. */
export function want(object: DeploymentObject, commit: string, source = 'main'): DesiredDeployment {
  return { source, object, commit };
}

/** The pods the controller creates for `d`, bound to `node` as the scheduler would (unbound: node undefined). */
export function podsOf(d: DesiredDeployment, o: { node?: string | undefined; createdAt?: Date } = {}): PodRecord[] {
  const node = 'node' in o ? o.node : 'n1';
  return planPods([d], [], o.createdAt ?? new Date('2025-06-01T00:00:00.000Z')).create.map((p) => (node === undefined ? p : { ...p, node }));
}

/** What a test status says; the rest follows from the pod. */
export interface StatusShape {
  /** Ready condition; default: True when every container runs. */
  ready?: Partial<Condition>;
  containers?: Partial<ContainerStatus>[];
  drifted?: Partial<Condition>;
  observedAt?: Date;
  node?: string;
  templateHash?: string;
  phase?: PodStatusRecord['phase'];
}

/** The status `p`'s agent writes: by default every container of the template running, never restarted. */
export function statusOf(p: PodRecord, s: StatusShape = {}): PodStatusRecord {
  const containers: ContainerStatus[] = p.template.containers.map((c, i) => ({ name: c.name, id: `${p.name}-${c.name}-id`, state: 'running', restarts: 0, ...s.containers?.[i] }));
  const allRunning = containers.every((c) => c.state === 'running');
  const ready: Condition = {
    type: 'Ready',
    status: allRunning ? 'True' : 'False',
    reason: allRunning ? 'ContainersReady' : 'ContainersNotReady',
    message: '',
    observedCommit: p.commit,
    ...s.ready,
  };
  const drifted: Condition[] = s.drifted ? [{ type: 'Drifted', status: 'True', reason: 'Drifted', message: 'container main was removed', observedCommit: p.commit, ...s.drifted }] : [];
  return {
    type: 'podStatus',
    node: s.node ?? p.node ?? 'n1',
    namespace: p.namespace,
    pod: p.name,
    templateHash: s.templateHash ?? p.templateHash,
    phase: s.phase ?? (containers.some((c) => c.state === 'running') ? 'Running' : 'Pending'),
    containers,
    conditions: [ready, ...drifted],
    observedAt: (s.observedAt ?? new Date('2025-06-01T00:00:00.000Z')).toISOString(),
  };
}

/** Shapes of a pod in trouble, as the agent words them. */
export const shapes = {
  crashLoop: (restarts = 3): StatusShape => ({
    ready: { reason: 'CrashLoopBackOff', message: `main: back-off ${2 ** (restarts - 1)}s restarting x: exited with code 1` },
    containers: [{ state: 'exited', exitCode: 1, restarts, message: `back-off ${2 ** (restarts - 1)}s restarting x: exited with code 1` }],
  }),
  exited: (restarts = 0): StatusShape => ({ containers: [{ state: 'exited', exitCode: 1, restarts, message: 'exited with code 1' }] }),
  imagePull: (): StatusShape => ({
    ready: { reason: 'ErrImagePull', message: 'main: pull access denied for nope' },
    containers: [{ state: 'waiting', restarts: 0, message: 'pull access denied for nope' }],
  }),
  imagePullBackOff: (): StatusShape => ({
    ready: { reason: 'ImagePullBackOff', message: 'main: Back-off pulling image nope:1: pull access denied for nope' },
    containers: [{ state: 'waiting', restarts: 0, message: 'Back-off pulling image nope:1: pull access denied for nope' }],
  }),
  pulling: (): StatusShape => ({
    ready: { reason: 'ContainerCreating', message: 'main: pulling image web:2: 1 of 3 layers done' },
    containers: [{ state: 'waiting', restarts: 0, message: 'pulling image web:2: 1 of 3 layers done' }],
  }),
  startFailed: (reason = 'StartFailed'): StatusShape => ({
    ready: { reason, message: 'main: port is already allocated' },
    containers: [{ state: 'waiting', restarts: 0, message: 'port is already allocated' }],
  }),
  ended: (): StatusShape => ({ phase: 'Failed', ready: { reason: 'PodFailed' }, containers: [{ state: 'exited', exitCode: 2, restarts: 0, message: 'exited with code 2' }] }),
  creating: (): StatusShape => ({ containers: [{ state: 'waiting', restarts: 0, message: 'waiting to be created' }] }),
  drifted: (): StatusShape => ({
    containers: [{ state: 'waiting', restarts: 0, message: 'waiting to be created' }],
    drifted: { status: 'True', reason: 'Drifted', message: 'container main (0123456789ab) was removed' },
  }),
  /** Killed from outside and started again by the agent at `at`: Ready, one restart, Drifted/Healed. */
  healed: (at: Date): StatusShape => ({
    containers: [{ restarts: 1 }],
    drifted: { status: 'False', reason: 'Healed', message: 'container main was stopped from outside (exited with code 137); restarted' },
    observedAt: at,
  }),
  /** Running again after `restarts` restarts, the last at `at`. */
  restarted: (at: Date, restarts = 1): StatusShape => ({ containers: [{ restarts }], observedAt: at }),
} as const;
