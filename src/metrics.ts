// The metrics of this process's components (prom-client: this file and src/api/metrics.ts are its
// only importers). Components count and time what they do here; the API server in the same process
// (`berth up`) shows them on /metrics beside its own and the gauges it reads from etcd.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { kindOf } from './errors.js';

/** The registry of this process's component metrics. */
export const componentRegistry = new Registry();
const registers = [componentRegistry];
/** Seconds: from a fast etcd read to a slow image pull. */
const BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Each reconcile pass of each component's loop, by result (ok, or the error's kind). */
export const reconciles = new Counter({ name: 'berth_reconciles_total', help: 'Reconcile passes of each component loop, by result: ok, or the kind of error (input, conflict, unavailable, unexpected)', labelNames: ['component', 'result'], registers });
/** Reconcile errors by component and kind. */
export const reconcileErrors = new Counter({ name: 'berth_reconcile_errors_total', help: 'Reconcile passes that failed, by component and kind of error', labelNames: ['component', 'kind'], registers });
export const reconcileSeconds = new Histogram({ name: 'berth_reconcile_duration_seconds', help: 'Time of one reconcile pass, by component', labelNames: ['component'], buckets: BUCKETS, registers });
/** Keys waiting when a keyed loop takes its next batch. */
export const queueDepth = new Gauge({ name: 'berth_queue_depth', help: 'Keys a keyed component loop took for its last pass (its work queue depth then)', labelNames: ['component'], registers });

export const syncSeconds = new Histogram({ name: 'berth_sync_duration_seconds', help: 'Time from reading a new commit to its seal (or its refusal), per source', labelNames: ['source', 'outcome'], buckets: BUCKETS, registers });
export const syncLastSuccess = new Gauge({ name: 'berth_sync_last_success_timestamp_seconds', help: 'When sync last applied a commit of the source, as a Unix time', labelNames: ['source'], registers });
export const objectsApplied = new Counter({ name: 'berth_sync_objects_applied_total', help: 'Objects written to desired state by sync, per source and action (create, update, delete)', labelNames: ['source', 'action'], registers });
export const commitsRejected = new Counter({ name: 'berth_sync_commits_rejected_total', help: 'Commits sync refused, per source', labelNames: ['source'], registers });
export const statusDeliveries = new Counter({ name: 'berth_status_deliveries_total', help: 'Commit statuses delivered (git notes or a forge) per source, and failed delivery passes', labelNames: ['source', 'result'], registers });

export const schedulingSeconds = new Histogram({ name: 'berth_scheduling_latency_seconds', help: "From a pod's creation by the controller to its binding to a node", buckets: BUCKETS, registers });

export const containerOps = new Counter({ name: 'berth_container_operations_total', help: 'Docker operations of the agents, by operation and result (ok, error)', labelNames: ['operation', 'result'], registers });
export const containerOpSeconds = new Histogram({ name: 'berth_container_operation_duration_seconds', help: 'Time of a Docker operation of the agents, by operation', labelNames: ['operation'], buckets: BUCKETS, registers });
export const driftEvents = new Counter({ name: 'berth_drift_events_total', help: "Pods found drifted from their binding (a container stopped, killed or removed from outside), per node", labelNames: ['node'], registers });
export const healSeconds = new Histogram({ name: 'berth_drift_heal_seconds', help: 'From a drift seen to the pod healed, per node', labelNames: ['node'], buckets: BUCKETS, registers });

export const etcdSeconds = new Histogram({ name: 'berth_etcd_request_duration_seconds', help: 'Time of an etcd request, by operation (get, range, txn, lease)', labelNames: ['operation'], buckets: BUCKETS, registers });
export const etcdErrors = new Counter({ name: 'berth_etcd_request_errors_total', help: 'etcd requests that failed, by operation', labelNames: ['operation'], registers });

/** Time `fn` with `end`, and call `ok` or `failed` by how it went. */
async function measure<T>(fn: () => Promise<T>, end: () => void, ok: () => void, failed: () => void): Promise<T> {
  try {
    const out = await fn();
    ok();
    return out;
  } catch (err) {
    failed();
    throw err;
  } finally {
    end();
  }
}

/** Run a Docker operation of an agent, timed and counted by result. */
export function timedContainerOp<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  return measure(fn, containerOpSeconds.startTimer({ operation }), () => containerOps.inc({ operation, result: 'ok' }), () => containerOps.inc({ operation, result: 'error' }));
}

/** Run an etcd request, timed, its failure counted. */
export function timedEtcd<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  return measure(fn, etcdSeconds.startTimer({ operation }), () => undefined, () => etcdErrors.inc({ operation }));
}

/** Count one reconcile pass of `component` that took `seconds`, and its error if it failed. */
export function countReconcile(component: string, seconds: number, err?: unknown): void {
  reconcileSeconds.observe({ component }, seconds);
  if (err === undefined) {
    reconciles.inc({ component, result: 'ok' });
    return;
  }
  const kind = kindOf(err);
  reconciles.inc({ component, result: kind });
  reconcileErrors.inc({ component, kind });
}
