import type { Logger } from '../log.js';
import { ReportOnce } from '../report-once.js';
import {
  ENDPOINTS, WatchCache, encode, packTxns, podKey, rerunWhileLosing, startKeyedLoop,
  type Batch, type EndpointsRecord, type PodStatusRecord, type Store, type Txn,
} from '../store/index.js';
import { planEndpoints, type EndpointsPlan } from './endpoints.js';
import { ServiceSelectors } from './selectors.js';
import { ClusterView } from './view.js';

/** How to run the endpoints controller. */
export interface EndpointsControllerOptions {
  store: Store;
  log: Logger;
  /** Period of the pass over everything without events (default: the keyed loop's KEYED_RESYNC_MS, 5 min). */
  resyncMs?: number;
  /** The controller's shared view (pods, statuses, nodes, sealed Services); without one the loop opens its own. */
  view?: ClusterView;
}

/** A running endpoints controller. */
export interface EndpointsController {
  stop(): Promise<void>;
  /** Resolves once no reconcile is running or pending. */
  idle(): Promise<void>;
}

/** What of a pod status an endpoint shows: a status write that changes none of it changes no Service. */
const shown = (s: PodStatusRecord | undefined): string =>
  s === undefined ? '' : JSON.stringify([s.templateHash, s.conditions.find((c) => c.type === 'Ready')?.status, s.podIP, s.hostIP, s.hostPorts]);

/** What of a source's seal the endpoints depend on: its Services (or that it cannot be read now). */
const servicesOf = (view: ClusterView, source: string): string => {
  const skipped = view.skipped.get(source);
  if (skipped !== undefined) return `skipped:${skipped}`;
  return (view.sources.get(source)?.services ?? []).map((s) => `${s.object.namespace}/${s.object.name}@${s.object.hash}`).sort().join('\n');
};

/**
 * Keeps `endpoints/<namespace>/<service>` equal to each sealed Service's ready pods, per Service: a
 * work queue of endpoints keys fed by the controller's view. A pod (or a status that changes what
 * an endpoint shows) queues only the Services whose selector matches it (ServiceSelectors), and a
 * pass plans only the queued Services, each over its own pods; a node queues every Service, a
 * change of a source's Services a pass over everything. Records are written only when they change.
 */
export async function startEndpointsController(opts: EndpointsControllerOptions): Promise<EndpointsController> {
  const { store } = opts;
  const log = opts.log.child({ component: 'endpoints' });
  const once = new ReportOnce();
  const view = opts.view ?? (await ClusterView.open(store, log));
  const selectors = new ServiceSelectors((key) => view.pods.get(key));
  let servicesChanged = true;
  const seen = new Map<string, string>();
  let queue: { add(key: string): void; addAll(): void; kick(): void } = { add: () => undefined, addAll: () => undefined, kick: () => undefined };

  // What this loop last wrote at each key: its own write (remembered, then its watch event) queues nothing.
  const wrote = new Map<string, number | 'deleted'>();
  // Keys heard while this loop writes (a store may tell a write before its commit returns): judged once it has.
  let heard: Set<string> | undefined;
  const same = (key: string): boolean => {
    const held = endpoints.records.get(key);
    return wrote.get(key) === (held === undefined ? 'deleted' : held.modRevision);
  };
  let endpoints: WatchCache<'endpoints'>;
  try {
    endpoints = await WatchCache.open(store, ENDPOINTS, 'endpoints', log, (key) => {
      if (key === undefined) queue.addAll();
      else if (heard) heard.add(key);
      else if (!same(key)) queue.add(key);
    });
  } catch (err) {
    if (opts.view === undefined) await view.close();
    throw err;
  }

  /** Read the Services again when a seal changed them (view.refreshSeals tells `sealed`). */
  const prepare = async (): Promise<void> => {
    await view.refreshSeals();
    if (!servicesChanged) return;
    servicesChanged = false;
    selectors.reset([...view.sources.values()].flatMap((s) => s.services), [...view.pods.records.values()].map((c) => c.record));
  };

  const apply = async (plan: EndpointsPlan): Promise<number> => {
    const guard = (key: string): Record<string, number> => ({ [key]: endpoints.records.get(key)?.modRevision ?? 0 });
    const parts: { txn: Txn; item: { key: string; record?: EndpointsRecord } }[] = [
      ...plan.put.map((record) => {
        const key = `${ENDPOINTS}${record.namespace}/${record.service}`;
        return { txn: { ifUnchanged: guard(key), put: [{ key, value: encode(record) }] }, item: { key, record } };
      }),
      ...plan.delete.map((key) => ({ txn: { ifUnchanged: guard(key), del: [key] }, item: { key } })),
    ];
    const lost: string[] = [];
    heard = new Set();
    try {
      for (const { txn, items } of packTxns(parts, store.limits, (i) => i.key)) {
        const { ok, revision } = await store.commit(txn);
        if (!ok) lost.push(...items.map((i) => i.key));
        else {
          for (const i of items) {
            wrote.set(i.key, i.record === undefined ? 'deleted' : revision);
            endpoints.remember(i.key, i.record, revision);
          }
        }
      }
    } finally {
      const told = heard;
      heard = undefined;
      for (const key of told) if (!same(key)) queue.add(key);
    }
    // The cache of the records that lost is behind: read them again, so the re-plan sees what won.
    await endpoints.refresh(lost);
    return lost.length;
  };

  /** Plan the batch's Services (all of them, and stray records, for a pass over everything) and write what changed. */
  const pass = async (batch: Batch): Promise<number> => {
    for (const [source, reason] of view.skipped) {
      if (once.fresh(`source:${source}`, reason)) log.warn({ source, reason }, 'source skipped; its endpoints are left as they are');
    }
    if (!batch.all && batch.keys.size === 0) return 0;
    const plan = planEndpoints({
      services: [...view.sources.values()].flatMap((s) => s.services),
      sources: new Set(view.sources.keys()),
      sealed: view.sealedSources(),
      podsOf: (s) => selectors.podsOf(s),
      statuses: view.statusIndex,
      nodes: new Map(view.nodeRecords().map((n) => [n.name, n])),
      current: new Map([...endpoints.records].map(([k, v]) => [k, v.record])),
      ...(batch.all ? {} : { only: batch.keys }),
    });
    for (const c of plan.conflicts) if (once.fresh(`conflict:${c.key}`, c.message)) log.warn({ service: c.key, reason: c.message }, 'Service conflict');
    if (plan.put.length === 0 && plan.delete.length === 0) return 0;
    const conflicts = await apply(plan);
    log.info({ written: plan.put.length, deleted: plan.delete.length, conflicts }, 'endpoints updated');
    return conflicts;
  };

  try {
    const loop = await startKeyedLoop({
      store, log, prepare, ...(opts.resyncMs === undefined ? {} : { resyncMs: opts.resyncMs }),
      work: async (batch) => {
        await rerunWhileLosing(() => pass(batch), {
          code: 'EENDPOINTSRACE',
          message: (lost) => `endpoints kept changing under the controller (${lost} txn(s) lost a race)`,
          hint: 'run one controller (`berth controller` or `berth up`) per etcd --prefix; this pass is retried',
          onRetry: (n, attempt) => log.debug({ conflicts: n, attempt }, 'endpoints changed while writing; re-planning'),
        });
        if (batch.all) once.endRound();
      },
    });
    queue = loop;
    const addEach = (keys: Iterable<string>): void => {
      for (const k of keys) loop.add(k);
    };
    view.subscribe({
      pod: (key, before, after) => addEach(selectors.podChanged(key, before, after)),
      status: (_key, before, after) => {
        const s = after ?? before;
        if (s === undefined || shown(before) === shown(after)) return;
        const p = view.pods.get(podKey(s.namespace, s.pod));
        if (p !== undefined && p.node === s.node) addEach(selectors.selecting(p));
      },
      // A node registered or gone: every Service's pods on it count again, or no more.
      node: () => addEach(selectors.keys()),
      sealChanged: () => loop.kick(),
      sealed: (source) => {
        const now = servicesOf(view, source);
        if (seen.get(source) === now) return;
        seen.set(source, now);
        servicesChanged = true;
        loop.addAll();
      },
      everything: () => {
        servicesChanged = true;
        loop.addAll();
      },
    });
    return {
      stop: async () => {
        await loop.stop();
        await endpoints.close();
        if (opts.view === undefined) await view.close();
      },
      idle: () => loop.idle(),
    };
  } catch (err) {
    await endpoints.close();
    if (opts.view === undefined) await view.close();
    throw err;
  }
}
