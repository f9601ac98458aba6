import type { Logger } from '../log.js';
import { messageOf } from '../errors.js';
// Not from store/index.js, which loads the control plane's etcd client (etcd3): the agent runs on every node.
import { WatchCache } from '../store/cache.js';
import { ENDPOINTS } from '../store/keys.js';
import { startLoop } from '../store/loop.js';
import type { Closer, Store } from '../store/store.js';
import { planStubs, stubWants, type StubOptions, type StubWants } from './rules.js';
import type { StubRuntime } from './service-docker.js';

/** Stubs created or loaded at once. */
const STUB_CONCURRENCY = 8;

/** How to run a node's Service stubs. */
export interface ServiceProxyOptions extends StubOptions {
  store: Store;
  stubs: StubRuntime;
  log: Logger;
  /** Full reconcile period without events (default: the loop's 30 s). */
  resyncMs?: number;
}

/** A node's running Service data plane. */
export interface ServiceProxy {
  /** Stops reconciling; the stubs and their rules stay, so traffic keeps flowing while no agent runs. */
  stop(): Promise<void>;
  idle(): Promise<void>;
}

/**
 * The node's side of Services: for every Service (endpoints/ in etcd, kept in memory by a watch),
 * one stub container on the pod network carrying the Service's names, with DNAT rules in its own
 * namespace to the Service's endpoints (for a headless Service, one stub per ready pod, each
 * forwarding to its pod, so the name resolves to one address per pod), replaced in one iptables-restore whenever they change. A
 * stub that restarts (a new, empty namespace) is loaded again on its start event.
 */
export async function startServiceProxy(opts: ServiceProxyOptions): Promise<ServiceProxy> {
  const { store, stubs, node } = opts;
  const log = opts.log.child({ component: 'services', node });
  /** The rules loaded into each running stub, by container id. */
  const loaded = new Map<string, string>();
  let ready = false;
  let kick = (): void => undefined;
  const cache = await WatchCache.open(store, ENDPOINTS, 'endpoints', log, () => kick());
  let events: Closer | undefined;
  const watchEvents = (): void => {
    events = stubs.events(
      node,
      (e) => {
        // A stub that (re)starts has a fresh namespace: nothing loaded in it.
        if (e.action === 'start' || e.action === 'die' || e.action === 'destroy') loaded.delete(e.id);
        kick();
      },
      (err) => {
        log.debug({ err: messageOf(err) }, 'stub event stream broke; reopening');
        setTimeout(() => {
          if (events !== undefined) watchEvents();
          kick();
        }, 1000).unref();
      },
    );
  };
  watchEvents();

  const reconcile = async (): Promise<void> => {
    if (!ready) {
      await stubs.ensureNetwork(opts.network);
      await stubs.ensureImage(opts.image);
      ready = true;
    }
    const wants: StubWants = stubWants([...cache.records.values()].map((c) => c.record), opts);
    const plan = planStubs(wants, await stubs.list(node), loaded);
    for (const c of plan.remove) {
      await stubs.remove(c.id);
      loaded.delete(c.id);
    }
    const errors: unknown[] = [];
    const work = [
      ...plan.create.map((c) => async (): Promise<void> => {
        const id = await stubs.create(c.spec);
        await stubs.load(id, c.rules);
        loaded.set(id, c.rules);
      }),
      ...plan.load.map((l) => async (): Promise<void> => {
        await stubs.load(l.id, l.rules);
        loaded.set(l.id, l.rules);
      }),
    ];
    // A few at a time: a commit of a hundred Services must not ask Docker for a hundred containers at once.
    const next = async (): Promise<void> => {
      for (let job = work.shift(); job !== undefined; job = work.shift()) await job().catch((err: unknown) => void errors.push(err));
    };
    await Promise.all(Array.from({ length: STUB_CONCURRENCY }, next));
    if (plan.create.length + plan.load.length + plan.remove.length > 0) {
      log.info({ created: plan.create.length, loaded: plan.load.length, removed: plan.remove.length, failed: errors.length }, 'Service stubs reconciled');
    }
    if (errors.length > 0) throw errors[0];
  };

  const loop = await startLoop({ store, log, watch: [], reconcile, ...(opts.resyncMs === undefined ? {} : { resyncMs: opts.resyncMs }) });
  kick = loop.kick;
  loop.kick();
  return {
    stop: async () => {
      const e = events;
      events = undefined;
      await e?.close();
      await cache.close();
      await loop.stop();
    },
    idle: () => loop.idle(),
  };
}
