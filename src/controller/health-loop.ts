import { BerthError, messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import { ReportOnce } from '../report-once.js';
import {
  HEALTH, commitSequenced, decode, encode, healthKey, outboxKey, podKey, rerunWhileLosing, sourceKey, startKeyedLoop,
  type Batch, type HealthRecord, type Loop, type PodRecord, type Store,
} from '../store/index.js';
import { deploymentHealth, foldHealth, sortDeployments, type CommitHealth, type DeploymentHealth, type DeploymentHealthInput } from './health.js';
import { planHealthReport } from './health-report.js';
import { ClusterView, ownerOf, sameDeployment, type SealedSource } from './view.js';
import type { DesiredDeployment } from './pods.js';
import { systemTimer, Wakes, type SetTimer } from './wakes.js';

/** How to run the health reporter. */
export interface HealthLoopOptions {
  store: Store;
  log: Logger;
  /** Period of the pass over everything without events (default: the keyed loop's KEYED_RESYNC_MS, 5 min). */
  resyncMs?: number;
  /** The clock verdicts are judged by (default: the system's). */
  now?: () => Date;
  /** Where the wake-up for a verdict due to change with time (a settle window, a node's grace) is set; pairs with `now`. */
  setTimer?: SetTimer;
  /** How long a restarted container must run before its pod counts as ready again (default SETTLE_MS, 10 s). */
  settleMs?: number;
  /** How long a node may be unregistered before its pods count as lost (default NODE_GRACE_MS, 40 s). */
  nodeGraceMs?: number;
  /** The controller's shared view; without one the loop opens its own. */
  view?: ClusterView;
}

export { systemTimer, type SetTimer };

/**
 * How long a node may be unregistered before its pods count as lost (Kubernetes' node-monitor grace
 * period). A `berth up` stopped and started again is such a gap, and its agent registers after the
 * controller's first look; only a node gone for longer is news.
 */
export const NODE_GRACE_MS = 40_000;

/** The work key that stands for "every source" (a node's grace ended: its pods may be lost). */
const ALL_SOURCES = '';

/**
 * Fold pod status into `berth/health` for the commit in force of every source, per source: a work
 * queue of source names fed by the view (a seal, a pod or a pod status of that source; a node
 * queues every source) and by wake-ups when a verdict is due to change with time. For each queued
 * source it computes the commit's health from memory and, when it is news (planHealthReport), puts
 * the statuses into the outbox, which sync delivers. The report and `health/<source>` are written
 * in one txn guarded by both the previous `health/<source>` and the seal, so a restarted or second
 * controller never reports a thing twice, and a commit no longer in force gets nothing more.
 */
export async function startHealthLoop(opts: HealthLoopOptions): Promise<Loop> {
  const { store } = opts;
  const log = opts.log.child({ component: 'health' });
  const now = opts.now ?? (() => new Date());
  const setTimer = opts.setTimer ?? systemTimer;
  const once = new ReportOnce();
  const view = opts.view ?? (await ClusterView.open(store, log));
  let due = (_source: string): void => undefined;
  const wakes = new Wakes(setTimer, now, (source) => due(source));
  // When each node that pods are bound to was first seen unregistered. Kept in this process only: a
  // restart forgets it, which merely starts the grace again.
  const missingSince = new Map<string, number>();
  const nodeGraceMs = opts.nodeGraceMs ?? NODE_GRACE_MS;

  /** Nodes whose pods still count: the registered ones, and those missing for less than NODE_GRACE_MS. */
  const liveNodes = (registered: ReadonlySet<string>, used: ReadonlySet<string>, at: number): { live: Set<string>; recheckAt: number | undefined } => {
    const live = new Set(registered);
    let recheckAt: number | undefined;
    for (const n of [...missingSince.keys()]) if (registered.has(n) || !used.has(n)) missingSince.delete(n);
    for (const n of used) {
      if (registered.has(n)) continue;
      const since = missingSince.get(n) ?? at;
      missingSince.set(n, since);
      if (at < since + nodeGraceMs) {
        live.add(n);
        recheckAt = Math.min(recheckAt ?? Infinity, since + nodeGraceMs);
      }
    }
    return { live, recheckAt };
  };

  /** The last report of a source; an unreadable one counts as none. */
  const readHealth = (key: string, value: string): HealthRecord | undefined => {
    try {
      return decode('health', key, value);
    } catch (err) {
      if (!(err instanceof BerthError)) throw err;
      // Rewritten by this pass (the txn is guarded by its modRevision): the commit starts over at pending.
      if (once.fresh(key, 'corrupt')) log.warn({ key, err: messageOf(err) }, 'last health report unreadable; reporting afresh');
      return undefined;
    }
  };

  /**
   * Each source's Deployments' shares of its health (deploymentHealth), for the seal they were
   * judged under; `dirty` names the owners whose pods or statuses changed since ('all': judge every
   * Deployment again: a new seal, a node, a wake-up).
   */
  const shares = new Map<string, { seal: string; owners: string[]; parts: Map<string, { d: DesiredDeployment; part: DeploymentHealth }> }>();
  const dirty = new Map<string, Set<string> | 'all'>();
  const touch = (source: string, owner?: string): void => {
    const d = dirty.get(source);
    if (owner === undefined) dirty.set(source, 'all');
    else if (d === undefined) dirty.set(source, new Set([owner]));
    else if (d !== 'all') d.add(owner);
  };
  let liveKey = '';

  /** The health of a source's commit, judging again only the Deployments that changed. */
  const healthOf = (source: string, sealed: SealedSource, live: ReadonlySet<string>, at: Date): CommitHealth => {
    const sealId = `${sealed.seal.commit}@${sealed.modRevision}`;
    let judged = 0;
    let held = shares.get(source);
    const changed = dirty.get(source);
    dirty.delete(source);
    const ctx: DeploymentHealthInput = {
      seal: sealed.seal, pod: (key) => view.pods.get(key), statuses: view.statusIndex, nodes: live, now: at,
      ...(opts.settleMs === undefined ? {} : { settleMs: opts.settleMs }),
    };
    const rejudge = (owner: string, d: DesiredDeployment): void => {
      judged++;
      held?.parts.set(owner, { d, part: deploymentHealth(d, ctx) });
    };
    if (held === undefined || changed === 'all') {
      held = { seal: sealId, owners: ownersInOrder(sealed), parts: new Map() };
      for (const [owner, d] of sealed.deployments) rejudge(owner, d);
    } else if (held.seal !== sealId) {
      // A new seal: a Deployment it left as it was, whose replicas were all ready, keeps its share (the
      // seal's time counts only for a rollout not yet done: its progress deadline), so a commit that
      // changes one Deployment judges that one again, not every pod of the source.
      const before = held.parts;
      held = { seal: sealId, owners: ownersInOrder(sealed), parts: new Map() };
      for (const [owner, d] of sealed.deployments) {
        const kept = before.get(owner);
        if (kept && !changed?.has(owner) && sameDeployment(kept.d, d) && isSettled(kept.part)) held.parts.set(owner, { d, part: kept.part });
        else rejudge(owner, d);
      }
    } else {
      for (const owner of changed ?? []) {
        const d = sealed.deployments.get(owner);
        if (d) rejudge(owner, d);
      }
    }
    shares.set(source, held);
    const parts = held.owners.flatMap((o) => {
      const p = held?.parts.get(o);
      return p ? [p.part] : [];
    });
    if (judged > 0) log.debug({ source, judged }, 'deployments judged');
    return foldHealth(sealed.seal, parts, at);
  };

  /** Judge one source and report what is news; returns 1 when the report lost a race. */
  const judge = async (source: string, live: ReadonlySet<string>, sealedSources: ReadonlySet<string>): Promise<number> => {
    const key = healthKey(source);
    const sealed = view.sources.get(source);
    if (sealed === undefined) {
      shares.delete(source);
      // The last report of a source whose seal is gone goes too (a source read back later starts afresh).
      const entry = sealedSources.has(source) ? undefined : await store.get(key);
      if (entry) await store.commit({ ifUnchanged: { [key]: entry.modRevision }, del: [key] });
      wakes.set(source, undefined);
      return 0;
    }
    const { seal, modRevision } = sealed;
    const at = now();
    const health = healthOf(source, sealed, live, at);
    wakes.set(source, health.recheckAt?.getTime());
    const entry = await store.get(key);
    const report = planHealthReport(entry && readHealth(entry.key, entry.value), seal, health, at);
    if (!report) return 0;

    const guard = { [sourceKey(seal.source)]: modRevision, [key]: entry?.modRevision ?? 0 };
    const seq = await commitSequenced(
      store,
      {
        at: (n) => report.entries.map((e, i) => ({ key: outboxKey(seal.source, n + i), value: encode(e) })),
        ifUnchanged: guard,
        put: [{ key, value: encode(report.record) }],
        lost: async () => !(await holds(store, guard)),
      },
      `reporting the health of ${seal.commit.slice(0, 7)} of source ${seal.source}`,
    );
    if (seq === undefined) return 1;
    for (const e of report.entries) log.info({ source: seal.source, commit: seal.commit, state: e.state }, `berth/health ${e.state}: ${e.description}`);
    return 0;
  };

  /** One judge-report pass over the batch's sources; returns how many reports lost a race. */
  const pass = async (batch: Batch): Promise<number> => {
    const sealedSources = view.sealedSources();
    let sources: Iterable<string> = batch.keys;
    if (batch.all) {
      // Every source with a seal, and every one with a last report (its seal may be gone).
      const reported = (await store.list(HEALTH)).entries.map((e) => e.key.slice(HEALTH.length));
      sources = new Set([...view.sources.keys(), ...sealedSources, ...reported]);
    }
    const { live, recheckAt } = liveNodes(view.nodeNames(), view.usedNodes(), now().getTime());
    wakes.set(ALL_SOURCES, recheckAt);
    // Which nodes count changes every pod's verdict on them: judge everything again. (A resync
    // folds the shares it has: events and wake-ups keep them current.)
    const key = [...live].sort().join('\n');
    if (key !== liveKey) for (const source of view.sources.keys()) touch(source);
    liveKey = key;
    let lost = 0;
    for (const source of sources) {
      if (!view.skipped.has(source)) lost += await judge(source, live, sealedSources);
    }
    wakes.arm();
    return lost;
  };

  const queue = await startKeyedLoop({
    store, log, ...(opts.resyncMs === undefined ? {} : { resyncMs: opts.resyncMs }),
    prepare: () => view.refreshSeals(),
    work: async (batch) => {
      await rerunWhileLosing(() => pass(batch), {
        code: 'EHEALTHRACE',
        message: (lost) => `health reports kept losing to other writers (${lost} in the last pass)`,
        hint: 'run one controller (`berth controller` or `berth up`) per etcd --prefix (they elect one leader; a second writer is something else writing the same keys); this pass is retried',
        onRetry: (lost, attempt) => log.debug({ lost, attempt }, 'a seal or a health report changed while reporting; re-reading'),
      });
      if (batch.all) once.endRound();
    },
  });
  due = (source) => {
    if (source === ALL_SOURCES) return queue.addAll();
    touch(source);
    queue.add(source);
  };
  const podChanged = (p: PodRecord): void => {
    touch(p.owner.source, ownerOf(p));
    queue.add(p.owner.source);
  };
  view.subscribe({
    pod: (_key, before, after) => {
      if (before) podChanged(before);
      if (after) podChanged(after);
    },
    status: (_key, before, after) => {
      const s = after ?? before;
      const p = s && view.pods.get(podKey(s.namespace, s.pod));
      if (p !== undefined && p.node === s?.node) podChanged(p);
    },
    node: () => {
      for (const source of view.sources.keys()) queue.add(source);
    },
    // A new seal is judged against the shares of the last one (healthOf): only what it changed again.
    sealChanged: (source) => queue.add(source),
    sealed: (source, owners) => {
      for (const o of owners) touch(source, o);
      queue.add(source);
    },
    everything: () => {
      for (const source of view.sources.keys()) touch(source);
      queue.addAll();
    },
  });
  return {
    kick: queue.kick,
    idle: () => queue.idle(),
    stop: async () => {
      wakes.stop();
      await queue.stop();
      wakes.stop();
      if (opts.view === undefined) await view.close();
    },
  };
}

/** The owners of a source's Deployments in the order its health names them (sortDeployments). */
function ownersInOrder(sealed: SealedSource): string[] {
  return sortDeployments([...sealed.deployments.entries()].map(([owner, d]) => ({ owner, object: d.object }))).map((o) => o.owner);
}

/** A share no seal can change: every replica ready, nothing failing (a rollout still going has a progress deadline from its seal). */
function isSettled(part: DeploymentHealth): boolean {
  return part.ready === part.replicas && part.failures.length === 0 && part.recheck === undefined;
}

/** True when every key of `guard` still has the modRevision it names (0: absent). */
async function holds(store: Store, guard: Record<string, number>): Promise<boolean> {
  for (const [key, rev] of Object.entries(guard)) {
    if (((await store.get(key))?.modRevision ?? 0) !== rev) return false;
  }
  return true;
}
