import type { Logger } from '../log.js';
import { ReportOnce } from '../report-once.js';
import {
  ENDPOINTS, NODES, PODS, SOURCES, STATUS, WatchCache, decodeAll, encode, indexStatuses, packTxns, readAllSealed, rerunWhileLosing, startLoop,
  type EndpointsRecord, type Store, type Txn,
} from '../store/index.js';
import { planEndpoints, type DesiredService, type EndpointsPlan } from './endpoints.js';

/** How to run the endpoints controller. */
export interface EndpointsControllerOptions {
  store: Store;
  log: Logger;
  /** Full reconcile period without events (default: the loop's 30 s). */
  resyncMs?: number;
  /** Caches of pods, pod status and nodes another loop of the process keeps (the controller's view); else its own. */
  shared?: { pods: WatchCache<'pod'>; statuses: WatchCache<'podStatus'>; nodes: WatchCache<'node'> };
}

/** A running endpoints controller. */
export interface EndpointsController {
  stop(): Promise<void>;
  /** Resolves once no reconcile is running or pending. */
  idle(): Promise<void>;
}

interface SealedServices {
  services: DesiredService[];
  sources: Set<string>;
  sealed: Set<string>;
}

/**
 * Keeps `endpoints/<namespace>/<service>` equal to each sealed Service's ready pods. Pods, their
 * status, nodes and the records themselves are kept in memory by watches (WatchCache), so a
 * readiness change costs one in-memory plan and a write of the records it changed, not a list of
 * the keyspace; sealed Services are re-read only when a seal changes.
 */
export async function startEndpointsController(opts: EndpointsControllerOptions): Promise<EndpointsController> {
  const { store } = opts;
  const log = opts.log.child({ component: 'endpoints' });
  const once = new ReportOnce();
  let kick = (): void => undefined;
  let sealsChanged = true;
  let sealed: SealedServices = { services: [], sources: new Set(), sealed: new Set() };

  const caches: { close(): Promise<void> }[] = [];
  const open = async <T extends 'pod' | 'podStatus' | 'node' | 'endpoints' | 'seal'>(prefix: string, type: T, onChange = (): void => kick()): Promise<WatchCache<T>> => {
    const cache = await WatchCache.open(store, prefix, type, log, onChange);
    caches.push(cache);
    return cache;
  };
  const closeAll = async (): Promise<void> => {
    await Promise.allSettled(caches.map((c) => c.close()));
  };

  try {
    const shared = opts.shared;
    if (shared) for (const c of [shared.pods, shared.statuses, shared.nodes]) c.subscribe(() => kick());
    const pods = shared?.pods ?? (await open(PODS, 'pod'));
    const statuses = shared?.statuses ?? (await open(STATUS, 'podStatus'));
    const nodes = shared?.nodes ?? (await open(NODES, 'node'));
    const endpoints = await open(ENDPOINTS, 'endpoints');
    await open(SOURCES, 'seal', () => {
      sealsChanged = true;
      kick();
    });

    const readServices = async (): Promise<SealedServices> => {
      const out: SealedServices = { services: [], sources: new Set(), sealed: new Set() };
      const { sealed: all, corrupt } = await readAllSealed(store);
      for (const c of corrupt) out.sealed.add(c.source);
      for (const s of all) {
        out.sealed.add(s.source);
        const { items, corrupt: bad } = decodeAll('desired', s.entries);
        const reason = !s.exact ? `seal revision ${s.seal.revision} was compacted and a newer commit is being applied` : bad[0]?.reason;
        if (reason !== undefined) {
          if (once.fresh(`source:${s.source}`, reason)) log.warn({ source: s.source, reason }, 'source skipped; its endpoints are left as they are');
          continue;
        }
        for (const { record } of items) if (record.object.kind === 'Service') out.services.push({ source: s.source, object: record.object });
        out.sources.add(s.source);
      }
      return out;
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
      let conflicts = 0;
      for (const { txn, items } of packTxns(parts, store.limits, (i) => i.key)) {
        const { ok, revision } = await store.commit(txn);
        if (!ok) {
          conflicts++;
          continue;
        }
        for (const i of items) endpoints.remember(i.key, i.record, revision);
      }
      return conflicts;
    };

    const pass = async (): Promise<number> => {
      if (sealsChanged) {
        sealsChanged = false;
        sealed = await readServices();
      }
      // No Service and no record: nothing to plan, whatever the pods do (no pass over every pod).
      if (sealed.services.length === 0 && endpoints.records.size === 0) return 0;
      const values = <T>(c: { records: Map<string, { record: T }> }): T[] => [...c.records.values()].map((v) => v.record);
      const plan = planEndpoints({
        ...sealed,
        pods: values(pods),
        statuses: indexStatuses(values(statuses)),
        nodes: new Map(values(nodes).map((n) => [n.name, n])),
        current: new Map([...endpoints.records].map(([k, v]) => [k, v.record])),
      });
      for (const c of plan.conflicts) if (once.fresh(`conflict:${c.key}`, c.message)) log.warn({ service: c.key, reason: c.message }, 'Service conflict');
      if (plan.put.length === 0 && plan.delete.length === 0) return 0;
      const conflicts = await apply(plan);
      log.info({ written: plan.put.length, deleted: plan.delete.length, conflicts }, 'endpoints updated');
      return conflicts;
    };

    const loop = await startLoop({
      store, log, watch: [], resyncMs: opts.resyncMs,
      reconcile: async () => {
        await rerunWhileLosing(pass, {
          code: 'EENDPOINTSRACE',
          message: (lost) => `endpoints kept changing under the controller (${lost} txn(s) lost a race)`,
          hint: 'run one controller (`berth controller` or `berth up`) per etcd --prefix; this pass is retried',
          onRetry: (n, attempt) => log.debug({ conflicts: n, attempt }, 'endpoints changed while writing; re-planning'),
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
      },
      idle: () => loop.idle(),
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
