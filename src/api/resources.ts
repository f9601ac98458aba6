// What each read endpoint of /api/v1 lists: the same reads and views as `berth get/status/history/events`.
import {
  CORDONS, ENDPOINTS, EVENTS, HEALTH, HISTORY, LOST_NODES, NODES, PODS, SOURCES, STATUS, SUSPENDED, SYNC_ERRORS, decodeAll, historyPrefix, readAllSealed, readSealed as readSourceSealed, sourceKey, syncErrorKey,
  type Sealed, type Store,
} from '../store/index.js';
import { readCluster, readEndpoints, readNodes, readEvents, readHealth, readHistory, readSealed, readSuspensions, readSyncErrors } from './read.js';
import { selectNamed, selectNamespaced } from './select.js';
import { deploymentViews, eventViews, historyViews, nodeViews, podViews, serviceViews, statusViews } from './views.js';
import { redactSecret } from '../manifest/index.js';

/** The query parameters of the read endpoints (validated by the route's JSON schema first). */
export interface ReadQuery {
  namespace?: string;
  name?: string;
  source?: string;
  limit?: number;
  /** `1` or `true`: stream changes as server-sent events. */
  watch?: '0' | '1' | 'true' | 'false';
}

/** The rows of one read, and the stored values that could not be decoded (named, not fatal). */
export interface Listing {
  items: unknown[];
  skipped: string[];
}

/** One read endpoint: its path under /api/v1, its parameters, the key prefixes whose changes alter it, and the read. */
export interface Resource {
  path: string;
  params: readonly (keyof Omit<ReadQuery, 'watch'>)[];
  watch: readonly string[];
  read(store: Store, q: ReadQuery, now: Date): Promise<Listing>;
}

const POD = { singular: 'pod', plural: 'pods' };
const DEPLOYMENT = { singular: 'deployment', plural: 'deployments' };
const NODE = { singular: 'node', plural: 'nodes' };
const SOURCE = { singular: 'source', plural: 'sources' };
const SERVICE = { singular: 'service', plural: 'services' };

const selector = (q: ReadQuery): { namespace?: string; name?: string } => ({
  ...(q.namespace === undefined ? {} : { namespace: q.namespace }),
  ...(q.name === undefined ? {} : { name: q.name }),
});

/** The read endpoints, in the order the API lists them. */
export const RESOURCES: readonly Resource[] = [
  {
    path: 'sources',
    params: ['name'],
    // desired/ changes with every apply; the seal (sources/) is what marks it done.
    watch: [SOURCES, HISTORY, HEALTH, SYNC_ERRORS, SUSPENDED, PODS, STATUS, NODES],
    async read(store, q, now) {
      const sealed = await readSealed(store);
      const cluster = await readCluster(store);
      const history = await readHistory(store);
      const health = await readHealth(store);
      const errors = await readSyncErrors(store);
      const suspended = await readSuspensions(store);
      const nodes = new Set(cluster.nodes.map((n) => n.name));
      const deployments = deploymentViews(sealed.deployments, cluster.pods, cluster.statuses, nodes);
      const views = statusViews(sealed.seals, history.records, deployments, now, health.records, errors.records, suspended.records);
      return {
        items: selectNamed(views.map((v) => ({ ...v, name: v.source })), SOURCE, q.name),
        skipped: [...sealed.skipped, ...cluster.skipped, ...history.skipped, ...health.skipped, ...errors.skipped, ...suspended.skipped],
      };
    },
  },
  {
    path: 'deployments',
    params: ['namespace', 'name'],
    watch: [SOURCES, PODS, STATUS, NODES],
    async read(store, q) {
      const sealed = await readSealed(store);
      const cluster = await readCluster(store);
      const nodes = new Set(cluster.nodes.map((n) => n.name));
      const rows = deploymentViews(sealed.deployments, cluster.pods, cluster.statuses, nodes);
      return { items: selectNamespaced(rows, DEPLOYMENT, selector(q)), skipped: [...sealed.skipped, ...cluster.skipped] };
    },
  },
  {
    path: 'pods',
    params: ['namespace', 'name'],
    watch: [PODS, STATUS, NODES],
    async read(store, q, now) {
      const cluster = await readCluster(store);
      const nodes = new Set(cluster.nodes.map((n) => n.name));
      return { items: selectNamespaced(podViews(cluster.pods, cluster.statuses, now, nodes), POD, selector(q)), skipped: cluster.skipped };
    },
  },
  {
    path: 'nodes',
    params: ['name'],
    watch: [NODES, PODS, LOST_NODES, CORDONS],
    async read(store, q, now) {
      const cluster = await readNodes(store);
      return { items: selectNamed(nodeViews(cluster.nodes, cluster.pods, now, cluster), NODE, q.name), skipped: cluster.skipped };
    },
  },
  {
    path: 'services',
    params: ['namespace', 'name'],
    watch: [ENDPOINTS],
    async read(store, q) {
      const { records, skipped } = await readEndpoints(store);
      return { items: selectNamespaced(serviceViews(records), SERVICE, selector(q)), skipped };
    },
  },
  {
    path: 'history',
    params: ['source', 'limit'],
    watch: [HISTORY],
    async read(store, q, now) {
      const { records, skipped } = await readHistory(store, q.source);
      const all = historyViews(records, now);
      return { items: q.limit === undefined ? all : all.slice(Math.max(0, all.length - q.limit)), skipped };
    },
  },
  {
    // Each source's desired objects as sealed (normalized, defaults filled in): what `berth diff` compares a commit with.
    path: 'desired',
    params: ['source'],
    watch: [SOURCES],
    async read(store, q) {
      const one = q.source === undefined ? undefined : await readSourceSealed(store, q.source);
      const sealed: Sealed[] = q.source === undefined ? (await readAllSealed(store)).sealed : one ? [one] : [];
      const items: unknown[] = [];
      const skipped: string[] = [];
      for (const s of sealed) {
        if (!s.exact) skipped.push(`source ${s.source}: the revision of its seal was compacted while a newer commit is being applied; objects that commit changed are not shown`);
        const { items: records, corrupt } = decodeAll('desired', s.entries);
        for (const c of corrupt) skipped.push(c.reason);
        // A Secret as its ciphertext and keys, never a plain value; its hash tells `berth diff` whether it changed.
        for (const { record } of records) items.push({ source: s.source, commit: s.seal.commit, object: redactSecret(record.object) });
      }
      return { items, skipped };
    },
  },
  {
    path: 'events',
    params: [],
    watch: [EVENTS],
    async read(store, _q, now) {
      const { records, skipped } = await readEvents(store);
      return { items: eventViews(records, now), skipped };
    },
  },
];

/** Whether `source` is known: it has a seal, a sync error or a history. */
export async function sourceExists(store: Store, source: string): Promise<boolean> {
  if ((await store.get(sourceKey(source))) !== undefined || (await store.get(syncErrorKey(source))) !== undefined) return true;
  return (await store.list(historyPrefix(source))).entries.length > 0;
}

/** The read endpoint at `path` (sources, pods …); the CLI reads through the same ones when it reads etcd directly. */
export function resourceAt(path: string): Resource {
  const found = RESOURCES.find((r) => r.path === path);
  if (!found) throw new Error(`no read endpoint ${path}`);
  return found;
}
