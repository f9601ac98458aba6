import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';
import { startHealthLoop, type SetTimer } from './health-loop.js';
import { startPodsLoop } from './pods-loop.js';
import { startEndpointsController } from './services.js';
import { startNodeLifecycle } from './nodes.js';
import { ClusterView } from './view.js';

/** How to run the controller. */
export interface ControllerOptions {
  store: Store;
  log: Logger;
  /** Period of the pass over everything without events (default: 5 min for the keyed loops, 30 s for the node lifecycle loop). */
  resyncMs?: number;
  /** The clock stamped on new pods and health reports; tests pass a fixed one. */
  now?: () => Date;
  /** Timers of the same clock, for the health loop's wake-ups (default: the system's). */
  setTimer?: SetTimer;
  /** How long a node may be NotReady (its lease expired) before its pods are deleted and made again elsewhere (default 5 s). */
  nodeGraceMs?: number;
  /** How long a restarted container must run before its pod counts as ready again in `berth/health` (default 10 s). */
  settleMs?: number;
}

/** A running controller. */
export interface Controller {
  stop(): Promise<void>;
  /** Resolves once no reconcile is running or pending. */
  idle(): Promise<void>;
}


/**
 * Turn sealed Deployments into pods, per Deployment (startPodsLoop): plan one rollout step for each
 * Deployment that changed (its seal read again, a pod of it, a status that changes its readiness)
 * and create or delete its pods (with their bindings); the next readiness change brings the next
 * step. Beside it, a second loop folds pod status into each commit's `berth/health` per source
 * (startHealthLoop); both read one ClusterView (watch caches, not lists), and share nothing else, so
 * a slow status report never holds up pods. A third keeps each Service's endpoints
 * (startEndpointsController), a fourth moves the pods of nodes that are gone (startNodeLifecycle).
 */
export async function startController(opts: ControllerOptions): Promise<Controller> {
  const { store } = opts;
  const log = opts.log.child({ component: 'controller' });
  const now = opts.now ?? (() => new Date());
  const view = await ClusterView.open(store, log);
  const stops: (() => Promise<void>)[] = [() => view.close()];
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.splice(0).reverse()) await stop();
  };
  try {
    const pods = await startPodsLoop({ store, log, view, now, ...(opts.resyncMs === undefined ? {} : { resyncMs: opts.resyncMs }) });
    stops.push(() => pods.stop());
    const health = await startHealthLoop({
      store, log: opts.log, now, view,
      ...(opts.setTimer === undefined ? {} : { setTimer: opts.setTimer }),
      ...(opts.resyncMs === undefined ? {} : { resyncMs: opts.resyncMs }),
      ...(opts.settleMs === undefined ? {} : { settleMs: opts.settleMs }),
    });
    stops.push(() => health.stop());
    const endpoints = await startEndpointsController({
      store, log: opts.log, view, ...(opts.resyncMs === undefined ? {} : { resyncMs: opts.resyncMs }),
    });
    stops.push(() => endpoints.stop());
    const nodes = await startNodeLifecycle({
      store, log: opts.log, now, view,
      ...(opts.nodeGraceMs === undefined ? {} : { graceMs: opts.nodeGraceMs }),
      ...(opts.resyncMs === undefined ? {} : { resyncMs: opts.resyncMs }),
    });
    stops.push(() => nodes.stop());
    return {
      stop: stopAll,
      idle: async () => {
        await pods.idle();
        await health.idle();
        await endpoints.idle();
        await nodes.idle();
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

