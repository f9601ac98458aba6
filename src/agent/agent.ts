// The node agent (kubelet-like): bindings in etcd → containers on this node's engine → pod status.
import { driftEvents, healSeconds } from '../metrics.js';
import type { Logger } from '../log.js';
import { messageOf } from '../errors.js';
import type { Closer, Entry, PutOp, Store } from '../store/store.js';
import { commitChunked } from '../store/chunked.js';
import type { BindingRecord, PodStatusRecord, StoredBinding } from '../store/records.js';
import { decode, encode } from '../store/records.js';
import { SOURCES, bindingsPrefix, nodeKey, statusKey, statusPrefix } from '../store/keys.js';
import { ConfigMapReader } from './configmaps.js';
import { BoundPods } from './bound.js';
import { readsPodIP } from '../manifest/env.js';
import { PodVolumes, removePodVolumes } from './volumes.js';
import { byName, namesIn, recreated, strandedNow } from './pod-slots.js';
import { EventRecorder, type EventInput } from '../events/recorder.js';
import type { Loop } from '../store/loop.js';
import { startLoop } from '../store/loop.js';
import type { Container, ContainerRuntime } from './runtime.js';
import { withPodAddresses } from './runtime.js';
import { DEFAULT_POD_NETWORK, DEFAULT_SANDBOX_IMAGE, NETWORK_LABEL, isSandbox, planSandboxes, runningSandbox, type SandboxOptions } from './sandbox.js';
import { LABEL, podRef, slotKey } from './labels.js';
import { KUBERNETES_BACKOFF, planContainers, type BackOffSchedule, type ContainerAction } from './plan.js';
import { Applier } from './apply.js';
import { detectDrift, podNetwork, podStatus, sameStatus } from './status.js';
import { defaultAddress } from './address.js';
import { DEFAULT_NODE_LEASE, NodeRegistration, nodeRecord } from './registration.js';
import { selfFence } from './self-fence.js';
import { Prober, type ProbeTarget } from './prober.js';
import type { ProbeVerdict } from './probe-core.js';
import { probesOf } from './probe-core.js';
import { containersOf } from './status.js';
import { stopContainer, stopPlanOf } from './stop.js';
import { ImagePuller } from './images.js';
import type { ImageBackOffSchedule } from './pull-backoff.js';
import type { RegistryAuth } from './registry-auth.js';
import { PullStatus } from './pull-status.js';
import { refusedPods, type AllowRule } from './policy.js';
import { startServiceProxy, type ServiceProxy, type ServiceProxyOptions } from './services.js';

/** How to run an agent. */
export interface AgentOptions {
  store: Store;
  runtime: ContainerRuntime;
  /** This node's name: the `bindings/<node>/` it serves and the `berth.node` label it owns. */
  node: string;
  log: Logger;
  /** Extra node labels for the scheduler's nodeSelector. */
  labels?: Record<string, string>;
  /** Address host ports bind to (default 0.0.0.0). */
  hostIp?: string;
  /** Full reconcile even without events (default 30 s). */
  resyncMs?: number;
  /** SIGTERM → SIGKILL grace when removing a container whose pod sets no terminationGracePeriodSeconds (default Kubernetes' 30 s). */
  stopGraceSeconds?: number;
  /** TTL of the node's lease (default 4 s): how long a dead agent's node stays Ready. Stretched in large clusters (leaseTiming). */
  leaseTtlSeconds?: number;
  /** How often the node's lease is renewed (default 1 s). */
  leaseRenewMs?: number;
  /** The node's address for other nodes, in the node record and pod status hostIP (default: defaultAddress()). */
  address?: string;
  /** The Docker network pod sandboxes attach to, made when missing (default `berth`); agents on one engine may share it. */
  podNetwork?: string;
  /** The image of pod sandboxes (default berth/sandbox:1, built by scripts/build-image.sh --sandbox). */
  sandboxImage?: string;
  /** Containers created at once (default 4). */
  createConcurrency?: number;
  /** Probe runs at once, over all containers (default 16). */
  probeConcurrency?: number;
  /**
   * Crash-loop back-off of restarted containers (default Kubernetes': 10 s doubling to 5 min, reset
   * after 10 min of running).
   */
  backOff?: BackOffSchedule;
  /** The operator's registry credentials (`~/.docker/config.json` or `--registry-auth-file`); none: anonymous pulls. */
  registryAuth?: RegistryAuth;
  /** Back-off of failed pulls, per pod and image (default kubelet's: 10 s doubling to 5 min). */
  imageBackOff?: ImageBackOffSchedule;
  /** What only this node's operator may allow and did (`--allow`); a pod asking for anything else is refused. */
  allow?: ReadonlySet<AllowRule>;
  /** The clock (tests pass their own). */
  now?: () => Date;
  /** Where pod volumes live on this host, under `pods/<node>/` (default: .berth in the working folder, as --data-dir). */
  dataDir?: string;
  /**
   * Stop this node's pods when its lease expires (default true): an agent cut off from etcd knows its
   * pods will be made again elsewhere, and stops them so that none runs twice (self-fence.ts).
   */
  selfFence?: boolean;
  /** Serve Services on this node (services.ts): Service stubs on this pod network, from this image. */
  services?: Pick<ServiceProxyOptions, 'stubs' | 'network' | 'image' | 'resyncMs'>;
}

/** A running agent. */
export interface Agent {
  /** Stop watching and revoke the node's lease. Containers are left running (see startAgent). */
  stop(): Promise<void>;
  /** Resolves once no reconcile is running or pending and no removal is in progress. */
  idle(): Promise<void>;
}

/** Kubernetes' default terminationGracePeriodSeconds. */
const DEFAULT_GRACE_SECONDS = 30;

/** Docker actions that can change what the plan decides (exec and attach churn are ignored). */
const WAKING = new Set(['create', 'start', 'die', 'stop', 'destroy', 'oom', 'pause', 'unpause', 'rename', 'update']);

/**
 * Start the agent of `node`: register the node on a lease, then converge this node's containers to
 * its bindings on every binding change, Docker event and resync, and write each pod's status.
 * It only ever touches containers labelled `berth.node=<node>`.
 * stop() leaves containers running, as kubelet does: an agent upgrade or restart must not take the
 * workloads down. A node whose agent is gone loses its `nodes/` key with the lease (NotReady); after
 * the controller's --node-grace its pods are made again elsewhere. An agent of the same name that
 * returns with pods still bound to it picks them up; one whose pods were moved first removes their
 * containers (fencing, in reconcile).
 */
export async function startAgent(opts: AgentOptions): Promise<Agent> {
  const { store, runtime, node, log: parent } = opts;
  const log = parent.child({ component: 'agent', node });
  const hostIp = opts.hostIp ?? '0.0.0.0';
  const clock = opts.now ?? (() => new Date());
  const allow = opts.allow ?? new Set<AllowRule>();
  const address = opts.address ?? defaultAddress();
  await runtime.ping();

  const sandbox: SandboxOptions = { node, hostIp, image: opts.sandboxImage ?? DEFAULT_SANDBOX_IMAGE, network: opts.podNetwork ?? DEFAULT_POD_NETWORK };
  await opts.registryAuth?.check();
  const pullStatus = new PullStatus(store, log);
  const images = new ImagePuller(runtime, log, {
    ...(opts.registryAuth ? { auth: opts.registryAuth } : {}),
    ...(opts.imageBackOff ? { schedule: opts.imageBackOff } : {}),
    now: () => clock().getTime(),
    onProgress: (slots, _image, line) => pullStatus.report(slots, line, clock()),
  });
  const grace = opts.stopGraceSeconds ?? DEFAULT_GRACE_SECONDS;
  const applier = new Applier(runtime, log, grace, opts.createConcurrency ?? 4, images, { name: sandbox.network, labels: { [NETWORK_LABEL]: sandbox.network } });
  let kick = (): void => undefined;
  let stopped = false;
  const registration = new NodeRegistration(store, nodeRecord({ node, labels: opts.labels, address, startedAt: clock() }), {
    ttlSeconds: opts.leaseTtlSeconds ?? DEFAULT_NODE_LEASE.ttlSeconds,
    renewMs: opts.leaseRenewMs ?? DEFAULT_NODE_LEASE.renewMs,
  }, () => {
    if (stopped) return;
    log.warn('node lease lost; registering again');
    // The node is NotReady now and its pods may soon run elsewhere: stop them here first.
    if (opts.selfFence ?? true) void selfFence(runtime, node, log).catch((err: unknown) => log.warn({ err: messageOf(err) }, 'self-fencing: cannot list this node\'s containers'));
    kick();
  });
  const recorder = new EventRecorder({ store, component: `agent/${node}`, log, now: clock });
  let wakeTimer: NodeJS.Timeout | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let retries = 0;
  /** Set by a new lease: stale containers are removed before anything else (see reconcile). */
  let fencing = false;
  let dockerEvents: Closer | undefined;
  let reopenTimer: NodeJS.Timeout | undefined;
  /** Consecutive breaks of the Docker event stream; a successful reconcile means Docker is back. */
  let eventFailures = 0;
  const badKeys = new Set<string>();
  const configReader = new ConfigMapReader(store);
  const boundPods = new BoundPods(store, log);
  const volumes = new PodVolumes(opts.dataDir ?? '.berth', node, log);
  const prober = new Prober(
    runtime,
    {
      changed: () => kick(),
      unhealthy: (t, kind, message) => {
        const what = `${kind[0]?.toUpperCase() ?? ''}${kind.slice(1)} probe failed: ${message}`;
        log.info({ pod: t.object, container: t.container, probe: kind }, what);
        void recorder.record([{ object: t.object, reason: 'Unhealthy', message: what, severity: 'Warning' }]).catch(() => undefined);
      },
    },
    log,
    opts.probeConcurrency ?? 16,
  );
  /** Containers stopped because a liveness or startup probe failed: their exit is a restart, not drift. */
  const probeKilled = new Map<string, number>(); // container id → startedAt of the run that was stopped
  const probeStops = new Set<Promise<void>>();

  const wakeAt = (at: number): void => {
    clearTimeout(wakeTimer);
    wakeTimer = setTimeout(() => kick(), Math.max(0, at - clock().getTime()));
    wakeTimer.unref();
  };

  // When each pod's drift was first seen, for the heal time on /metrics (an agent restart forgets it).
  const driftSeen = new Map<string, number>();
  const reconcile = async (): Promise<void> => {
    if (await registration.ensure()) fencing = true;
    const now = clock();
    const [bound, written] = await Promise.all([store.list(bindingsPrefix(node)), store.list(statusPrefix(node))]);
    const stored: { binding: StoredBinding; entry: Entry }[] = [];
    const hold = new Set<string>();
    for (const e of bound.entries) {
      try {
        const b = decode('binding', e.key, e.value);
        stored.push({ binding: b.node === node ? b : { ...b, node }, entry: e });
      } catch (err) {
        // Kubelet's rule: never delete what it was not told about. Keep that pod's containers as they are.
        const rel = e.key.slice(bindingsPrefix(node).length);
        hold.add(rel);
        if (!badKeys.has(`${e.key}@${e.modRevision}`)) log.error({ key: e.key, err: messageOf(err) }, 'unreadable binding; leaving its containers alone');
        badKeys.add(`${e.key}@${e.modRevision}`);
      }
    }
    const joined = await boundPods.join(stored, bound.revision);
    const bindings = joined.bindings;
    for (const ref of joined.hold) hold.add(ref);
    const previous = new Map<string, PodStatusRecord>();
    for (const e of written.entries) {
      try {
        previous.set(e.key.slice(statusPrefix(node).length), decode('podStatus', e.key, e.value));
      } catch {
        // An unreadable status is simply rewritten below.
      }
    }

    // The back-off lives in the pod status in etcd, so an agent restart (or a new agent of this node) keeps it.
    const backOff = new Map<string, number>();
    for (const b of bindings) {
      const prev = previous.get(podRef(b.namespace, b.pod));
      if (prev?.templateHash !== b.templateHash) continue;
      // A status written before berth kept `backOff` counts every restart as part of the loop.
      for (const c of [...(prev.initContainers ?? []), ...prev.containers]) backOff.set(slotKey(b.namespace, b.pod, c.name), c.backOff ?? c.restarts);
    }

    const configMaps = await configReader.read(bindings);
    // A pod asking for what this node's operator did not allow gets no container (and no volume made); its status says which rule and flag.
    const refused = refusedPods(bindings, allow, node);
    const prepared = await volumes.prepare(refused.size === 0 ? bindings : bindings.filter((b) => !refused.has(podRef(b.namespace, b.pod))), configMaps);
    let observed = await listMine(runtime, node, applier.removingIds());
    // Sandboxes first (sandbox.ts); plan.ts then plans the containers of the pods whose sandbox is ready.
    const held = refused.size === 0 ? hold : new Set([...hold, ...refused.keys()]);
    const sandboxes = planSandboxes(bindings.filter((b) => !refused.has(podRef(b.namespace, b.pod))), observed, { ...sandbox, hold: held });
    const members = (all: Container[]): Container[] => all.filter((c) => !isSandbox(c) && !sandboxes.stranded.has(c.id));
    const drift = new Map(bindings.map((b) => [podRef(b.namespace, b.pod), detectDrift(b, previous.get(podRef(b.namespace, b.pod)), members(observed))]));
    // A container the agent stopped for a failed probe is being restarted, not drifting.
    for (const [ref, found] of drift) for (const c of previous.get(ref)?.containers ?? []) if (c.id !== undefined && probeKilled.has(c.id)) found.delete(c.name);
    pullStatus.begin(bindings, observed, previous);
    // A dead sandbox is the drift; its containers going with it are what the agent does about it.
    for (const [ref, what] of sandboxes.changed) drift.set(ref, new Map([['', what]]));
    // A pod whose env reads status.podIP waits for its sandbox to run (its containers need the address); until
    // then all its containers are stranded, so leaving it out of the plan removes none of them.
    // A pod on the node's network (hostNetwork) has the node's address, as Kubernetes reports it (Docker's
    // own address of such a container is only where the agent reaches it, for probes).
    const podIP = (b: BindingRecord): string | undefined => {
      const running = sandboxes.running.get(podRef(b.namespace, b.pod));
      return b.template.hostNetwork === true && running !== undefined ? address : running?.ip;
    };
    const ready = bindings.filter((b) => {
      const ref = podRef(b.namespace, b.pod);
      return !sandboxes.waiting.has(ref) && !refused.has(ref) && (sandboxes.running.has(ref) || !readsPodIP(b.template));
    });
    const actions = [
      ...sandboxes.actions,
      ...planContainers(ready, members(observed), { node, hostIp, now, backOff, hold: held, netns: sandboxes.netns, schedule: opts.backOff ?? KUBERNETES_BACKOFF, probeKilled: new Set(probeKilled.keys()), configMaps, podIP,
        mounts: (b, spec) => prepared.get(podRef(b.namespace, b.pod))?.mounts(spec) ?? [] }),
    ];
    // Fencing: with a new lease (at start, or back after losing one) this node's pods may have been moved
    // elsewhere meanwhile. Until the containers of pods not bound here are gone (members first, then
    // their sandboxes, which hold the pod's ports), a round removes them and does nothing else.
    const stale = fencing ? staleRemovals(actions, new Set(bindings.map((b) => podRef(b.namespace, b.pod)))) : [];
    if (stale.length > 0) {
      log.info({ containers: stale.length }, 'fencing: removing the containers of pods no longer bound here before anything starts');
      retryLater((await applier.apply(stale)).transient, true);
      return;
    }
    fencing = false;
    const result = await applier.apply(actions);
    // Statuses written while pulling are rewritten below, even where the round's status equals the last one.
    const pulled = await pullStatus.end();
    // Recorded at once: what was done stays done even if writing the statuses fails below.
    await recorder.record(result.events);
    if (result.changed) observed = await listMine(runtime, node, applier.removingIds());
    const running = observed;
    observed = members(observed);

    const puts: PutOp[] = [];
    const events: EventInput[] = [];
    const at = clock();
    const verdicts = probe(bindings, observed, events);
    for (const b of bindings) {
      const ref = podRef(b.namespace, b.pod);
      const prev = previous.get(ref);
      const podDrift = drift.get(ref) ?? new Map<string, string>();
      const status = podStatus(b, observed, at, {
        ...(prev ? { previous: prev } : {}),
        restarted: namesIn(b, result.restarted, [...recreated(b, prev, result.created), ...strandedNow(b, prev, sandboxes.stranded)]),
        problems: refused.get(ref) ?? byName(b, result.problems),
        backOff: byName(b, result.backOff),
        ended: byName(b, result.ended),
        drift: podDrift,
        probes: verdicts.get(ref) ?? new Map<string, ProbeVerdict>(),
        network: podNetwork(runningSandbox(b, running, sandbox), address, b.template.hostNetwork === true ? b.template.containers : undefined),
      });
      if (!prev || !sameStatus(prev, status) || pulled.has(ref)) {
        puts.push({ key: statusKey(node, b.namespace, b.pod), value: encode(status) });
        const no = refused.get(ref)?.values().next().value;
        if (no !== undefined) events.push({ object: `pod/${ref}`, reason: no.reason, message: no.message, severity: 'Warning' });
      }
      for (const what of podDrift.values()) events.push({ object: `pod/${ref}`, reason: 'Drifted', message: what, severity: 'Warning' });
      if (podDrift.size > 0) {
        driftEvents.inc({ node });
        if (!driftSeen.has(ref)) driftSeen.set(ref, now.getTime());
      }
      if (sandboxes.changed.has(ref)) events.push({ object: `pod/${ref}`, reason: 'SandboxChanged', message: 'Pod sandbox changed, it will be killed and re-created.' });
      const healed = status.conditions.find((c) => c.type === 'Drifted' && c.reason === 'Healed');
      const wasHealed = prev?.conditions.find((c) => c.type === 'Drifted' && c.reason === 'Healed');
      if (healed && healed.message !== wasHealed?.message) {
        events.push({ object: `pod/${ref}`, reason: 'Healed', message: healed.message });
        const seen = driftSeen.get(ref);
        driftSeen.delete(ref);
        if (seen !== undefined) healSeconds.observe({ node }, Math.max(0, now.getTime() - seen) / 1000);
      }
    }
    // Statuses of pods no longer bound here go; those of held (unreadable) bindings stay as they are.
    const boundRefs = new Set(bindings.map((b) => podRef(b.namespace, b.pod)));
    const del = written.entries.map((e) => e.key).filter((key) => {
      const ref = key.slice(statusPrefix(node).length);
      return !boundRefs.has(ref) && !hold.has(ref);
    });
    for (const e of events) log.info({ pod: e.object, reason: e.reason }, e.message);
    await commitChunked(store, puts, del);
    // A pod's volumes go with it: once it is not bound here and none of its containers is left.
    await removePodVolumes(runtime, volumes, node, new Set([...boundRefs, ...hold]), observed, log);
    await recorder.record(events);
    eventFailures = 0;

    if (result.wakeAt !== undefined) wakeAt(result.wakeAt);
    retryLater(result.transient, false);
  };

  /** A transient failure (a pull that timed out, a port still held) is retried soon, with back-off; `more` asks for another round now. */
  const retryLater = (transient: number, more: boolean): void => {
    clearTimeout(retryTimer);
    if (transient > 0) {
      retries++;
      retryTimer = setTimeout(() => kick(), Math.min(30_000, 1000 * 2 ** (retries - 1)));
      retryTimer.unref();
      return;
    }
    retries = 0;
    if (more) kick();
  };

  /**
   * Hand the running, probed containers to the prober and read its verdicts (per pod, per container
   * name). A container whose liveness or startup probe failed is stopped here, in the background,
   * with its pod's grace period; the plan then starts it again as a restart.
   */
  const probe = (bindings: BindingRecord[], observed: Container[], events: EventInput[]): Map<string, Map<string, ProbeVerdict>> => {
    const targets: ProbeTarget[] = [];
    const out = new Map<string, Map<string, ProbeVerdict>>();
    for (const b of bindings) {
      const mine = containersOf(b, observed);
      for (const spec of b.template.containers) {
        const c = mine.get(spec.name);
        const probes = probesOf(spec);
        if (!c || c.state !== 'running' || c.startedAt === undefined || Object.keys(probes).length === 0) continue;
        const object = `pod/${podRef(b.namespace, b.pod)}`;
        targets.push({ key: `${c.id}@${c.startedAt}`, id: c.id, ...(c.ip === undefined ? {} : { ip: c.ip }), ports: spec.ports, object, container: spec.name, probes, startedAt: Date.parse(c.startedAt) });
      }
    }
    prober.sync(targets);
    // Forget a stopped run once its container runs again (a later kill from outside is drift again) or is gone.
    for (const [id, started] of probeKilled) {
      const c = observed.find((o) => o.id === id);
      if (!c || (c.state === 'running' && c.startedAt !== undefined && Date.parse(c.startedAt) !== started)) probeKilled.delete(id);
    }
    for (const t of targets) {
      const v = prober.verdict(t.key);
      if (!v) continue;
      const ref = t.object.slice('pod/'.length);
      out.set(ref, (out.get(ref) ?? new Map<string, ProbeVerdict>()).set(t.container, v));
      if (v.restart === undefined || probeKilled.get(t.id) === t.startedAt) continue;
      probeKilled.set(t.id, t.startedAt);
      const c = observed.find((o) => o.id === t.id);
      events.push({ object: t.object, reason: 'Killing', message: `Container ${t.container} failed ${v.restart.kind} probe, will be restarted` });
      log.info({ pod: t.object, container: t.container }, v.restart.message);
      const hookFailed = (message: string): void => void recorder.record([{ object: t.object, reason: 'FailedPreStopHook', message, severity: 'Warning' }]).catch(() => undefined);
      const stopping = stopContainer(runtime, { id: t.id, ...(t.ip === undefined ? {} : { ip: t.ip }), running: true }, stopPlanOf(c ?? { labels: {} }, grace), log, hookFailed)
        .catch((err: unknown) => log.warn({ container: t.id, err: messageOf(err) }, 'cannot stop an unhealthy container'))
        .finally(() => {
          probeStops.delete(stopping);
          kick();
        });
      probeStops.add(stopping);
    }
    return out;
  };

  const watchRuntime = (): void => {
    dockerEvents = runtime.events(
      { [LABEL.node]: node },
      (e) => {
        if (WAKING.has(e.action)) kick();
      },
      (err) => {
        if (stopped) return;
        eventFailures++;
        // Logged once per outage; reopened with back-off, then a reconcile for what was missed meanwhile.
        if (eventFailures === 1) log.warn({ err: messageOf(err) }, 'container events broke; reopening');
        reopenTimer = setTimeout(() => {
          if (stopped) return;
          watchRuntime();
          kick();
        }, Math.min(10_000, 1000 * 2 ** (eventFailures - 1)));
        reopenTimer.unref();
      },
    );
  };
  // Subscribe before the first list, so that no change falls between the two.
  watchRuntime();
  let loop: Loop;
  try {
    loop = await startLoop({ store, log, watch: [bindingsPrefix(node), nodeKey(node), SOURCES], reconcile, resyncMs: opts.resyncMs ?? 30_000 });
  } catch (err) {
    stopped = true;
    clearTimeout(reopenTimer);
    await dockerEvents?.close();
    throw err;
  }
  kick = loop.kick;
  let services: ServiceProxy | undefined;
  if (opts.services !== undefined) {
    try {
      services = await startServiceProxy({ ...opts.services, store, log: parent, node, hostIp });
    } catch (err) {
      stopped = true;
      await dockerEvents?.close();
      await loop.stop();
      throw err;
    }
  }

  return {
    idle: async () => {
      await loop.idle();
      await applier.drain();
      await loop.idle();
    },
    stop: async () => {
      stopped = true;
      // The stubs stay: Services keep forwarding while no agent runs.
      await services?.stop();
      clearTimeout(reopenTimer);
      clearTimeout(wakeTimer);
      clearTimeout(retryTimer);
      prober.stop();
      await dockerEvents?.close();
      await loop.stop();
      await Promise.allSettled([...probeStops]);
      await applier.drain();
      await recorder.flush();
      await registration.revoke();
    },
  };
}

/** The removals among `actions` of containers of pods not in `bound`, as phase 1: the applier waits until they are done. */
function staleRemovals(actions: ContainerAction[], bound: ReadonlySet<string>): ContainerAction[] {
  return actions.flatMap((a) => (a.kind === 'remove' && a.pod !== undefined && !bound.has(a.pod) ? [{ ...a, phase: 1 as const }] : []));
}

/** This node's containers; the label filter is checked again here, so nothing else is ever planned over. */
async function listMine(runtime: ContainerRuntime, node: string, removing: ReadonlySet<string>): Promise<Container[]> {
  return withPodAddresses((await runtime.list({ [LABEL.node]: node }, { brief: removing })).filter((c) => c.labels[LABEL.node] === node));
}
