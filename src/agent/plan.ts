// The agent's converge plan: a pure function from (what is bound here, what runs here) to actions.
import type { BindingRecord, TerminatedState } from '../store/records.js';
import type { ContainerSpec } from '../manifest/types.js';
import type { ConfigMapLookup, SecretLookup } from '../manifest/env.js';
import type { Container, RunMount, RunPort, RunSpec } from './runtime.js';
import { compareText, wasStoppedFromOutside } from './runtime.js';
import { LABEL, podRef, preferred, runSpecOf, slotKey, slotOf } from './labels.js';
import { pullPolicyOf, type PullPolicy } from './pull.js';
import { hasStopLabels, stopPlanOf, type StopPlan } from './stop.js';
import { initNames, initProgress } from './init.js';
import { POD_IP_LABEL, addressTaken } from './pod-address.js';

/**
 * One step towards the bound state. Phase 1 steps finish before phase 2 starts; steps of one phase
 * may run concurrently. Only a removal that frees a host port or a name a phase-2 step needs is in
 * phase 1, so a slow stop never delays a rollout.
 */
export type ContainerAction =
  | { kind: 'remove'; phase: 1 | 2; id: string; name: string; pod?: string; reason: string; stop?: RemoveStop }
  | { kind: 'create'; phase: 2; slot: string; pod: string; spec: RunSpec; pullPolicy: PullPolicy; reason: string; /** A pod sandbox: made before the pod's containers. */ sandbox?: boolean }
  | { kind: 'start'; phase: 2; id: string; name: string; slot: string; pod: string; restart: boolean; reason: string; /** The back-off count once restarted. */ backOff?: number; /** How the run before this restart ended. */ ended?: TerminatedState }
  | { kind: 'wait'; phase: 2; id: string; name: string; slot: string; pod: string; until: string; reason: string; exited: string };

/** How a container whose pod asked for it (its stop labels) is stopped: its own grace period and preStop hook. */
export interface RemoveStop {
  /** The pod's terminationGracePeriodSeconds; absent: the agent's own grace period. */
  graceSeconds?: number;
  preStop?: StopPlan['preStop'];
  ip?: string;
  running: boolean;
}

/** What planContainers needs besides bindings and containers. */
export interface PlanOptions {
  node: string;
  /** Address host ports bind to. */
  hostIp: string;
  /** The present, for crash-loop back-off. Required: any fixed default would misjudge every back-off. */
  now: Date;
  /**
   * Restarts since the back-off was last reset, per slot (`<namespace>/<pod>/<container>`), as last
   * written to the pod's status (ContainerStatus.backOff).
   */
  backOff?: ReadonlyMap<string, number>;
  /** The crash-loop back-off schedule (default: Kubernetes' own, KUBERNETES_BACKOFF). */
  schedule?: BackOffSchedule;
  /**
   * Ids of containers the agent stopped for a failed liveness or startup probe: their exit is a
   * restart with back-off, as kubelet's, not drift that comes back at once.
   */
  probeKilled?: ReadonlySet<string>;
  /** Pods (`<namespace>/<pod>`) whose containers are left alone, e.g. their binding could not be read. */
  hold?: ReadonlySet<string>;
  /** The ConfigMaps each binding's pod reads (ConfigMapReader); default none. */
  configMaps?: (b: BindingRecord) => ConfigMapLookup;
  /** The Secrets each binding's pod reads, as this node decrypted them (SecretReader); default none. */
  secrets?: (b: BindingRecord) => SecretLookup;
  /** The mounts of a container of a pod with volumes (PodVolumes), or why it cannot have them; default none. */
  mounts?: (b: BindingRecord, spec: ContainerSpec) => RunMount[] | { error: string };
  /** The address of a binding's pod (its running sandbox's), for `fieldRef: status.podIP`; default unknown. */
  podIP?: (b: BindingRecord) => string | undefined;
  /**
   * Per pod, the sandbox (name) its containers join (see sandbox.ts); they then publish no port of
   * their own. The agent passes every pod it plans; a pod without one gets a network of its own.
   */
  netns?: ReadonlyMap<string, string>;
  /**
   * Per pod that runs as its one container (sandbox.ts alonePods): the network and static address it
   * holds itself (pod-address.ts); it then carries the pod's hostname and publishes the pod's ports.
   */
  alone?: ReadonlyMap<string, AloneNetwork>;
}

/** Where a pod that runs without a sandbox is reached: its network (id), its static address and hostname. */
export interface AloneNetwork {
  network: string;
  ip: string;
  hostname: string;
}

/** How a crash-looping container is restarted: the first delay, doubled per restart up to `maxMs`. */
export interface BackOffSchedule {
  initialMs: number;
  maxMs: number;
  /** A run at least this long resets the back-off: the next crash restarts at once. */
  resetMs: number;
}

/** kubelet's schedule for restartPolicy Always: 10 s doubling to 5 min, reset after 10 min of running. */
export const KUBERNETES_BACKOFF: BackOffSchedule = { initialMs: 10_000, maxMs: 300_000, resetMs: 600_000 };

/** True when `c`'s last run lasted long enough to reset the back-off (an unknown length does not). */
function ranPastReset(c: Container, schedule: BackOffSchedule): boolean {
  if (!c.startedAt || !c.finishedAt) return false;
  return Date.parse(c.finishedAt) - Date.parse(c.startedAt) >= schedule.resetMs;
}

/**
 * How long to wait before restarting `c`, which exited after `backOff` restarts since the back-off
 * was last reset: 0 for the first, then `initialMs` doubling up to `maxMs`, as kubelet does. A run
 * of `resetMs` or longer starts over at 0, and a container stopped from outside is drift, not a
 * crash loop: it comes back at once (unless the agent itself stopped it for a failed probe).
 */
export function restartDelayMs(c: Container, backOff: number, schedule: BackOffSchedule = KUBERNETES_BACKOFF, probeKilled = false): number {
  if (backOff <= 0 || (wasStoppedFromOutside(c) && !probeKilled) || ranPastReset(c, schedule)) return 0;
  return Math.min(schedule.initialMs * 2 ** Math.min(backOff - 1, 30), schedule.maxMs);
}

/** The back-off count after restarting `c` now: one more, or 1 when its last run reset it. */
export function nextBackOff(c: Container, backOff: number, schedule: BackOffSchedule = KUBERNETES_BACKOFF): number {
  return ranPastReset(c, schedule) ? 1 : Math.max(0, backOff) + 1;
}

/** How `c`'s last run ended, for the pod status. */
export function terminatedOf(c: Container): TerminatedState {
  return {
    exitCode: c.exitCode ?? -1, reason: terminationReason(c), containerId: c.id,
    ...(c.startedAt === undefined ? {} : { startedAt: c.startedAt }), ...(c.finishedAt === undefined ? {} : { finishedAt: c.finishedAt }),
  };
}

/**
 * `run` with where its lines begin in its container's log: after the end of the run before it, which
 * the pod status kept (`before`), when the same container ran that one; a run seen again keeps what it had.
 */
export function chainRun(run: TerminatedState, before: TerminatedState | undefined): TerminatedState {
  if (before === undefined || before.containerId !== run.containerId) return run;
  if (before.finishedAt === run.finishedAt) return before.logsSince === undefined ? run : { ...run, logsSince: before.logsSince };
  return before.finishedAt === undefined ? run : { ...run, logsSince: before.finishedAt };
}

/** Kubernetes' reason for how a container ended: OOMKilled, Completed (exit 0) or Error. */
export function terminationReason(c: Pick<Container, 'exitCode' | 'oomKilled'>): 'OOMKilled' | 'Completed' | 'Error' {
  return c.oomKilled ? 'OOMKilled' : c.exitCode === 0 ? 'Completed' : 'Error';
}

interface Wanted {
  binding: BindingRecord;
  spec: ContainerSpec;
  run: RunSpec;
  /** An init container: run only while it is its pod's next (init.ts), never after a clean exit. */
  init: boolean;
}

/** The actions that converge `observed` (this node's containers) to `bindings`, sorted deterministically. */
export function planContainers(bindings: BindingRecord[], observed: Container[], opts: PlanOptions): ContainerAction[] {
  const now = opts.now.getTime();
  const schedule = opts.schedule ?? KUBERNETES_BACKOFF;
  const wanted = new Map<string, Wanted>();
  const bound = new Map<string, BindingRecord>();
  for (const b of bindings) {
    bound.set(podRef(b.namespace, b.pod), b);
    const configMaps = opts.configMaps?.(b);
    const secrets = opts.secrets?.(b);
    const netns = opts.netns?.get(podRef(b.namespace, b.pod));
    const alone = opts.alone?.get(podRef(b.namespace, b.pod));
    const inits = initNames(b);
    for (const spec of [...(b.template.initContainers ?? []), ...b.template.containers]) {
      const mounts = opts.mounts?.(b, spec);
      const podIP = opts.podIP?.(b);
      const run = runSpecOf(b, spec, opts.node, opts.hostIp, { ...(configMaps === undefined ? {} : { configMaps }), ...(secrets === undefined ? {} : { secrets }), ...(mounts === undefined ? {} : { mounts }), ...(podIP === undefined ? {} : { podIP }) });
      const placed = alone !== undefined ? standalone(run, alone, opts.hostIp) : netns !== undefined ? joining(run, netns) : run;
      wanted.set(slotKey(b.namespace, b.pod, spec.name), { binding: b, spec, run: placed, init: inits.has(spec.name) });
    }
  }

  const removes: Extract<ContainerAction, { kind: 'remove' }>[] = [];
  const remove = (c: Container, reason: string): void => {
    const ns = c.labels[LABEL.namespace];
    const pod = c.labels[LABEL.pod];
    const stop = hasStopLabels(c) ? removeStopOf(c) : undefined;
    removes.push({ kind: 'remove', phase: 2, id: c.id, name: c.name, ...(ns && pod ? { pod: podRef(ns, pod) } : {}), reason, ...(stop ? { stop } : {}) });
  };
  const current = new Map<string, Container[]>();
  for (const c of observed) {
    // Never touch what another agent (or a person) owns, even if a caller passed it in.
    if (c.labels[LABEL.node] !== opts.node) continue;
    const ns = c.labels[LABEL.namespace] ?? '';
    const pod = c.labels[LABEL.pod] ?? '';
    if (opts.hold?.has(podRef(ns, pod))) continue;
    const slot = slotOf(c);
    if (slot === undefined) {
      remove(c, 'berth labels incomplete');
      continue;
    }
    const b = bound.get(podRef(ns, pod));
    if (!b) {
      remove(c, `pod ${podRef(ns, pod)} is not bound to ${opts.node}`);
    } else if (c.labels[LABEL.hash] !== b.templateHash) {
      remove(c, `template changed (${c.labels[LABEL.hash] ?? ''} → ${b.templateHash})`);
    } else if (!wanted.has(slot)) {
      remove(c, `container ${c.labels[LABEL.container] ?? ''} is not in the pod template`);
    } else if (c.state === 'dead') {
      // Docker cannot start a dead container; it must be replaced.
      remove(c, 'container is dead');
    } else if (addressTaken(c)) {
      // Its static address went to another container while it was stopped: made again with another one.
      remove(c, `its address ${c.labels[POD_IP_LABEL] ?? ''} is held by another container`);
    } else {
      current.set(slot, [...(current.get(slot) ?? []), c]);
    }
  }

  const rest: ContainerAction[] = [];
  const progress = new Map(bindings.map((b) => [podRef(b.namespace, b.pod), initProgress(b, current)]));
  for (const [slot, w] of wanted) {
    const pod = podRef(w.binding.namespace, w.binding.pod);
    const init = progress.get(pod);
    // While a pod initializes only its next init container moves; afterwards, only its own containers.
    if (init !== undefined && (w.init ? init.done || init.next !== slot : !init.done)) continue;
    const [keep, ...dupes] = (current.get(slot) ?? []).sort((a, b) => preferred(a, b, w.run.name));
    for (const d of dupes) remove(d, `duplicate of ${keep?.name ?? ''}`);
    if (!keep) {
      rest.push({ kind: 'create', phase: 2, slot, pod, spec: w.run, pullPolicy: pullPolicyOf(w.spec), reason: `no container for ${slot}` });
      continue;
    }
    const base = { id: keep.id, name: keep.name, slot, pod };
    if (keep.state === 'created') {
      rest.push({ kind: 'start', phase: 2, ...base, restart: false, reason: 'created but not started' });
    } else if (keep.state === 'exited' && mayRestart(w.binding, keep)) {
      const backOff = opts.backOff?.get(slot) ?? 0;
      const probeKilled = opts.probeKilled?.has(keep.id) === true;
      const delay = restartDelayMs(keep, backOff, schedule, probeKilled);
      const until = Date.parse(keep.finishedAt ?? '') + delay;
      const exited = `exited with code ${keep.exitCode ?? 'unknown'} (${terminationReason(keep)})`;
      if (delay > 0 && until > now) {
        rest.push({ kind: 'wait', phase: 2, ...base, until: new Date(until).toISOString(), exited, reason: `back-off ${delay / 1000}s restarting failed container ${w.spec.name}: ${exited}` });
      } else {
        // Drift (a kill from outside) comes back at once and leaves the crash-loop count as it was.
        const next = wasStoppedFromOutside(keep) && !probeKilled ? backOff : nextBackOff(keep, backOff, schedule);
        rest.push({ kind: 'start', phase: 2, ...base, restart: true, reason: exited, backOff: next, ended: terminatedOf(keep) });
      }
    }
    // running, paused, restarting, removing: nothing to do now; a later event brings it back here.
  }

  // A removal blocks when a phase-2 step needs its name or a host port it holds.
  const needs = rest.flatMap((a) => (a.kind === 'create' ? [{ name: a.spec.name, ports: a.spec.ports }] : a.kind === 'start' ? [{ name: '', ports: portsOf(observed, a.id) }] : []));
  for (const r of removes) {
    const held = portsOf(observed, r.id);
    if (needs.some((n) => n.name === r.name || n.ports.some((p) => held.some((h) => portsClash(p, h))))) r.phase = 1;
  }
  return [...removes, ...rest].sort(compareActions);
}

/** `run` inside the sandbox `netns`: the sandbox publishes the ports. */
function joining(run: RunSpec, netns: string): RunSpec {
  return { ...run, netns, ports: run.ports.map((p) => ({ containerPort: p.containerPort, protocol: p.protocol })) };
}

/** `run` as a pod of its own: on the pod network at its static address, with the pod's hostname, publishing every port at `hostIp`. */
function standalone(run: RunSpec, a: AloneNetwork, hostIp: string): RunSpec {
  return {
    ...run, network: a.network, ip: a.ip, hostname: a.hostname, publishAll: true,
    labels: { ...run.labels, [POD_IP_LABEL]: a.ip },
    ports: run.ports.map((p) => ({ ...p, hostIp })),
  };
}

/** How to stop `c` before removing it: its pod's grace period and preStop hook, from its labels. */
export function removeStopOf(c: Container): RemoveStop {
  const plan = stopPlanOf(c, Number.NaN);
  return {
    ...(Number.isNaN(plan.graceSeconds) ? {} : { graceSeconds: plan.graceSeconds }),
    ...(plan.preStop ? { preStop: plan.preStop } : {}),
    ...(c.ip === undefined ? {} : { ip: c.ip }),
    running: c.state === 'running',
  };
}

/** Whether the pod's restart policy restarts a container that exited like `c`. */
function mayRestart(b: BindingRecord, c: Container): boolean {
  switch (b.template.restartPolicy) {
    case 'Always':
      return true;
    case 'OnFailure':
      return c.exitCode !== 0;
    case 'Never':
      return false;
  }
}

function portsOf(observed: Container[], id: string): RunPort[] {
  return observed.find((c) => c.id === id)?.ports ?? [];
}

const ANY = new Set(['', '0.0.0.0', '::']);

/** Two host-port bindings clash on the same port and protocol when their addresses overlap. */
export function portsClash(a: RunPort, b: RunPort): boolean {
  if (a.hostPort === undefined || a.hostPort !== b.hostPort || a.protocol !== b.protocol) return false;
  const ia = a.hostIp ?? '0.0.0.0';
  const ib = b.hostIp ?? '0.0.0.0';
  return ia === ib || ANY.has(ia) || ANY.has(ib);
}

const KIND_ORDER = { remove: 0, create: 1, start: 2, wait: 3 } as const;

function actionName(a: ContainerAction): string {
  return a.kind === 'create' ? a.spec.name : a.name;
}

function compareActions(a: ContainerAction, b: ContainerAction): number {
  return a.phase - b.phase || KIND_ORDER[a.kind] - KIND_ORDER[b.kind] || compareText(actionName(a), actionName(b)) || (a.kind === 'create' || b.kind === 'create' ? 0 : compareText(a.id, b.id));
}
