import type { Logger } from '../log.js';
import { PODS, SOURCES, STATUS, listDecoded, podKey, rerunWhileLosing, startLoop, type Store } from '../store/index.js';
import { availablePods } from './available.js';
import { applyPodPlan } from './apply.js';
import { readSealedDeployments } from './desired.js';
import { startHealthLoop, type SetTimer } from './health-loop.js';
import { ReportOnce, reportCorrupt } from '../report-once.js';
import { planPods } from './pods.js';
import { startEndpointsController } from './services.js';
import { startNodeLifecycle } from './nodes.js';

/** How to run the controller. */
export interface ControllerOptions {
  store: Store;
  log: Logger;
  /** Full reconcile period without events (default: the loop's 30 s). */
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
 * Turn sealed Deployments into pods: on any change to a seal, a pod or a pod status, read every
 * source at its sealed revision, plan one rollout step against the pods and their readiness, and
 * create or delete pods (with their bindings); the next readiness change brings the next step.
 * Beside it, a second loop folds pod status into each commit's `berth/health` (startHealthLoop);
 * the two share nothing but the store, so a slow status report never holds up pods. A third keeps
 * each Service's endpoints (startEndpointsController), a fourth moves the pods of nodes that are
 * gone (startNodeLifecycle).
 */
export async function startController(opts: ControllerOptions): Promise<Controller> {
  const { store } = opts;
  const log = opts.log.child({ component: 'controller' });
  const now = opts.now ?? (() => new Date());
  const once = new ReportOnce();
  let availableTimer: NodeJS.Timeout | undefined;
  let kick = (): void => undefined;

  /** One read-plan-apply pass; returns how many txns lost a race. */
  const pass = async (): Promise<number> => {
    const view = await readSealedDeployments(store);
    for (const s of view.skipped) {
      if (once.fresh(`source:${s.source}`, s.reason)) log.warn({ source: s.source, reason: s.reason }, 'source skipped; its pods are left as they are');
    }

    const listed = await listDecoded(store, PODS, 'pod', { onCorrupt: reportCorrupt(log, once, 'pod record') });
    const pods = listed.items.map((i) => i.record);
    const modRevisions = new Map(listed.items.map(({ record, entry }) => [podKey(record.namespace, record.name), entry.modRevision]));
    // Readiness paces rolling updates; a status that cannot be read just leaves its pod unready.
    const statuses = (await listDecoded(store, STATUS, 'podStatus', { onCorrupt: reportCorrupt(log, once, 'pod status', 'its pod counts as not ready') })).items.map((i) => i.record);

    // Speak for every source read in full, and for sources whose seal is gone (their pods go too).
    const sealed = new Set(view.sealed);
    const sources = new Set(view.read);
    for (const p of pods) if (!sealed.has(p.owner.source)) sources.add(p.owner.source);

    // Rollouts pace on available pods: Ready for minReadySeconds. One becoming available is no write, so wake for it.
    const at = now();
    const { available, wakeAt } = availablePods(view.deployments, pods, statuses, at);
    clearTimeout(availableTimer);
    if (wakeAt !== undefined) {
      availableTimer = setTimeout(() => kick(), Math.max(0, wakeAt - at.getTime()));
      availableTimer.unref();
    }
    const plan = planPods(view.deployments, pods, at, { sources, ready: available });
    for (const c of plan.conflicts) {
      if (once.fresh(`conflict:${c.key}:${c.wantedBy}`, c.heldBy)) {
        log.warn({ pod: c.key, wantedBy: c.wantedBy, heldBy: c.heldBy }, 'pod name already taken by another owner; two sources declare one Deployment?');
      }
    }
    if (plan.create.length === 0 && plan.delete.length === 0) return 0;

    const result = await applyPodPlan(store, plan, modRevisions);
    log.info({ created: result.created, deleted: result.deleted, conflicts: result.conflicts }, 'pods reconciled');
    return result.conflicts;
  };

  const reconcile = async (): Promise<void> => {
    await rerunWhileLosing(pass, {
      code: 'EPODRACE',
      message: (lost) => `pods kept changing under the controller (${lost} txn(s) lost a race)`,
      hint: 'run one controller (`berth controller` or `berth up`) per etcd --prefix; berth has no leader election; this pass is retried',
      onRetry: (conflicts, attempt) => log.debug({ conflicts, attempt }, 'pods changed while applying; re-reading'),
    });
    once.endRound();
  };

  const loop = await startLoop({ store, log, watch: [SOURCES, PODS, STATUS], reconcile, resyncMs: opts.resyncMs });
  kick = loop.kick;
  const health = await startHealthLoop({
    store, log: opts.log, now,
    ...(opts.setTimer === undefined ? {} : { setTimer: opts.setTimer }),
    ...(opts.resyncMs === undefined ? {} : { resyncMs: opts.resyncMs }),
    ...(opts.settleMs === undefined ? {} : { settleMs: opts.settleMs }),
  }).catch(async (err: unknown) => {
    await loop.stop();
    throw err;
  });
  const endpoints = await startEndpointsController({ store, log: opts.log, ...(opts.resyncMs === undefined ? {} : { resyncMs: opts.resyncMs }) }).catch(async (err: unknown) => {
    await health.stop();
    await loop.stop();
    throw err;
  });
  const nodes = await startNodeLifecycle({
    store, log: opts.log, now,
    ...(opts.nodeGraceMs === undefined ? {} : { graceMs: opts.nodeGraceMs }),
    ...(opts.resyncMs === undefined ? {} : { resyncMs: opts.resyncMs }),
  }).catch(async (err: unknown) => {
    await endpoints.stop();
    await health.stop();
    await loop.stop();
    throw err;
  });
  return {
    stop: async () => {
      clearTimeout(availableTimer);
      await nodes.stop();
      await endpoints.stop();
      await health.stop();
      await loop.stop();
    },
    idle: async () => {
      await loop.idle();
      await health.idle();
      await endpoints.idle();
      await nodes.idle();
    },
  };
}
