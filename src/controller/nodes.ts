// The node lifecycle loop: nodes' leases → NotReady records → pods deleted after the grace.
import type { Logger } from '../log.js';
import { EventRecorder, type EventInput } from '../events/recorder.js';
import { ReportOnce } from '../report-once.js';
import {
  CORDONS, LOST_NODES, WatchCache, bindingKey, cordonKey, encode, isPodReady, lostNodeKey, nodeKey, podKey, rerunWhileLosing, startLoop,
  type NodeRecord, type PodRecord, type Store, type Txn,
} from '../store/index.js';
import { DEFAULT_NODE_GRACE_MS, planNodeLifecycle, type NodeLifecyclePlan } from './node-lifecycle.js';
import { resolveRollout } from './pods.js';
import { ClusterView, ownerOf } from './view.js';

/** How to run the node lifecycle loop. */
export interface NodeLifecycleOptions {
  store: Store;
  log: Logger;
  /** How long a node may be NotReady before its pods are deleted (default DEFAULT_NODE_GRACE_MS). */
  graceMs?: number;
  resyncMs?: number;
  now?: () => Date;
  /** The controller's shared view (pods, statuses, nodes, sealed Deployments); without one the loop opens its own. */
  view?: ClusterView;
}

/** A running node lifecycle loop. */
export interface NodeLifecycle {
  stop(): Promise<void>;
  idle(): Promise<void>;
}

/**
 * Keeps `lostnodes/` and `cordons/` by watch caches, and reads pods, their status, nodes and sealed
 * Deployments from the controller's view. A node whose lease is gone is marked NotReady
 * (`lostnodes/<node>`, an event); once it has been so for the grace, its pods are deleted with their
 * bindings, each guarded by the pod's revision and by the node still being absent, so a node that
 * came back in the meantime keeps them. The Deployments make the pods again and the scheduler places
 * them on the nodes that are Ready. A drained node's pods go the same way, as many at a time as each
 * Deployment's maxUnavailable allows (planNodeLifecycle). A pass reads only the pods of nodes that
 * are gone or draining (and, for a drain, the other pods of their Deployments), and a pod or status
 * change wakes it only when it touches such a node: on a healthy cluster the pods cost it nothing.
 */
export async function startNodeLifecycle(opts: NodeLifecycleOptions): Promise<NodeLifecycle> {
  const { store } = opts;
  const log = opts.log.child({ component: 'nodes' });
  const now = opts.now ?? (() => new Date());
  const graceMs = opts.graceMs ?? DEFAULT_NODE_GRACE_MS;
  const recorder = new EventRecorder({ store, component: 'node-lifecycle', log, now });
  const view = opts.view ?? (await ClusterView.open(store, log));
  let kick = (): void => undefined;
  let timer: NodeJS.Timeout | undefined;
  const seen = new Map<string, NodeRecord>();
  const caches: { close(): Promise<void> }[] = [];
  const closeAll = async (): Promise<void> => {
    clearTimeout(timer);
    await Promise.allSettled(caches.map((c) => c.close()));
    if (opts.view === undefined) await view.close();
  };
  const once = new ReportOnce();
  const open = async <T extends 'nodeLost' | 'cordon'>(prefix: string, type: T): Promise<WatchCache<T>> => {
    const cache = await WatchCache.open(store, prefix, type, log, () => kick());
    caches.push(cache);
    return cache;
  };

  try {
    const lost = await open(LOST_NODES, 'nodeLost');
    const cordons = await open(CORDONS, 'cordon');
    const draining = (): Set<string> => new Set([...cordons.records.values()].filter((c) => c.record.drain).map((c) => c.record.name));
    /** Nodes whose pods this loop may act on: registered no more (or never), NotReady, or draining. */
    const watched = (): Set<string> => {
      const out = draining();
      for (const n of [...view.usedNodes(), ...seen.keys(), ...[...lost.records.values()].map((l) => l.record.name)]) {
        if (!view.nodes.records.has(nodeKey(n))) out.add(n);
      }
      return out;
    };
    /** A pod matters when it sits (or sat) on a node of `watched`: one not registered, or draining. */
    const touches = (...nodes: (string | undefined)[]): boolean =>
      nodes.some((n) => n !== undefined && (!view.nodes.records.has(nodeKey(n)) || cordons.get(cordonKey(n))?.drain === true));
    view.subscribe({
      node: () => kick(),
      pod: (_key, before, after) => {
        if (touches(before?.node, after?.node)) kick();
      },
      // Readiness matters only to a drain.
      status: (_key, before, after) => {
        const s = after ?? before;
        if (s !== undefined && draining().has(s.node)) kick();
      },
      sealed: () => {
        if (draining().size > 0) kick();
      },
      everything: () => kick(),
    });
    /** Per Deployment in force, the ready pods a drain leaves it: replicas − maxUnavailable. */
    const keepReady = (): Map<string, number> => {
      const out = new Map<string, number>();
      for (const s of view.sources.values()) {
        for (const [owner, { object: d }] of s.deployments) out.set(owner, d.spec.replicas - resolveRollout(d.spec.strategy, d.spec.replicas).maxUnavailable);
      }
      return out;
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
        const guard = { ...(cause === 'lost' ? absent(node) : {}), [key]: view.pods.records.get(key)?.modRevision ?? -1 };
        return {
          txn: { ifUnchanged: guard, del: [key, bindingKey(node, pod.namespace, pod.name)] },
          event: cause === 'lost'
            ? { object: `pod/${pod.namespace}/${pod.name}`, reason: 'NodeControllerEviction', message: `Deleting pod: ${message}`, severity: 'Warning' as const }
            : { object: `pod/${pod.namespace}/${pod.name}`, reason: 'Evicted', message: `Evicted: ${message}` },
          done: (revision: number) => view.pods.remember(key, undefined, revision),
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
      for (const { record } of view.nodes.records.values()) seen.set(record.name, record);
      const drains = draining();
      if (drains.size > 0) await view.refreshSeals();
      const ready = view.nodeNames();
      // The pods of the nodes in question, and for a drain every pod of their Deployments (whose readiness it counts).
      const pods = new Map<string, PodRecord>();
      const owners = new Set<string>();
      for (const node of watched()) {
        for (const p of view.podsOn(node)) {
          pods.set(podKey(p.namespace, p.name), p);
          if (drains.has(node)) owners.add(ownerOf(p));
        }
      }
      for (const owner of owners) for (const p of view.podsOf(owner)) pods.set(podKey(p.namespace, p.name), p);
      const podList = [...pods.values()];
      const plan = planNodeLifecycle({
        ready,
        cordons: new Map([...cordons.records.values()].map((c) => [c.record.name, c.record])),
        readyPods: new Set(drains.size > 0 ? podList.filter((p) => isPodReady(p, view.statusIndex, ready)).map((p) => podKey(p.namespace, p.name)) : []),
        keepReady: drains.size > 0 ? keepReady() : new Map(),
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
        await loop.stop();
        await closeAll();
        await recorder.flush();
      },
      idle: () => loop.idle(),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
