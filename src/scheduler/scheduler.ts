import type { Logger } from '../log.js';
import { NODES, PODS, listDecoded, podKey, rerunWhileLosing, startLoop, type Decoded, type PodRecord, type Store } from '../store/index.js';
import { ReportOnce, reportCorrupt } from '../report-once.js';
import { commitBinds } from './bind.js';
import { EventRecorder, type EventInput } from '../events/recorder.js';
import { DEFAULT_PROFILE, schedule, type Profile } from './schedule.js';

/** How to run the scheduler. */
export interface SchedulerOptions {
  store: Store;
  log: Logger;
  /** Full reconcile period without events (default: the loop's 30 s). */
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
 * Bind unbound pods to nodes: on any change to pods or nodes, list both, run the pure `schedule`,
 * and bind each placement with compare-and-swap on the pod (and its node), so a pod is bound once.
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

  const read = async <T extends 'pod' | 'node'>(prefix: string, type: T): Promise<Decoded<T>['items']> =>
    (await listDecoded(store, prefix, type, { onCorrupt: reportCorrupt(log, once, `${type} record`) })).items;

  /** One read-schedule-bind pass; resolves to 1 when a bind lost a race and the view is stale, else 0. */
  const pass = async (): Promise<number> => {
    const pods = await read(PODS, 'pod');
    const nodes = await read(NODES, 'node');
    const unbound: PodRecord[] = [];
    const placed: PodRecord[] = [];
    const podRevisions = new Map<string, number>();
    for (const { record, entry } of pods) {
      podRevisions.set(entry.key, entry.modRevision);
      (record.node === undefined ? unbound : placed).push(record);
    }
    if (unbound.length === 0) {
      await recorder.record([]);
      return 0;
    }
    const nodeRevisions = new Map(nodes.map(({ record, entry }) => [record.name, entry.modRevision]));

    const result = schedule(unbound, nodes.map((n) => n.record), placed, profile, { start });
    start = result.nextStart;
    const events: EventInput[] = [];
    for (const { pod, reason } of result.unschedulable) {
      if (once.fresh(podKey(pod.namespace, pod.name), reason)) log.warn({ pod: `${pod.namespace}/${pod.name}`, reason }, 'pod unschedulable');
      // Every attempt, as Kubernetes counts them; the recorder folds the repeats into one record.
      events.push({ object: `pod/${pod.namespace}/${pod.name}`, reason: 'FailedScheduling', message: reason, severity: 'Warning' });
    }

    const { bound, lost } = await commitBinds(store, result.bind, { pods: podRevisions, nodes: nodeRevisions }, (batch) => {
      for (const b of batch) {
        log.debug({ pod: `${b.pod.namespace}/${b.pod.name}`, node: b.node }, 'pod bound');
        events.push({ object: `pod/${b.pod.namespace}/${b.pod.name}`, reason: 'Scheduled', message: `Successfully assigned ${b.pod.namespace}/${b.pod.name} to ${b.node}`, at: new Date() });
      }
    });
    await recorder.record(events);
    // Pods placed after a lost bind were placed on a view that is now stale (pod or node changed): re-plan.
    if (lost) {
      if (bound > 0) log.info({ bound }, 'pods bound');
      return 1;
    }
    if (bound > 0) log.info({ bound, unschedulable: result.unschedulable.length }, 'pods bound');
    return 0;
  };

  const reconcile = async (): Promise<void> => {
    await rerunWhileLosing(pass, {
      code: 'EBINDRACE',
      message: () => 'pods or nodes kept changing while binding',
      hint: 'run one scheduler (`berth scheduler` or `berth up`) per etcd --prefix; berth has no leader election; this pass is retried',
      onRetry: (_lost, attempt) => log.debug({ attempt }, 'a bind lost a race; re-reading'),
    });
    once.endRound();
  };

  const loop = await startLoop({ store, log, watch: [PODS, NODES], reconcile, resyncMs: opts.resyncMs });
  return {
    stop: async () => {
      await loop.stop();
      await recorder.flush();
    },
    idle: () => loop.idle(),
  };
}
