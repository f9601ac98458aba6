// Prometheus metrics of the API server: its own HTTP traffic, gauges read from etcd at each scrape,
// and the metrics of the components in its process (src/metrics.ts: all of them within `berth up`).
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { componentRegistry } from '../metrics.js';
import { OUTBOX, type Store } from '../store/index.js';
import { podState, indexStatuses } from './pod-state.js';
import { readCluster, readHistory, readSealed, readSyncErrors } from './read.js';

/** The metrics one API server exposes; each server has its own registry (several may share a process in tests). */
export interface ApiMetrics {
  /** Count and time one answered request. */
  observe(method: string, route: string, status: number, seconds: number): void;
  /** The text of `/metrics`, with the etcd-backed gauges read now. */
  render(store: Store): Promise<{ contentType: string; text: string }>;
}

/** Build the registry. Nothing is cached between scrapes: several API servers read the same etcd and agree. */
export function createMetrics(): ApiMetrics {
  const registry = new Registry();
  const registers = [registry];
  const requests = new Counter({
    name: 'berth_http_requests_total', help: 'HTTP requests answered by the API server', labelNames: ['method', 'route', 'status_code'], registers,
  });
  const durations = new Histogram({
    name: 'berth_http_request_duration_seconds', help: 'Time to answer an HTTP request of the API server', labelNames: ['method', 'route'], registers,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  });
  const lastApplied = new Gauge({
    name: 'berth_source_last_applied_timestamp_seconds', help: 'When the commit in force of a source was applied (its seal), as a Unix time', labelNames: ['source'], registers,
  });
  const commits = new Gauge({
    name: 'berth_source_commits', help: 'Commits sync looked at per source, by outcome (applied or rejected), as kept in its history', labelNames: ['source', 'outcome'], registers,
  });
  const stuck = new Gauge({
    name: 'berth_source_sync_stuck', help: '1 while sync of a source cannot proceed (the error berth status shows), else 0', labelNames: ['source'], registers,
  });
  const pods = new Gauge({ name: 'berth_pods', help: 'Pods by phase (the STATUS of berth get pods)', labelNames: ['phase'], registers });
  const nodes = new Gauge({ name: 'berth_nodes', help: 'Nodes registered (agents holding their lease)', registers });
  const backlog = new Gauge({
    name: 'berth_status_outbox_backlog', help: 'Commit statuses waiting in etcd to be delivered (git notes or a forge), per source', labelNames: ['source'], registers,
  });

  const readStore = async (store: Store): Promise<void> => {
    const [sealed, history, errors, cluster] = [await readSealed(store), await readHistory(store), await readSyncErrors(store), await readCluster(store)];
    lastApplied.reset();
    for (const s of sealed.seals) {
      const t = Date.parse(s.time);
      if (Number.isFinite(t)) lastApplied.set({ source: s.source }, t / 1000);
    }
    commits.reset();
    const sources = new Set([...sealed.seals.map((s) => s.source), ...history.records.map((h) => h.source), ...errors.records.map((e) => e.source)]);
    for (const source of sources) for (const outcome of ['applied', 'rejected']) commits.set({ source, outcome }, 0);
    for (const h of history.records) commits.inc({ source: h.source, outcome: h.outcome });
    stuck.reset();
    for (const source of sources) stuck.set({ source }, errors.records.some((e) => e.source === source) ? 1 : 0);
    pods.reset();
    const index = indexStatuses(cluster.statuses);
    const registered = new Set(cluster.nodes.map((n) => n.name));
    for (const p of cluster.pods) pods.inc({ phase: podState(p, index, registered).status });
    nodes.set(cluster.nodes.length);
    backlog.reset();
    for (const source of sources) backlog.set({ source }, 0);
    // One entry per status; an entry too large for one value has parts (`…-001`), not counted again.
    for (const e of (await store.list(OUTBOX)).entries) {
      const [source, seq] = e.key.slice(OUTBOX.length).split('/');
      if (source !== undefined && seq !== undefined && !seq.includes('-')) backlog.inc({ source });
    }
  };

  return {
    observe(method, route, status, seconds) {
      requests.inc({ method, route, status_code: String(status) });
      durations.observe({ method, route }, seconds);
    },
    async render(store) {
      await readStore(store);
      return { contentType: registry.contentType, text: await Registry.merge([registry, componentRegistry]).metrics() };
    },
  };
}
