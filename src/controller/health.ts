// Pure: the `berth/health` of a source's commit in force, folded from its pods and their statuses.
import { templateHash } from '../manifest/index.js';
import {
  currentStatus, indexStatuses, isPodReady, podKey, readyCondition,
  type Condition, type PodRecord, type PodStatusRecord, type SealRecord, type StatusIndex,
} from '../store/index.js';
import { compareText, plural, shorten } from '../text.js';
import { podName, type DesiredDeployment } from './pods.js';

/** What commitHealth folds. */
export interface HealthInput {
  /** The seal of the commit in force. */
  seal: SealRecord;
  /** The Deployments of the seal's source, read at the sealed revision (others are ignored). */
  deployments: DesiredDeployment[];
  pods: PodRecord[];
  /** The pods' statuses: a list, or an index of them (a watch cache's). */
  statuses: readonly PodStatusRecord[] | StatusIndex;
  /** Registered node names. When given, a pod bound to any other node is lost; when not, nodes are not checked. */
  nodes?: ReadonlySet<string>;
  now: Date;
  /** How long a restarted container must run before its pod counts as ready again (default SETTLE_MS). */
  settleMs?: number;
}

/** The states `berth/health` takes (`error` is sync's, for a status it could not decide). */
export type HealthState = 'pending' | 'success' | 'failure';

/** The health of one commit. */
export interface CommitHealth {
  state: HealthState;
  /**
   * One CamelCase word for the situation: RollingOut, Unschedulable (pending); Running (success);
   * Conflict, ErrImagePull, StartFailed, PodFailed, CrashLoopBackOff, NodeLost, Drifted,
   * ProgressDeadlineExceeded (failure; the Progressing condition turns False with it).
   * It stays the same while the situation does; the description may carry a changing ready count.
   */
  reason: string;
  /** One line for the commit status, at most MAX_HEALTH_DESCRIPTION characters. */
  description: string;
  /** For a failure: the pod and what went wrong, without the kind ("demo/web-…-0 container web exited with code 1"). */
  detail?: string;
  /** Replicas of the commit's current templates that are ready, of `replicas` wanted. */
  ready: number;
  replicas: number;
  /**
   * True when the failure rests only on containers restarted moments ago (within the settle time): such a
   * verdict does not replace a failure already reported, so a crash loop keeps one reason.
   */
  settling: boolean;
  /** Ready, Progressing, Degraded, as pod conditions say them. */
  conditions: Condition[];
  /** When the verdict changes with no write to the store: a settle window ends, or a pod has waited too long for a node. */
  recheckAt?: Date;
}

/**
 * A pod whose container restarted counts as running again only after this long without a change:
 * the agent's own crash window (a container that ran 10 s before exiting is not crash-looping), so
 * the running moments of a crash loop never read as success.
 */
export const SETTLE_MS = 10_000;
/** An unbound pod older than this is named as unschedulable (still pending: the scheduler's reason is not in etcd). */
export const UNSCHEDULED_AFTER_MS = 60_000;
/** Forges cut status descriptions near here (GitHub: 140). */
export const MAX_HEALTH_DESCRIPTION = 140;

type Verdict =
  | { kind: 'ready' }
  | { kind: 'waiting'; unscheduled?: boolean }
  | { kind: 'failed'; reason: string; detail: string; settling: boolean };

/** Failure reasons in the order one is named when several pods fail: what a person must fix first. */
const FAILURE_ORDER = ['Conflict', 'ErrImagePull', 'StartFailed', 'PodFailed', 'CrashLoopBackOff', 'NodeLost', 'Drifted', 'ProgressDeadlineExceeded'];
const FAILURE_PREFIX: Record<string, string> = {
  Conflict: 'conflict',
  ErrImagePull: 'image pull failed',
  StartFailed: 'start failed',
  PodFailed: 'failed',
  CrashLoopBackOff: 'crash loop',
  NodeLost: 'node lost',
  Drifted: 'drift',
  ProgressDeadlineExceeded: 'progress deadline exceeded',
};
/** Ready reasons of the agent that mean the pod ended (restart policy Never or OnFailure). */
const ENDED = new Set(['PodFailed', 'PodCompleted']);
const START_FAILED = new Set(['CreateFailed', 'StartFailed']);

/**
 * The health of `seal`'s commit: pending while any Deployment lacks `replicas` ready pods of its
 * current template; success when none does; failure, naming one pod and why, when a pod of the
 * commit is crash-looping, cannot pull its image or start, ended, drifted, sits on a lost node or
 * lost its name to another source. Only pods the current templates want count (the same names
 * planPods gives them); a pod counts as ready only on a status its own node wrote for its template.
 * No counter or age enters a description, so a stable situation gives the same one each time.
 */
export function commitHealth(input: HealthInput): CommitHealth {
  const pods = new Map(input.pods.map((p) => [podKey(p.namespace, p.name), p]));
  const statuses = isIndex(input.statuses) ? input.statuses : indexStatuses(input.statuses);
  const deployments = sortDeployments(input.deployments.filter((d) => d.source === input.seal.source));
  const ctx: DeploymentHealthInput = { seal: input.seal, pod: (key) => pods.get(key), statuses, now: input.now, ...(input.nodes ? { nodes: input.nodes } : {}), ...(input.settleMs === undefined ? {} : { settleMs: input.settleMs }) };
  return foldHealth(input.seal, deployments.map((d) => deploymentHealth(d, ctx)), input.now);
}

/** Deployments in the order commitHealth names them: by namespace, then name. */
export function sortDeployments<T extends { object: { namespace: string; name: string } }>(deployments: readonly T[]): T[] {
  return [...deployments].sort((a, b) => compareText(a.object.namespace, b.object.namespace) || compareText(a.object.name, b.object.name));
}

/** What deploymentHealth reads: the commit's seal, and the pods and statuses by lookup. */
export interface DeploymentHealthInput {
  seal: SealRecord;
  /** The pod at a key (`pods/<namespace>/<pod>`). */
  pod: (key: string) => PodRecord | undefined;
  statuses: StatusIndex;
  nodes?: ReadonlySet<string>;
  now: Date;
  settleMs?: number;
}

/** One Deployment's share of its commit's health; foldHealth folds them. */
export interface DeploymentHealth {
  replicas: number;
  ready: number;
  failures: Failure[];
  /** The first of its wanted pods named as unschedulable. */
  unscheduled?: string;
  /** When its verdict changes with no write (ms since the epoch). */
  recheck?: number;
}

type Failure = Extract<Verdict, { kind: 'failed' }>;

/**
 * The verdict on one Deployment of the seal's commit: its wanted replicas (the names planPods gives
 * them) judged one by one, and its progress deadline. Only its own pods and their statuses are
 * read, so a change of one pod costs its Deployment's share, not the commit's.
 */
export function deploymentHealth(d: DesiredDeployment, input: DeploymentHealthInput): DeploymentHealth {
  const { seal, now, statuses } = input;
  const settleMs = input.settleMs ?? SETTLE_MS;
  const out: DeploymentHealth = { replicas: 0, ready: 0, failures: [] };
  const later = (at: number): void => {
    if (at > now.getTime()) out.recheck = Math.min(out.recheck ?? at, at);
  };
  const { namespace, name, spec } = d.object;
  const hash = templateHash(spec.template, d.inputs);
  const owner = `${seal.source}:${namespace}/${name}`;
  const n = Math.max(0, Math.floor(spec.replicas));
  out.replicas = n;
  // Kubernetes' progress: the rollout began (the seal), a pod was created, or a pod turned Ready.
  let progressAt = Date.parse(seal.time);
  for (let i = 0; i < n; i++) {
    const pod = input.pod(podKey(namespace, podName(name, hash, i)));
    const ref = `${namespace}/${podName(name, hash, i)}`;
    const verdict = judgePod(ref, owner, pod, { statuses, nodes: input.nodes, now, settleMs, later });
    if (verdict.kind === 'ready') out.ready++;
    else if (verdict.kind === 'failed') out.failures.push(verdict);
    else if (verdict.unscheduled) out.unscheduled ??= ref;
    if (pod) progressAt = Math.max(progressAt, Date.parse(pod.createdAt) || 0, readySince(pod, statuses));
  }
  if (out.ready < n) {
    const deadline = progressAt + spec.progressDeadlineSeconds * 1000;
    if (now.getTime() >= deadline) {
      const detail = `deployment ${namespace}/${name} has ${out.ready}/${n} ready pods and made no progress for ${spec.progressDeadlineSeconds}s`;
      out.failures.push({ kind: 'failed', reason: 'ProgressDeadlineExceeded', detail, settling: false });
    } else {
      later(deadline);
    }
  }
  return out;
}

/** The health of the seal's commit from its Deployments' shares, in sortDeployments order. */
export function foldHealth(seal: SealRecord, parts: readonly DeploymentHealth[], now: Date): CommitHealth {
  let replicas = 0;
  let ready = 0;
  let recheck: number | undefined;
  let unscheduled: string | undefined;
  const failures: Failure[] = [];
  for (const p of parts) {
    replicas += p.replicas;
    ready += p.ready;
    failures.push(...p.failures);
    unscheduled ??= p.unscheduled;
    // A share computed earlier may name a time already passed: only what is still ahead wakes anyone.
    if (p.recheck !== undefined && p.recheck > now.getTime()) recheck = Math.min(recheck ?? p.recheck, p.recheck);
  }

  const base = { ready, replicas, ...(recheck === undefined ? {} : { recheckAt: new Date(recheck) }) };
  const short = seal.commit.slice(0, 7);
  const failure = pickFailure(failures);
  if (failure) {
    const suffix = failure.reason === 'Drifted' ? '; healing' : '';
    const description = oneLine(`${FAILURE_PREFIX[failure.reason] ?? failure.reason}: ${failure.detail}${suffix}`);
    return { ...base, state: 'failure', reason: failure.reason, description, detail: failure.detail, settling: failures.every((f) => f.settling), conditions: conditions('failure', failure.reason, description, seal.commit) };
  }
  if (ready < replicas) {
    const progress = `${ready}/${replicas} ready`;
    const [reason, description] = unscheduled
      ? ['Unschedulable', oneLine(`unschedulable: ${unscheduled} has no node after ${UNSCHEDULED_AFTER_MS / 1000}s; ${progress}`)]
      : ['RollingOut', `rolling out: ${progress}`];
    return { ...base, state: 'pending', reason, description, settling: false, conditions: conditions('pending', reason, description, seal.commit) };
  }
  const description =
    parts.length === 0 ? `no deployments at ${short}` : `${ready}/${replicas} replicas of ${plural(parts.length, 'deployment')} running ${short}`;
  return { ...base, state: 'success', reason: 'Running', description, settling: false, conditions: conditions('success', 'Running', description, seal.commit) };
}

function isIndex(s: readonly PodStatusRecord[] | StatusIndex): s is StatusIndex {
  return !Array.isArray(s);
}

/** One wanted replica: ready, waiting (for creation, a node, the agent), or failed and why. */
function judgePod(
  ref: string,
  owner: string,
  pod: PodRecord | undefined,
  ctx: { statuses: StatusIndex; nodes: ReadonlySet<string> | undefined; now: Date; settleMs: number; later: (at: number) => void },
): Verdict {
  const { statuses, nodes, now, later } = ctx;
  if (!pod) return { kind: 'waiting' };
  const holder = `${pod.owner.source}:${pod.namespace}/${pod.owner.name}`;
  if (holder !== owner) return { kind: 'failed', reason: 'Conflict', detail: `${ref} is held by ${holder}`, settling: false };
  if (pod.node === undefined) {
    const late = Date.parse(pod.createdAt) + UNSCHEDULED_AFTER_MS;
    later(late);
    return { kind: 'waiting', unscheduled: !(now.getTime() < late) };
  }
  if (nodes && !nodes.has(pod.node)) {
    return { kind: 'failed', reason: 'NodeLost', detail: `${ref} is on node ${pod.node}, which is no longer registered`, settling: false };
  }
  const status = currentStatus(pod, statuses);
  if (!status) return { kind: 'waiting' };

  const readyCond = readyCondition(status);
  const drift = status.conditions.find((c) => c.type === 'Drifted');
  if (drift?.status === 'True') return { kind: 'failed', reason: 'Drifted', detail: `${ref} ${drift.message}`, settling: false };
  const down = status.containers.find((c) => c.state !== 'running');

  // Ready as rollouts and `berth get` count it; health adds the settle window after restarts.
  if (isPodReady(pod, statuses, nodes)) {
    const restarted = status.containers.find((c) => c.restarts > 0);
    const settledAt = Date.parse(status.observedAt) + ctx.settleMs;
    if (!restarted || !(now.getTime() < settledAt)) return { kind: 'ready' };
    later(settledAt);
    // NOTE: a Healed condition stays on the status after the drift; a later crash of the same pod
    // inside this window reads as that drift again. Its next back-off names the crash loop.
    if (drift?.reason === 'Healed') return { kind: 'failed', reason: 'Drifted', detail: `${ref} ${drift.message.replace(/; restarted$/, '')}`, settling: true };
    return { kind: 'failed', reason: 'CrashLoopBackOff', detail: `${ref} container ${restarted.name} exited and was restarted`, settling: true };
  }

  const reason = readyCond?.reason ?? 'ContainersNotReady';
  const what = down ? `${ref} container ${down.name}` : ref;
  if (reason === 'ErrImagePull' || reason === 'ImagePullBackOff') {
    // One failure whether the agent is pulling again or waiting to: the same words, so health does not flap.
    const message = (down?.message ?? readyCond?.message ?? 'cannot pull the image').replace(/^Back-off pulling image \S+: /, '');
    return { kind: 'failed', reason: 'ErrImagePull', detail: `${what}: ${message}`, settling: false };
  }
  if (START_FAILED.has(reason)) return { kind: 'failed', reason: 'StartFailed', detail: `${what}: ${down?.message ?? readyCond?.message ?? 'cannot start'}`, settling: false };
  if (ENDED.has(reason)) return { kind: 'failed', reason: 'PodFailed', detail: `${what} ${exited(down)}`, settling: false };
  if (reason === 'CrashLoopBackOff' || down?.state === 'exited') {
    return { kind: 'failed', reason: 'CrashLoopBackOff', detail: `${what} ${exited(down)}`, settling: false };
  }
  // ContainerCreating: the agent is pulling the image (its status says how far).
  if (reason === 'ContainersNotReady' || reason === 'ContainerCreating') return { kind: 'waiting' };
  // A reason this version does not know (a newer agent's): a failure under its own name.
  return { kind: 'failed', reason, detail: `${what}: ${readyCond?.message ?? reason}`, settling: false };
}

/** When the pod's current status turned Ready (0 when it is not Ready): progress, for the deadline. */
function readySince(pod: PodRecord, statuses: StatusIndex): number {
  const cond = readyCondition(currentStatus(pod, statuses));
  return cond?.status === 'True' ? Date.parse(cond.lastTransitionTime ?? '') || 0 : 0;
}

function exited(c: { exitCode?: number } | undefined): string {
  return c?.exitCode === undefined ? 'exited' : `exited with code ${c.exitCode}`;
}

/** The failure to name: one that stands (not settling) first, then by FAILURE_ORDER, then the first pod. */
function pickFailure(failures: Extract<Verdict, { kind: 'failed' }>[]): Extract<Verdict, { kind: 'failed' }> | undefined {
  const rank = (r: string): number => {
    const i = FAILURE_ORDER.indexOf(r);
    return i < 0 ? FAILURE_ORDER.length : i;
  };
  return [...failures].sort((a, b) => Number(a.settling) - Number(b.settling) || rank(a.reason) - rank(b.reason))[0];
}

/** The commit's conditions: Ready, Progressing and Degraded, each True in exactly one state. */
function conditions(state: HealthState, reason: string, message: string, commit: string): Condition[] {
  const c = (type: string, on: boolean, why: string): Condition => ({ type, status: on ? 'True' : 'False', reason: why, message, observedCommit: commit });
  return [
    c('Ready', state === 'success', reason),
    c('Progressing', state === 'pending', state === 'success' ? 'RolledOut' : reason),
    c('Degraded', state === 'failure', state === 'failure' ? reason : 'AsExpected'),
  ];
}

/** One line, cut to MAX_HEALTH_DESCRIPTION. */
export function oneLine(text: string): string {
  return shorten(text, MAX_HEALTH_DESCRIPTION);
}
