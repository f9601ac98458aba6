// The read endpoints of `berth describe` (GET /api/v1/describe/pods|deployments|nodes|sources): the
// records each description needs, read with the same helpers as the lists, folded by describe.ts.
import {
  CORDONS, ENDPOINTS, EVENTS, FOLLOWED, HEALTH, HISTORY, LOST_NODES, NODES, PODS, SOURCES, STATUS, SUSPENDED, SYNC_ERRORS, decode, followedKey, healthKey, readSeal, type Store,
} from '../store/index.js';
import type { FollowedRecord } from '../store/records.js';
import { readCommitStory } from './control.js';
import { describeDeployment, describeNode, describePod, describeSource } from './describe.js';
import { readCluster, readEvents, readHistory, readNodes, readSealed, readSuspensions, readSyncErrors } from './read.js';
import { sourceExists, type Resource } from './resources.js';
import { selectNamed, selectNamespaced } from './select.js';
import type { CommitStoryView } from './story.js';
import { deploymentViews, eventViews, historyViews, suspendedView } from './views.js';
import { BerthError } from '../errors.js';

const selector = (q: { namespace?: string; name?: string }): { namespace?: string; name?: string } => ({
  ...(q.namespace === undefined ? {} : { namespace: q.namespace }),
  ...(q.name === undefined ? {} : { name: q.name }),
});

/** The story of the commit in force of `source`, when it has one (its history always keeps it). */
async function inForceStory(store: Store, source: string, now: Date): Promise<CommitStoryView | undefined> {
  const sealed = await readSeal(store, source);
  if (!sealed) return undefined;
  return readCommitStory(store, source, sealed.seal.commit, now).catch(() => undefined);
}

/** The read endpoints of `berth describe`, one per kind; each answers `{items: [description]}`. */
export const DESCRIBE_RESOURCES: readonly Resource[] = [
  {
    path: 'describe/pods',
    params: ['namespace', 'name'],
    watch: [PODS, STATUS, NODES, EVENTS],
    async read(store, q, now) {
      const cluster = await readCluster(store);
      const events = await readEvents(store);
      const nodes = new Set(cluster.nodes.map((n) => n.name));
      const views = eventViews(events.records, now);
      const pods = selectNamespaced(cluster.pods, { singular: 'pod', plural: 'pods' }, selector(q));
      return { items: pods.map((p) => describePod(p, cluster.statuses, nodes, views, now)), skipped: [...cluster.skipped, ...events.skipped] };
    },
  },
  {
    path: 'describe/deployments',
    params: ['namespace', 'name'],
    watch: [SOURCES, PODS, STATUS, NODES, EVENTS, HISTORY, HEALTH],
    async read(store, q, now) {
      const sealed = await readSealed(store);
      const cluster = await readCluster(store);
      const events = await readEvents(store);
      const nodes = new Set(cluster.nodes.map((n) => n.name));
      const views = deploymentViews(sealed.deployments, cluster.pods, cluster.statuses, nodes);
      const chosen = selectNamespaced(views, { singular: 'deployment', plural: 'deployments' }, selector(q));
      const eventRows = eventViews(events.records, now);
      const stories = new Map<string, CommitStoryView | undefined>();
      const items = [];
      for (const view of chosen) {
        const deployment = sealed.deployments.find((d) => d.source === view.source && d.object.namespace === view.namespace && d.object.name === view.name);
        if (!deployment) continue;
        if (!stories.has(view.source)) stories.set(view.source, await inForceStory(store, view.source, now));
        const inForce = stories.get(view.source);
        const pods = cluster.pods.filter((p) => p.owner.source === view.source && p.namespace === view.namespace && p.owner.name === view.name);
        items.push(describeDeployment({ deployment, view, pods, statuses: cluster.statuses, nodes, events: eventRows, now, ...(inForce ? { inForce } : {}) }));
      }
      return { items, skipped: [...sealed.skipped, ...cluster.skipped, ...events.skipped] };
    },
  },
  {
    path: 'describe/nodes',
    params: ['name'],
    watch: [NODES, PODS, STATUS, LOST_NODES, CORDONS, EVENTS],
    async read(store, q, now) {
      const cluster = await readNodes(store);
      const { statuses, skipped } = await readCluster(store);
      const events = await readEvents(store);
      const names = [...new Set([...cluster.nodes.map((n) => n.name), ...cluster.lost.map((l) => l.name)])].sort().map((name) => ({ name }));
      const eventRows = eventViews(events.records, now);
      const items = selectNamed(names, { singular: 'node', plural: 'nodes' }, q.name).map(({ name }) => {
        const node = cluster.nodes.find((n) => n.name === name);
        const lost = cluster.lost.find((l) => l.name === name);
        const cordon = cluster.cordons.find((c) => c.name === name);
        return describeNode({
          name, pods: cluster.pods.filter((p) => p.node === name), statuses, events: eventRows, now,
          ...(node ? { node } : {}), ...(lost ? { lost } : {}), ...(cordon ? { cordon } : {}),
        });
      });
      return { items, skipped: [...cluster.skipped, ...skipped, ...events.skipped] };
    },
  },
  {
    path: 'describe/sources',
    params: ['name'],
    watch: [SOURCES, HISTORY, HEALTH, SYNC_ERRORS, SUSPENDED, PODS, STATUS, NODES, EVENTS, FOLLOWED, ENDPOINTS],
    async read(store, q, now) {
      const sealed = await readSealed(store);
      const history = await readHistory(store);
      const errors = await readSyncErrors(store);
      const names = [...new Set([...sealed.seals.map((s) => s.source), ...history.records.map((h) => h.source), ...errors.records.map((e) => e.source)])].sort();
      if (q.name !== undefined && !names.includes(q.name) && !(await sourceExists(store, q.name))) {
        throw new BerthError('ENOTFOUND', `source "${q.name}" not found`, { hint: 'list the sources with `berth status`' });
      }
      const cluster = await readCluster(store);
      const events = await readEvents(store);
      const suspended = await readSuspensions(store);
      const nodes = new Set(cluster.nodes.map((n) => n.name));
      const deployments = deploymentViews(sealed.deployments, cluster.pods, cluster.statuses, nodes);
      const eventRows = eventViews(events.records, now);
      const items = [];
      for (const name of q.name === undefined ? names : [q.name]) {
        const followedEntry = await store.get(followedKey(name));
        const followed: FollowedRecord | undefined = followedEntry && decode('followed', followedEntry.key, followedEntry.value);
        const healthEntry = await store.get(healthKey(name));
        const health = healthEntry && decode('health', healthEntry.key, healthEntry.value);
        const seal = sealed.seals.find((s) => s.source === name);
        const inForce = await inForceStory(store, name, now);
        const error = errors.records.find((e) => e.source === name);
        const suspension = suspended.records.find((s) => s.source === name);
        items.push(describeSource({
          name, now, events: eventRows,
          history: historyViews(history.records.filter((h) => h.source === name), now),
          deployments: deployments.filter((d) => d.source === name),
          ...(followed ? { followed } : {}), ...(seal ? { seal } : {}), ...(inForce ? { inForce } : {}), ...(health ? { health } : {}),
          ...(error ? { error } : {}), ...(suspension ? { suspended: suspendedView(suspension, now) } : {}),
        }));
      }
      return { items, skipped: [...sealed.skipped, ...history.skipped, ...errors.skipped, ...cluster.skipped, ...events.skipped, ...suspended.skipped] };
    },
  },
];
