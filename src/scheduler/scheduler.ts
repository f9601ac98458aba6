import type { Logger } from '../log.js';
import { CORDONS, NODES, PODS, WatchCache, nodeKey, podKey, rerunWhileLosing, startKeyedLoop, type Batch, type PodRecord, type Store } from '../store/index.js';
import { ReportOnce } from '../report-once.js';
import { commitBinds } from './bind.js';
import { EventRecorder, type EventInput } from '../events/recorder.js';
import { DEFAULT_PROFILE, schedule, type Profile } from './schedule.js';
import { podInfo, type PodInfo } from './framework.js';
import { NodeUsages } from './usage.js';

/** How to run the scheduler. */
export interface SchedulerOptions {
  store: Store;
  log: Logger;
  /** Period of the pass over everything without events (default: the keyed loop's KEYED_RESYNC_MS, 5 min). */
  resyncMs?: number;
  profile?: Profile;
  /** The clock of its events (tests pass their own). */
  now?: () => Date;
}

/** A running scheduler. */
export interface Scheduler {
  stop(): Promise<void>;
  /** Resolves once no reconcile is running or pending. */
  idle(): Promise<void>;
}

/**
 * Pods placed in one round at most; the others wait for the next (queued again). A round's binds,
 * records and events are in memory together: a commit of 30,000 pods is bound in rounds, not at once.
 */
const MAX_ROUND = 2000;

/**
 * Bind unbound pods to nodes, from memory: pods and nodes are kept by watch caches, and a work
 * queue holds the unbound pods to place (kube-scheduler's active queue). Each pass places the
 * queued pods with the pure `schedule` against every bound pod and node in the caches, and binds
 * each placement with compare-and-swap on the pod (and its node), so a pod is bound once. A pod no
 * node can take waits (the unschedulable queue) until a node changes or a bound pod goes; a bind,
 * a status write or a pod created bound wakes nothing.
 * NOTE: CAS makes each bind exactly-once, not capacity-safe between two *active* schedulers (each
 * may fill the same node from its own view); HA runs one leader, as Kubernetes does.
 */
export async function startScheduler(opts: SchedulerOptions): Promise<Scheduler> {
  const { store } = opts;
  const log = opts.log.child({ component: 'scheduler' });
  const profile = opts.profile ?? DEFAULT_PROFILE;
  const once = new ReportOnce();
  const recorder = new EventRecorder({ store, component: 'scheduler', log, ...(opts.now ? { now: opts.now } : {}) });
  // Where the next round's search for nodes starts: rounds rotate over the nodes (schedule's `start`).
  let start = 0;
  // What each pod record asks for, worked out once: the cache's records are never changed in place.
  const infos = new WeakMap<PodRecord, PodInfo>();
  const infoOf = (pod: PodRecord): PodInfo => {
    let info = infos.get(pod);
    if (info === undefined) infos.set(pod, (info = podInfo(pod)));
    return info;
  };
  /** Unbound pods no node could take in their last round: back in the queue when the cluster changes. */
  const waiting = new Set<string>();
  let requeueWaiting = (): void => undefined;
  let add = (_key: string): void => undefined;
  let addAll = (): void => undefined;

  // What the bound pods hold per node, kept as pods are bound and go (built at the first pass, and again after a re-list).
  let usages: NodeUsages | undefined;
  const pods = await WatchCache.open(store, PODS, 'pod', log, (key, before) => {
    if (key === undefined) {
      usages = undefined;
      return addAll();
    }
    const after = pods.get(key);
    if (usages !== undefined && before !== after) {
      if (before !== undefined) usages.remove(before, infoOf(before));
      if (after !== undefined) usages.add(after, infoOf(after));
    }
    if (after !== undefined && after.node === undefined) return add(key);
    waiting.delete(key);
    // A bound pod gone (or moved) frees room on its node.
    if (before?.node !== undefined && after?.node !== before.node) requeueWaiting();
  });
  const nodes = await WatchCache.open(store, NODES, 'node', log, (key) => (key === undefined ? addAll() : requeueWaiting())).catch(async (err: unknown) => {
    await pods.close();
    throw err;
  });
  // Cordoned nodes (`berth cordon`) take no new pod; an uncordon may let waiting pods on.
  const cordons = await WatchCache.open(store, CORDONS, 'cordon', log, (key) => (key === undefined ? addAll() : requeueWaiting())).catch(async (err: unknown) => {
    await Promise.allSettled([pods.close(), nodes.close()]);
    throw err;
  });

  /** One schedule-bind pass over the queued pods; resolves to 1 when a bind lost a race and the view is stale, else 0. */
  const pass = async (batch: Batch): Promise<number> => {
    const unbound: PodRecord[] = [];
    const podRevisions = new Map<string, number>();
    // The queued pods only (every pod on a resync): what the bound ones hold is in `usages`.
    let looked = 0;
    for (const key of batch.all ? pods.records.keys() : batch.keys) {
      looked++;
      const cached = pods.records.get(key);
      if (cached === undefined || cached.record.node !== undefined) continue;
      if (unbound.length >= MAX_ROUND) add(key);
      else {
        unbound.push(cached.record);
        podRevisions.set(key, cached.modRevision);
      }
    }
    log.debug({ pods: unbound.length, all: batch.all, looked }, 'scheduling round');
    if (unbound.length === 0) {
      await recorder.post([]);
      return 0;
    }
    const nodeRevisions = new Map([...nodes.records.values()].map(({ record, modRevision }) => [record.name, modRevision]));
    const unschedulable = new Set([...cordons.records.values()].map((c) => c.record.name));
    usages ??= NodeUsages.of([...pods.records.values()].map((c) => c.record), infoOf);
    const result = schedule(unbound, [...nodes.records.values()].map((n) => n.record), usages, profile, { start, unschedulable, podInfo: infoOf });
    start = result.nextStart;
    const events: EventInput[] = [];
    for (const { pod, reason } of result.unschedulable) {
      waiting.add(podKey(pod.namespace, pod.name));
      if (once.fresh(podKey(pod.namespace, pod.name), reason)) log.warn({ pod: `${pod.namespace}/${pod.name}`, reason }, 'pod unschedulable');
      // Every attempt, as Kubernetes counts them; the recorder folds the repeats into one record.
      events.push({ object: `pod/${pod.namespace}/${pod.name}`, reason: 'FailedScheduling', message: reason, severity: 'Warning' });
    }

    const { bound, lost, lostBinds } = await commitBinds(store, result.bind, { pods: podRevisions, nodes: nodeRevisions }, (batch, revision) => {
      for (const b of batch) {
        // Held at once: the next pass must not place it again before the watch brings the write back.
        pods.remember(podKey(b.pod.namespace, b.pod.name), { ...b.pod, node: b.node }, revision);
        log.debug({ pod: `${b.pod.namespace}/${b.pod.name}`, node: b.node }, 'pod bound');
        events.push({ object: `pod/${b.pod.namespace}/${b.pod.name}`, reason: 'Scheduled', message: `Successfully assigned ${b.pod.namespace}/${b.pod.name} to ${b.node}`, at: new Date() });
      }
    });
    await recorder.post(events);
    // Pods placed after a lost bind were placed on a view that is now stale (pod or node changed): read them again and re-plan.
    if (lost) {
      await pods.refresh(lostBinds.map((b) => podKey(b.pod.namespace, b.pod.name)));
      await nodes.refresh(new Set(lostBinds.map((b) => nodeKey(b.node))));
      for (const b of result.bind) add(podKey(b.pod.namespace, b.pod.name));
      if (bound > 0) log.info({ bound }, 'pods bound');
      return 1;
    }
    if (bound > 0) log.info({ bound, unschedulable: result.unschedulable.length }, 'pods bound');
    return 0;
  };

  const loop = await startKeyedLoop({
    store, log, ...(opts.resyncMs === undefined ? {} : { resyncMs: opts.resyncMs }),
    work: async (batch) => {
      await rerunWhileLosing(() => pass(batch), {
        code: 'EBINDRACE',
        message: () => 'pods or nodes kept changing while binding',
        hint: 'run one scheduler (`berth scheduler` or `berth up`) per etcd --prefix (they elect one leader; a second writer is something else writing the same keys); this pass is retried',
        onRetry: (_lost, attempt) => log.debug({ attempt }, 'a bind lost a race; re-reading'),
      });
      if (batch.all) once.endRound();
    },
  }).catch(async (err: unknown) => {
    await Promise.allSettled([pods.close(), nodes.close(), cordons.close()]);
    throw err;
  });
  add = loop.add;
  addAll = loop.addAll;
  requeueWaiting = () => {
    for (const key of waiting) loop.add(key);
    waiting.clear();
  };
  loop.addAll();
  return {
    stop: async () => {
      await Promise.allSettled([pods.close(), nodes.close(), cordons.close()]);
      await loop.stop();
      await recorder.flush();
    },
    idle: () => loop.idle(),
  };
}
