// The node agent (kubelet-like): bindings in etcd → containers on this node's engine → pod status.
import type { Logger } from '../log.js';
import { messageOf } from '../errors.js';
import type { Store } from '../store/store.js';
import { commitChunked } from '../store/chunked.js';
import type { BindingRecord } from '../store/records.js';
import { SOURCES, bindingsPrefix, nodeKey, statusPrefix } from '../store/keys.js';
import { ConfigMapReader } from './configmaps.js';
import { SecretReader } from './secrets.js';
import type { AgeIdentities } from './age.js';
import { readsPodIP } from '../manifest/env-resolve.js';
import { PodVolumes, removePodVolumes } from './volumes.js';
import { EventRecorder, type EventInput } from '../events/recorder.js';
import type { Loop } from '../store/loop.js';
import { startLoop } from '../store/loop.js';
import type { Container, ContainerRuntime } from './runtime.js';
import { withPodAddresses } from './runtime.js';
import { DEFAULT_POD_NETWORK, DEFAULT_SANDBOX_IMAGE, NETWORK_LABEL, isSandbox, mayRunAlone, planAlone, planSandboxes, runningAlone, type SandboxOptions } from './sandbox.js';
import { PodNetwork } from './pod-network.js';
import { RefusedAddresses } from './pod-address.js';
import { LABEL, podRef } from './labels.js';
import { KUBERNETES_BACKOFF, planContainers, type BackOffSchedule, type ContainerAction } from './plan.js';
import { Applier } from './apply.js';
import { detectDrift, unsettledExits } from './status.js';
import { defaultAddress } from './address.js';
import { DEFAULT_NODE_LEASE, NodeRegistration, nodeRecord } from './registration.js';
import { etcdAnswers, selfFence } from './self-fence.js';
import { ImagePuller } from './images.js';
import type { ImageBackOffSchedule } from './pull-backoff.js';
import type { RegistryAuth } from './registry-auth.js';
import { PullStatus } from './pull-status.js';
import { refusedPods, type AllowRule } from './policy.js';
import { startServiceProxy, type ServiceProxy, type ServiceProxyOptions } from './services.js';
import { RoundReader } from './round-input.js';
import { PodProbes } from './pod-probes.js';
import { PodReporter } from './pod-report.js';
import { watchContainerEvents } from './container-events.js';
import { HeapPacer } from './heap-pacer.js';

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
  /** The operator's age identities (--age-key-file): what decrypts the sops Secrets of this node's pods; without them such a pod gets CreateContainerConfigError. */
  ageIdentities?: AgeIdentities;
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
  const podNet = new PodNetwork(runtime, sandbox.network, { [NETWORK_LABEL]: sandbox.network }, log, () => clock().getTime());
  const addresses = new RefusedAddresses();
  const applier = new Applier(runtime, log, grace, opts.createConcurrency ?? 4, images, podNet);
  let kick = (): void => undefined;
  let stopped = false;
  const registration = new NodeRegistration(store, nodeRecord({ node, labels: opts.labels, address, startedAt: clock() }), {
    ttlSeconds: opts.leaseTtlSeconds ?? DEFAULT_NODE_LEASE.ttlSeconds,
    renewMs: opts.leaseRenewMs ?? DEFAULT_NODE_LEASE.renewMs,
  }, () => {
    if (stopped) return;
    log.warn('node lease lost; registering again');
    // The node is NotReady now and, cut off from etcd, its pods may soon run elsewhere: stop them here first.
    if (opts.selfFence ?? true) void fenceIfCutOff().catch((err: unknown) => log.warn({ err: messageOf(err) }, 'self-fencing: cannot list this node\'s containers'));
    kick();
  });
  /** Self-fencing, unless etcd answers (then the node registers again before its pods could be moved). */
  const fenceIfCutOff = async (): Promise<void> => {
    if (await etcdAnswers(store)) {
      log.info('etcd answers: registering again, this node\'s pods keep running');
      return;
    }
    await selfFence(runtime, node, log);
  };
  const recorder = new EventRecorder({ store, component: `agent/${node}`, log, now: clock });
  let wakeTimer: NodeJS.Timeout | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let retries = 0;
  /** Set by a new lease: stale containers are removed before anything else (see reconcile). */
  let fencing = false;
  const configReader = new ConfigMapReader(store);
  const reader = new RoundReader(store, node, log);
  const secretReader = new SecretReader(store, opts.ageIdentities);
  const volumes = new PodVolumes(opts.dataDir ?? '.berth', node, log);
  const probes = new PodProbes({ runtime, log, recorder, kick: () => kick(), graceSeconds: grace, concurrency: opts.probeConcurrency ?? 16 });
  const reporter = new PodReporter(node, address, sandbox);

  const wakeAt = (at: number): void => {
    clearTimeout(wakeTimer);
    wakeTimer = setTimeout(() => kick(), Math.max(0, at - clock().getTime()));
    wakeTimer.unref();
  };

  const reconcile = async (): Promise<void> => {
    if (await registration.ensure()) fencing = true;
    const now = clock();
    const read = await reader.read();
    const { previous, statusKeys, backOff } = read;
    const configMaps = await configReader.read(read.bindings);
    const secrets = await secretReader.read(read.bindings);
    // A pod asking for what this node's operator did not allow gets no container (and no volume made); its status says which rule and flag.
    const refused = refusedPods(read.bindings, allow, node);
    const prepared = await volumes.prepare(refused.size === 0 ? read.bindings : read.bindings.filter((b) => !refused.has(podRef(b.namespace, b.pod))), configMaps, secrets);
    let observed = await listMine(runtime, node, applier.removingIds());
    // A pod whose container may just have been OOM-killed is held as it is until Docker says so (status.ts).
    const unsettled = unsettledExits(read.bindings, observed, now.getTime(), probes.killedIds());
    // A pod of one container runs as that container, at a static address of the pod network (sandbox.ts planAlone).
    // While the network cannot be read, a pod running so is held as it is, not moved into a sandbox.
    const statics = read.bindings.some(mayRunAlone) ? await podNet.statics() : undefined;
    const waiting = statics === 'unknown' ? new Set([...unsettled.pods, ...runningAlone(observed, node)]) : unsettled.pods;
    const bindings = waiting.size === 0 ? read.bindings : read.bindings.filter((b) => !waiting.has(podRef(b.namespace, b.pod)));
    const hold = waiting.size === 0 ? read.hold : new Set([...read.hold, ...waiting]);
    // Sandboxes first (sandbox.ts); plan.ts then plans the containers of the pods whose sandbox is ready.
    const held = refused.size === 0 ? hold : new Set([...hold, ...refused.keys()]);
    const planned = bindings.filter((b) => !refused.has(podRef(b.namespace, b.pod)));
    const alone = planAlone(planned.filter((b) => !held.has(podRef(b.namespace, b.pod))), observed, node, statics === 'unknown' ? undefined : statics, addresses.refused(observed, now.getTime()));
    const sandboxes = planSandboxes(planned, observed, { ...sandbox, hold: held, alone: new Set(alone.keys()) });
    const members = (all: Container[]): Container[] => all.filter((c) => !isSandbox(c) && !sandboxes.stranded.has(c.id));
    const drift = new Map(bindings.map((b) => [podRef(b.namespace, b.pod), detectDrift(b, previous.get(podRef(b.namespace, b.pod)), members(observed))]));
    // A container the agent stopped for a failed probe is being restarted, not drifting.
    const probeKilled = probes.killedIds();
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
      return b.template.hostNetwork === true && running !== undefined ? address : (running?.ip ?? alone.get(podRef(b.namespace, b.pod))?.ip);
    };
    const ready = bindings.filter((b) => {
      const ref = podRef(b.namespace, b.pod);
      return !sandboxes.waiting.has(ref) && !refused.has(ref) && (sandboxes.running.has(ref) || alone.has(ref) || !readsPodIP(b.template));
    });
    const actions = [
      ...sandboxes.actions,
      ...planContainers(ready, members(observed), { node, hostIp, now, backOff, hold: held, netns: sandboxes.netns, alone, schedule: opts.backOff ?? KUBERNETES_BACKOFF, probeKilled, configMaps, secrets, podIP,
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

    const events: EventInput[] = [];
    const verdicts = probes.run(bindings, observed, events);
    const puts = reporter.report({ bindings, previous, running, members: observed, result, sandboxes, alone, refused, drift, verdicts, pulled, began: now, at: clock() }, events);
    // Statuses of pods no longer bound here go; those of held (unreadable) bindings stay as they are.
    const boundRefs = new Set(bindings.map((b) => podRef(b.namespace, b.pod)));
    const del = statusKeys.filter((key) => {
      const ref = key.slice(statusPrefix(node).length);
      return !boundRefs.has(ref) && !hold.has(ref);
    });
    for (const e of events) log.info({ pod: e.object, reason: e.reason }, e.message);
    await commitChunked(store, puts, del);
    // A pod's volumes go with it: once it is not bound here and none of its containers is left.
    await removePodVolumes(runtime, volumes, node, new Set([...boundRefs, ...hold]), observed, log);
    await recorder.record(events);
    containerEvents.recovered();

    const wake = Math.min(result.wakeAt ?? Infinity, unsettled.at ?? Infinity);
    if (wake !== Infinity) wakeAt(wake);
    // A pod network that could not be read is asked again soon, as a failed Docker call is.
    retryLater(result.transient + (statics === 'unknown' ? 1 : 0), false);
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

  // Subscribe before the first list, so that no change falls between the two.
  const containerEvents = watchContainerEvents(runtime, node, log, () => kick());
  let loop: Loop;
  try {
    // After each round, the garbage of a burst of work is collected (heap-pacer.ts).
    const pacer = new HeapPacer();
    const paced = async (): Promise<void> => {
      try {
        await reconcile();
      } finally {
        pacer.check();
      }
    };
    loop = await startLoop({ store, log, watch: [bindingsPrefix(node), nodeKey(node), SOURCES], reconcile: paced, resyncMs: opts.resyncMs ?? 30_000 });
  } catch (err) {
    stopped = true;
    await containerEvents.close();
    throw err;
  }
  kick = loop.kick;
  let services: ServiceProxy | undefined;
  if (opts.services !== undefined) {
    try {
      services = await startServiceProxy({ ...opts.services, store, log: parent, node, hostIp });
    } catch (err) {
      stopped = true;
      await containerEvents.close();
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
      clearTimeout(wakeTimer);
      clearTimeout(retryTimer);
      probes.stop();
      await containerEvents.close();
      await loop.stop();
      await probes.settled();
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
