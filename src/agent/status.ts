// Pod status as the agent reports it: a pure function of the binding, the observed containers and
// what the last status said (restart counts and drift live in the store, not in the process).
import type { BindingRecord, Condition, ContainerStatus, HostPortStatus, PodStatusRecord, TerminatedState } from '../store/records.js';
import type { Container } from './runtime.js';
import type { ContainerSpec } from '../manifest/types.js';
import { compareText, wasStoppedFromOutside } from './runtime.js';
import { LABEL, containerName, preferred } from './labels.js';
import type { ProbeVerdict } from './probe-core.js';
import { chainRun, terminatedOf, terminationReason } from './plan.js';

/** Why a container is not running as bound, found while applying the plan (failed pull, back-off …). */
export interface Problem {
  /** One CamelCase word: ErrImagePull, CreateFailed, StartFailed, CrashLoopBackOff. */
  reason: string;
  message: string;
}

/** What podStatus needs besides the binding and the containers. */
export interface StatusContext {
  /** The status last written for this pod, if any. */
  previous?: PodStatusRecord;
  /** Container names the agent restarted (or recreated after drift) in this round. */
  restarted?: ReadonlySet<string>;
  /** Per container name. */
  problems?: ReadonlyMap<string, Problem>;
  /** Drift seen in this round, per container name (see detectDrift). */
  drift?: ReadonlyMap<string, string>;
  /** Back-off counts of the containers restarted in this round, per container name (see planContainers). */
  backOff?: ReadonlyMap<string, number>;
  /** How the runs before this round's restarts ended, per container name. */
  ended?: ReadonlyMap<string, TerminatedState>;
  /** What the probes say, per container name (only probed, running containers have one). */
  probes?: ReadonlyMap<string, ProbeVerdict>;
  /** Where the pod is reached (see podNetwork). */
  network?: PodNetwork;
}

/** The pod's addresses, as pod status reports them. */
export interface PodNetwork {
  podIP?: string;
  hostIP: string;
  hostPorts: HostPortStatus[];
}

/**
 * The addresses of a pod whose network namespace `owner` holds: its IP, the node's address and the
 * host ports its ports are published on (sorted; only those Docker published on the host). A pod on
 * the node's network (`hostNetwork`, whose containers `onHost` lists) is reached at the node's
 * address, on each declared port as its host port, as Kubernetes reports it.
 */
export function podNetwork(owner: Container | undefined, hostIP: string, onHost?: readonly ContainerSpec[]): PodNetwork {
  const running = owner?.state === 'running';
  const ports = !running ? [] : onHost !== undefined ? onHost.flatMap((c) => c.ports.map((p) => ({ ...p, hostPort: p.hostPort ?? p.containerPort }))) : (owner.published ?? owner.ports);
  const hostPorts = ports
    .flatMap((p) => (p.hostPort === undefined ? [] : [{ containerPort: p.containerPort, protocol: p.protocol, hostPort: p.hostPort }]))
    .sort((a, b) => a.containerPort - b.containerPort || compareText(a.protocol, b.protocol) || a.hostPort - b.hostPort)
    .filter((p, i, all) => i === 0 || JSON.stringify(p) !== JSON.stringify(all[i - 1]));
  const podIP = !running ? undefined : onHost !== undefined ? hostIP : owner.ip;
  return { ...(podIP === undefined ? {} : { podIP }), hostIP, hostPorts };
}

/** The containers of `binding` among `containers`: at most one per container name, the one the plan keeps. */
export function containersOf(binding: BindingRecord, containers: Container[], specs: readonly ContainerSpec[] = binding.template.containers): Map<string, Container> {
  const out = new Map<string, Container>();
  for (const spec of specs) {
    const expected = containerName(binding.node, binding.namespace, binding.pod, spec.name, binding.templateHash);
    const [best] = containers
      .filter((c) => c.labels[LABEL.namespace] === binding.namespace && c.labels[LABEL.pod] === binding.pod && c.labels[LABEL.container] === spec.name && c.labels[LABEL.hash] === binding.templateHash && c.state !== 'dead')
      .sort((a, b) => preferred(a, b, expected));
    if (best) out.set(spec.name, best);
  }
  return out;
}

/**
 * Drift: a container that the last status saw running (same template) has since been removed, or
 * killed by a signal, without the agent asking. Any other exit is the program's own crash: that
 * shows as restarts and back-off, not as drift. Returns what happened, per container name.
 */
export function detectDrift(binding: BindingRecord, previous: PodStatusRecord | undefined, containers: Container[]): Map<string, string> {
  const drift = new Map<string, string>();
  if (!previous || previous.templateHash !== binding.templateHash) return drift;
  const mine = containersOf(binding, containers);
  for (const before of previous.containers) {
    if (before.state !== 'running' || before.id === undefined) continue;
    const now = mine.get(before.name);
    if (!now) drift.set(before.name, `container ${before.name} (${before.id.slice(0, 12)}) was removed`);
    else if (now.id === before.id && wasStoppedFromOutside(now)) {
      drift.set(before.name, `container ${before.name} was stopped from outside (${exitText(now)})`);
    }
  }
  return drift;
}

/** How long after a memory-limited container's SIGKILL exit Docker may still be about to record that the OOM killer did it. */
export const OOM_SETTLE_MS = 2000;

/**
 * The pods with a container that exited by SIGKILL under a memory limit less than OOM_SETTLE_MS before
 * `now`, which Docker does not (yet) call OOM-killed, and when the first of them settles. Docker 20.10 can
 * record an OOM kill after the exit: judged at once it would read as a kill from outside (drift), and a
 * restart would clear Docker's flag for good. So such a pod is left as it is until Docker says, or until
 * then. `ignore`: containers the agent itself killed (a failed liveness probe).
 */
export function unsettledExits(bindings: readonly BindingRecord[], containers: readonly Container[], now: number, ignore: ReadonlySet<string> = new Set()): { pods: Set<string>; at?: number } {
  const limited = new Set<string>();
  for (const b of bindings) {
    for (const spec of [...(b.template.initContainers ?? []), ...b.template.containers]) {
      if (spec.resources.limits.memory !== undefined) limited.add(`${b.namespace}/${b.pod}/${spec.name}`);
    }
  }
  const pods = new Set<string>();
  let at: number | undefined;
  for (const c of containers) {
    const ns = c.labels[LABEL.namespace] ?? '';
    const pod = c.labels[LABEL.pod] ?? '';
    if (c.state !== 'exited' || c.oomKilled === true || c.exitCode !== 137 || ignore.has(c.id) || !limited.has(`${ns}/${pod}/${c.labels[LABEL.container] ?? ''}`)) continue;
    const settles = Date.parse(c.finishedAt ?? '') + OOM_SETTLE_MS;
    // Not a number, settled, or ended in the future of this clock (skew): judged now.
    if (!(settles > now && settles <= now + OOM_SETTLE_MS)) continue;
    pods.add(`${ns}/${pod}`);
    at = Math.min(at ?? settles, settles);
  }
  return at === undefined ? { pods } : { pods, at };
}

function exitText(c: Container): string {
  return `exited with code ${c.exitCode ?? 'unknown'}${c.oomKilled ? ' (OOM killed)' : ''}`;
}

/** The status of one bound pod at `now`. */
export function podStatus(binding: BindingRecord, containers: Container[], now: Date, ctx: StatusContext = {}): PodStatusRecord {
  const mine = containersOf(binding, containers);
  const prev = ctx.previous?.templateHash === binding.templateHash ? ctx.previous : undefined;
  const inits = binding.template.initContainers ?? [];
  const initMine = containersOf(binding, containers, inits);
  const statusOf = (spec: ContainerSpec, c: Container | undefined, before: readonly ContainerStatus[] | undefined): ContainerStatus => {
    const problem = ctx.problems?.get(spec.name);
    const was = before?.find((p) => p.name === spec.name);
    const restarts = (was?.restarts ?? 0) + (ctx.restarted?.has(spec.name) ? 1 : 0);
    const s = containerStatus(spec.name, c, restarts);
    if (problem) {
      s.reason = problem.reason;
      s.message = problem.message;
    }
    // The last end stays known after a restart, when Docker has forgotten it (as kubelet's lastState).
    const ended = c?.state === 'exited' ? terminatedOf(c) : (ctx.ended?.get(spec.name) ?? was?.lastState);
    const lastState = ended && chainRun(ended, was?.lastState);
    if (lastState) s.lastState = lastState;
    const backOff = ctx.backOff?.get(spec.name) ?? was?.backOff;
    if (backOff !== undefined) s.backOff = backOff;
    if (s.state === 'running' && ctx.probes?.get(spec.name)?.ready === false) s.ready = false;
    return s;
  };
  const statuses = binding.template.containers.map((spec) => statusOf(spec, mine.get(spec.name), prev?.containers));
  const initStatuses = inits.map((spec) => statusOf(spec, initMine.get(spec.name), prev?.initContainers));
  // As kubelet: initialized once every init container exited 0, or once the pod's containers exist.
  const initialized = mine.size > 0 || initStatuses.every((s) => s.state === 'exited' && s.exitCode === 0);

  const running = statuses.filter((s) => s.state === 'running').length;
  const allCreated = binding.template.containers.every((spec) => mine.has(spec.name));
  const finished = statuses.every((s) => s.state === 'exited' && !restartsAfter(binding, s));
  // A Deployment's pod never ends, so an end of any kind (k8s' Succeeded included) is a failure here.
  const phase: PodStatusRecord['phase'] = finished && initialized ? 'Failed' : allCreated && running > 0 ? 'Running' : 'Pending';

  // A running container is Ready only once its probes say so (startup succeeded, readiness passing).
  const unready = (s: ContainerStatus): string | undefined => (s.state !== 'running' ? (s.message ?? s.state) : ctx.probes?.get(s.name)?.ready === false ? (ctx.probes.get(s.name)?.reason ?? 'not ready') : undefined);
  const notReady = statuses.filter((s) => unready(s) !== undefined);
  const firstProblem = binding.template.containers.map((spec) => ctx.problems?.get(spec.name)).find((p) => p !== undefined);
  const pendingInit = initialized ? undefined : initStatuses.find((s) => !(s.state === 'exited' && s.exitCode === 0));
  const ready: Condition = pendingInit
    ? { type: 'Ready', status: 'False', reason: 'ContainersNotInitialized', message: `init container ${pendingInit.name}: ${pendingInit.message ?? pendingInit.state}`, observedCommit: binding.commit }
    : notReady.length === 0
      ? { type: 'Ready', status: 'True', reason: 'ContainersReady', message: `${running}/${statuses.length} containers ${ctx.probes?.size ? 'ready' : 'running'}`, observedCommit: binding.commit }
      : {
          type: 'Ready',
          status: 'False',
          reason: firstProblem?.reason ?? (!finished ? 'ContainersNotReady' : statuses.every((s) => s.exitCode === 0) ? 'PodCompleted' : 'PodFailed'),
          message: notReady.map((s) => `${s.name}: ${unready(s) ?? s.state}`).join('; '),
          observedCommit: binding.commit,
        };
  // Kubernetes' lastTransitionTime: kept while the status stays, so a pod's time in Ready can be measured.
  const wasReady = prev?.conditions.find((c) => c.type === 'Ready');
  ready.lastTransitionTime = wasReady?.status === ready.status && wasReady.lastTransitionTime !== undefined ? wasReady.lastTransitionTime : now.toISOString();
  const conditions = [ready];
  if (inits.length > 0) {
    conditions.push(initialized
      ? { type: 'Initialized', status: 'True', reason: 'PodCompleted', message: `${inits.length}/${inits.length} init containers completed`, observedCommit: binding.commit }
      : { type: 'Initialized', status: 'False', reason: 'ContainersNotInitialized', message: ready.message, observedCommit: binding.commit });
  }
  const drifted = driftCondition(binding, prev, ctx.drift, running === statuses.length);
  if (drifted) conditions.push(drifted);

  return {
    type: 'podStatus',
    node: binding.node,
    namespace: binding.namespace,
    pod: binding.pod,
    templateHash: binding.templateHash,
    phase,
    containers: statuses,
    ...(inits.length === 0 ? {} : { initContainers: initStatuses }),
    conditions,
    observedAt: now.toISOString(),
    ...networkFields(ctx.network),
  };
}

function networkFields(n: PodNetwork | undefined): Pick<PodStatusRecord, 'podIP' | 'hostIP' | 'hostPorts'> {
  if (n === undefined) return {};
  return { ...(n.podIP === undefined ? {} : { podIP: n.podIP }), hostIP: n.hostIP, ...(n.hostPorts.length === 0 ? {} : { hostPorts: n.hostPorts }) };
}

function containerStatus(name: string, c: Container | undefined, restarts: number): ContainerStatus {
  if (!c) return { name, state: 'waiting', restarts, message: 'waiting to be created' };
  switch (c.state) {
    case 'running':
      return { name, id: c.id, state: 'running', restarts };
    case 'exited':
    case 'dead':
      return { name, id: c.id, state: 'exited', ...(c.exitCode === undefined ? {} : { exitCode: c.exitCode }), restarts, reason: terminationReason(c), message: exitText(c) };
    case 'created':
      return { name, id: c.id, state: 'waiting', restarts, message: c.error ? `cannot start: ${c.error}` : 'created, not started' };
    default:
      return { name, id: c.id, state: 'waiting', restarts, message: c.state };
  }
}

function restartsAfter(b: BindingRecord, s: ContainerStatus): boolean {
  return b.template.restartPolicy === 'Always' || (b.template.restartPolicy === 'OnFailure' && s.exitCode !== 0);
}

/**
 * Drifted: True while a drift seen this round is not yet healed, False/Healed once every container
 * runs again. The last drift stays on the record (until the template changes) so that a reader who
 * missed the moment still sees that it happened.
 */
function driftCondition(binding: BindingRecord, prev: PodStatusRecord | undefined, drift: ReadonlyMap<string, string> | undefined, allRunning: boolean): Condition | undefined {
  const base = { type: 'Drifted', observedCommit: binding.commit };
  if (drift && drift.size > 0) {
    const what = [...drift.values()].join('; ');
    return allRunning ? { ...base, status: 'False', reason: 'Healed', message: `${what}; restarted` } : { ...base, status: 'True', reason: 'Drifted', message: what };
  }
  const last = prev?.conditions.find((c) => c.type === 'Drifted');
  if (!last) return undefined;
  if (last.status === 'True' && allRunning) return { ...base, status: 'False', reason: 'Healed', message: `${last.message}; restarted` };
  return { ...last };
}

/** True when two statuses say the same thing (observedAt aside): then there is nothing to write. */
export function sameStatus(a: PodStatusRecord, b: PodStatusRecord): boolean {
  return JSON.stringify({ ...a, observedAt: '' }) === JSON.stringify({ ...b, observedAt: '' });
}
