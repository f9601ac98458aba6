import type { Logger } from '../log.js';
import { ReportOnce } from '../report-once.js';
import { podKey, readyCondition, rerunWhileLosing, startKeyedLoop, type Batch, type KeyedLoop, type PodRecord, type PodStatusRecord, type Store } from '../store/index.js';
import { applyPodPlan } from './apply.js';
import { availablePods } from './available.js';
import { planPods, wantedPodKeys, type DesiredDeployment } from './pods.js';
import { systemTimer, Wakes } from './wakes.js';
import { ownerKey, ownerOf, sourceOfOwner, type ClusterView } from './view.js';

/** How to run the pods loop. */
export interface PodsLoopOptions {
  store: Store;
  log: Logger;
  view: ClusterView;
  now: () => Date;
  resyncMs?: number;
}

const keyOf = (p: PodRecord): string => podKey(p.namespace, p.name);

/** What of a status paces a rollout: its template, whether it is Ready, and since when. */
const pace = (s: PodStatusRecord | undefined): string => {
  const ready = readyCondition(s);
  return s === undefined ? '' : `${s.templateHash}|${ready?.status ?? ''}|${ready?.lastTransitionTime ?? s.observedAt}`;
};

/**
 * Deployments → pods, per Deployment: a work queue of owner keys (`<source>:<namespace>/<name>`)
 * fed by the view. A changed Deployment (a seal read again), a pod of it created or deleted, or a
 * status that changes a pod's readiness queues that one owner; each pass plans the queued owners
 * (planPods, one rollout step each) from memory and writes only their pods. A bind (only the
 * pod's node changed) and a status write that leaves readiness as it was queue nothing.
 */
export async function startPodsLoop(opts: PodsLoopOptions): Promise<KeyedLoop> {
  const { store, view, now } = opts;
  const log = opts.log;
  const once = new ReportOnce();
  let due = (_owner: string): void => undefined;
  // Owners with a pod that turns available at a time, with no write to the store: wake them then.
  const wakes = new Wakes(systemTimer, now, (owner) => due(owner));

  /** One plan-apply pass over the batch's owners; returns how many txns lost a race. */
  const pass = async (batch: Batch): Promise<number> => {
    for (const [source, reason] of view.skipped) {
      if (once.fresh(`source:${source}`, reason)) log.warn({ source, reason }, 'source skipped; its pods are left as they are');
    }
    const sealed = view.sealedSources();
    const owners = batch.all ? new Set([...view.owners(), ...[...view.sources.values()].flatMap((s) => [...s.deployments.keys()])]) : batch.keys;
    const deployments: DesiredDeployment[] = [];
    const pods = new Map<string, PodRecord>();
    const sources = new Set<string>();
    const scope = new Set<string>();
    for (const owner of owners) {
      const source = sourceOfOwner(owner);
      const read = view.sources.get(source);
      // A source that cannot be read now, or whose seal is not read yet, is left alone.
      if (view.skipped.has(source) || (read === undefined && sealed.has(source))) continue;
      sources.add(source);
      scope.add(owner);
      for (const p of view.podsOf(owner)) pods.set(keyOf(p), p);
      const d = read?.deployments.get(owner);
      if (d === undefined) continue;
      deployments.push(d);
      // Names it wants that another owner may hold: planPods reports those as conflicts.
      for (const key of wantedPodKeys(d)) {
        const held = view.pods.get(key);
        if (held) pods.set(key, held);
      }
    }
    if (scope.size === 0) return 0;

    const at = now();
    const ready = new Set<string>();
    for (const d of deployments) {
      const owner = ownerKey(d.source, d.object.namespace, d.object.name);
      const own = view.podsOf(owner);
      const statuses = own.flatMap((p) => {
        const s = p.node === undefined ? undefined : view.statusIndex.get(`${p.node}/${p.namespace}/${p.name}`);
        return s ? [s] : [];
      });
      // Rollouts pace on available pods: Ready for minReadySeconds. One becoming available is no write, so wake for it.
      const { available, wakeAt } = availablePods([d], own, statuses, at);
      for (const k of available) ready.add(k);
      wakes.set(owner, wakeAt);
    }
    wakes.arm();

    const list = [...pods.values()];
    const plan = planPods(deployments, list, at, { sources, ready, owners: scope });
    for (const c of plan.conflicts) {
      if (once.fresh(`conflict:${c.key}:${c.wantedBy}`, c.heldBy)) {
        log.warn({ pod: c.key, wantedBy: c.wantedBy, heldBy: c.heldBy }, 'pod name already taken by another owner; two sources declare one Deployment?');
      }
    }
    if (plan.create.length === 0 && plan.delete.length === 0) return 0;

    const modRevisions = new Map(list.map((p) => [keyOf(p), view.pods.records.get(keyOf(p))?.modRevision ?? -1]));
    const lost: string[] = [];
    const result = await applyPodPlan(store, plan, modRevisions, {
      written: (items, how, revision) => {
        for (const p of items) view.pods.remember(keyOf(p), how === 'created' ? p : undefined, revision);
      },
      lost: (items) => lost.push(...items.map(keyOf)),
    });
    // The view of the pods that lost is stale: read them again, so the re-plan sees what won.
    await view.pods.refresh(lost);
    log.info({ created: result.created, deleted: result.deleted, conflicts: result.conflicts }, 'pods reconciled');
    return result.conflicts;
  };

  const queue = await startKeyedLoop({
    store, log, ...(opts.resyncMs === undefined ? {} : { resyncMs: opts.resyncMs }),
    prepare: () => view.refreshSeals(),
    work: async (batch) => {
      await rerunWhileLosing(() => pass(batch), {
        code: 'EPODRACE',
        message: (lost) => `pods kept changing under the controller (${lost} txn(s) lost a race)`,
        hint: 'run one controller (`berth controller` or `berth up`) per etcd --prefix (they elect one leader; a second writer is something else writing the same keys); this pass is retried',
        onRetry: (conflicts, attempt) => log.debug({ conflicts, attempt }, 'pods changed while applying; re-reading'),
      });
      if (batch.all) once.endRound();
    },
  });
  due = (owner) => queue.add(owner);
  view.subscribe({
    pod: (_key, before, after) => {
      // A bind changes only the pod's node: nothing for its Deployment until its status says so.
      if (before && after && ownerOf(before) === ownerOf(after) && before.templateHash === after.templateHash) return;
      if (before) queue.add(ownerOf(before));
      if (after) queue.add(ownerOf(after));
    },
    status: (_key, before, after) => {
      const s = after ?? before;
      if (s === undefined || pace(before) === pace(after)) return;
      const p = view.pods.get(podKey(s.namespace, s.pod));
      if (p !== undefined && p.node === s.node) queue.add(ownerOf(p));
    },
    sealChanged: () => queue.kick(),
    sealed: (_source, owners) => {
      for (const o of owners) queue.add(o);
    },
    everything: () => queue.addAll(),
  });
  return {
    ...queue,
    stop: async () => {
      wakes.stop();
      await queue.stop();
    },
  };
}
