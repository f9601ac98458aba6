// The node lifecycle loop: nodes' leases → NotReady records → pods deleted after the grace.
import type { Logger } from '../log.js';
import { EventRecorder, type EventInput } from '../events/recorder.js';
import { ReportOnce } from '../report-once.js';
import {
  CORDONS, LOST_NODES, NODES, PODS, SOURCES, STATUS, WatchCache, bindingKey, encode, indexStatuses, isPodReady, lostNodeKey, nodeKey, podKey, rerunWhileLosing, startLoop,
  type NodeRecord, type PodStatusRecord, type Store, type Txn,
} from '../store/index.js';
import { readSealedDeployments } from './desired.js';
import { DEFAULT_NODE_GRACE_MS, ownerKey, planNodeLifecycle, type NodeLifecyclePlan } from './node-lifecycle.js';
import { resolveRollout } from './pods.js';

/** How to run the node lifecycle loop. */
export interface NodeLifecycleOptions {
  store: Store;
  log: Logger;
  /** How long a node may be NotReady before its pods are deleted (default DEFAULT_NODE_GRACE_MS). */
  graceMs?: number;
  resyncMs?: number;
  now?: () => Date;
}

/** A running node lifecycle loop. */
export interface NodeLifecycle {
  stop(): Promise<void>;
  idle(): Promise<void>;
}

/**
 * Watches `nodes/` (the agents' leases), `pods/`, `lostnodes/`, `cordons/`, pod status and seals through watch caches. A node whose
 * lease is gone is marked NotReady (`lostnodes/<node>`, an event); once it has been so for the grace,
 * its pods are deleted with their bindings, each guarded by the pod's revision and by the node still
 * being absent, so a node that came back in the meantime keeps them. The Deployments make the pods
 * again and the scheduler places them on the nodes that are Ready. A drained node's pods go the same
 * way, as many at a time as each Deployment's maxUnavailable allows (planNodeLifecycle).
 */
export async function startNodeLifecycle(opts: NodeLifecycleOptions): Promise<NodeLifecycle> {
  const { store } = opts;
  const log = opts.log.child({ component: 'nodes' });
  const now = opts.now ?? (() => new Date());
  const graceMs = opts.graceMs ?? DEFAULT_NODE_GRACE_MS;
  const recorder = new EventRecorder({ store, component: 'node-lifecycle', log, now });
  let kick = (): void => undefined;
  let timer: NodeJS.Timeout | undefined;
  const seen = new Map<string, NodeRecord>();
  const caches: { close(): Promise<void> }[] = [];
  const closeAll = async (): Promise<void> => {
    clearTimeout(timer);
    await Promise.allSettled(caches.map((c) => c.close()));
  };
  const once = new ReportOnce();
  let sealsChanged = true;
  let keepReady = new Map<string, number>();
  const open = async <T extends 'pod' | 'node' | 'nodeLost' | 'podStatus' | 'cordon' | 'seal'>(prefix: string, type: T, onChange = (): void => kick()): Promise<WatchCache<T>> => {
    const cache = await WatchCache.open(store, prefix, type, log, onChange);
    caches.push(cache);
    return cache;
  };

  try {
    const nodes = await open(NODES, 'node');
    const pods = await open(PODS, 'pod');
    const lost = await open(LOST_NODES, 'nodeLost');
    const cordons = await open(CORDONS, 'cordon');
    // Readiness matters only to a drain: a status write wakes the loop only while a node drains.
    const statuses = await open(STATUS, 'podStatus', () => {
      if ([...cordons.records.values()].some((c) => c.record.drain)) kick();
    });
    await open(SOURCES, 'seal', () => {
      sealsChanged = true;
      kick();
    });
    /** Per Deployment in force, the ready pods a drain leaves it: replicas − maxUnavailable. */
    const readKeepReady = async (): Promise<Map<string, number>> => {
      const view = await readSealedDeployments(store);
      return new Map(view.deployments.map(({ source, object: d }) => [ownerKey(source, d.namespace, d.name), d.spec.replicas - resolveRollout(d.spec.strategy, d.spec.replicas).maxUnavailable]));
    };

    const apply = async (plan: NodeLifecyclePlan): Promise<number> => {
      const absent = (node: string): Record<string, number> => ({ [nodeKey(node)]: 0 });
      const held = (node: string): number => lost.records.get(lostNodeKey(node))?.modRevision ?? -1;
      const txns: { txn: Txn; event?: EventInput; done?: (revision: number) => void }[] = [
        ...plan.markLost.map((r) => ({
          txn: { ifUnchanged: { ...absent(r.name), [lostNodeKey(r.name)]: 0 }, put: [{ key: lostNodeKey(r.name), value: encode(r) }] },
          event: { object: `node/${r.name}`, reason: 'NodeNotReady', message: `Node ${r.name} status is now: NodeNotReady (its lease expired)`, severity: 'Warning' as const },
          done: (revision: number) => lost.remember(lostNodeKey(r.name), r, revision),
        })),
        ...plan.evict.map(({ pod, node, message, cause }) => {
          const key = podKey(pod.namespace, pod.name);
          // A lost node's pods go only while it stays absent; a drained node's only as the plan saw them.
          const guard = { ...(cause === 'lost' ? absent(node) : {}), [key]: pods.records.get(key)?.modRevision ?? -1 };
          return {
            txn: { ifUnchanged: guard, del: [key, bindingKey(node, pod.namespace, pod.name)] },
            event: cause === 'lost'
              ? { object: `pod/${pod.namespace}/${pod.name}`, reason: 'NodeControllerEviction', message: `Deleting pod: ${message}`, severity: 'Warning' as const }
              : { object: `pod/${pod.namespace}/${pod.name}`, reason: 'Evicted', message: `Evicted: ${message}` },
            done: (revision: number) => pods.remember(key, undefined, revision),
          };
        }),
        ...plan.evicted.map((r) => ({
          txn: { ifUnchanged: { [lostNodeKey(r.name)]: held(r.name) }, put: [{ key: lostNodeKey(r.name), value: encode(r) }] },
          done: (revision: number) => lost.remember(lostNodeKey(r.name), r, revision),
        })),
        ...plan.forget.map((name) => ({
          txn: { ifUnchanged: { [lostNodeKey(name)]: held(name) }, del: [lostNodeKey(name)] },
          done: (revision: number) => lost.remember(lostNodeKey(name), undefined, revision),
        })),
      ];
      let conflicts = 0;
      const events: EventInput[] = [];
      // One txn each: a pod that lost its race must not hold back the others (they are few: one node's pods).
      await Promise.all(txns.map(async ({ txn, event, done }) => {
        const { ok, revision } = await store.commit(txn);
        if (!ok) {
          conflicts++;
          return;
        }
        done?.(revision);
        if (event !== undefined) events.push(event);
      }));
      for (const e of events) log.warn({ object: e.object, reason: e.reason }, e.message);
      await recorder.record(events);
      return conflicts;
    };

    const pass = async (): Promise<number> => {
      for (const { record } of nodes.records.values()) seen.set(record.name, record);
      const draining = [...cordons.records.values()].some((c) => c.record.drain);
      if (draining && sealsChanged) {
        sealsChanged = false;
        keepReady = await readKeepReady();
      }
      const ready = new Set([...nodes.records.values()].map((n) => n.record.name));
      const podList = [...pods.records.values()].map((p) => p.record);
      const index = draining ? indexStatuses([...statuses.records.values()].map((v) => v.record)) : new Map<string, PodStatusRecord>();
      const plan = planNodeLifecycle({
        ready,
        cordons: new Map([...cordons.records.values()].map((c) => [c.record.name, c.record])),
        readyPods: new Set(draining ? podList.filter((p) => isPodReady(p, index, ready)).map((p) => podKey(p.namespace, p.name)) : []),
        keepReady,
        seen,
        lost: new Map([...lost.records.values()].map((l) => [l.record.name, l.record])),
        pods: podList,
        now: now(),
        graceMs,
      });
      for (const b of plan.blocked) {
        if (once.fresh(`drain:${b.pod.namespace}/${b.pod.name}`, b.message)) log.info({ node: b.node, pod: `${b.pod.namespace}/${b.pod.name}` }, `drain waits: ${b.message}`);
      }
      clearTimeout(timer);
      if (plan.wakeAt !== undefined) {
        timer = setTimeout(() => kick(), Math.max(0, plan.wakeAt - now().getTime()));
        timer.unref();
      }
      if (plan.markLost.length + plan.evict.length + plan.evicted.length + plan.forget.length === 0) return 0;
      return apply(plan);
    };

    const loop = await startLoop({
      store, log, watch: [], ...(opts.resyncMs === undefined ? {} : { resyncMs: opts.resyncMs }),
      reconcile: async () => {
        await rerunWhileLosing(pass, {
          code: 'ENODERACE',
          message: (n) => `nodes and pods kept changing under the node lifecycle loop (${n} txn(s) lost a race)`,
          hint: 'run one controller (`berth controller` or `berth up`) per etcd --prefix; this pass is retried',
          onRetry: (n, attempt) => log.debug({ conflicts: n, attempt }, 'nodes or pods changed while writing; re-planning'),
        });
        once.endRound();
      },
    });
    kick = loop.kick;
    loop.kick();
    return {
      stop: async () => {
        await closeAll();
        await loop.stop();
        await recorder.flush();
      },
      idle: () => loop.idle(),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
