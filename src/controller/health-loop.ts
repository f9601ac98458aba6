import { BerthError, messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import { ReportOnce, reportCorrupt } from '../report-once.js';
import {
  HEALTH, NODES, PODS, SOURCES, STATUS, commitSequenced, decode, encode, healthKey, listDecoded, outboxKey, rerunWhileLosing, sourceKey, startLoop,
  type HealthRecord, type Loop, type RecordOf, type Store,
} from '../store/index.js';
import { readSealedDeployments } from './desired.js';
import { commitHealth } from './health.js';
import { planHealthReport } from './health-report.js';

/** How to run the health reporter. */
export interface HealthLoopOptions {
  store: Store;
  log: Logger;
  /** Full reconcile period without events (default: the loop's 30 s). */
  resyncMs?: number;
  /** The clock verdicts are judged by (default: the system's). */
  now?: () => Date;
  /** Where the wake-up for a verdict due to change with time (a settle window, a node's grace) is set; pairs with `now`. */
  setTimer?: SetTimer;
  /** How long a restarted container must run before its pod counts as ready again (default SETTLE_MS, 10 s). */
  settleMs?: number;
  /** How long a node may be unregistered before its pods count as lost (default NODE_GRACE_MS, 40 s). */
  nodeGraceMs?: number;
}

/** Call `fn` once after `ms`; returns what cancels it. Tests pass a fake one that moves with their clock. */
export type SetTimer = (fn: () => void, ms: number) => () => void;

/** The system's timers; unref'd, so a pending wake-up never keeps the process alive. */
export const systemTimer: SetTimer = (fn, ms) => {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return () => clearTimeout(timer);
};

/**
 * How long a node may be unregistered before its pods count as lost (Kubernetes' node-monitor grace
 * period). A `berth up` stopped and started again is such a gap, and its agent registers after the
 * controller's first look; only a node gone for longer is news.
 */
export const NODE_GRACE_MS = 40_000;

/**
 * Fold pod status into `berth/health` for the commit in force of every source: on any change to a
 * seal, a pod, a pod status or a node (and when a verdict is due to change with time), compute each
 * commit's health and, when it is news (planHealthReport), put the statuses into the outbox, which
 * sync delivers. The report and `health/<source>` are written in one txn guarded by both the
 * previous `health/<source>` and the seal, so a restarted or second controller never reports a
 * thing twice, and a commit no longer in force gets nothing more.
 */
export async function startHealthLoop(opts: HealthLoopOptions): Promise<Loop> {
  const { store } = opts;
  const log = opts.log.child({ component: 'health' });
  const now = opts.now ?? (() => new Date());
  const setTimer = opts.setTimer ?? systemTimer;
  const once = new ReportOnce();
  let cancelTimer = (): void => undefined;
  let kick = (): void => undefined;
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

  /** Every record under `prefix`; an unreadable one is reported once and skipped. */
  const readAll = async <T extends 'pod' | 'podStatus' | 'node'>(prefix: string, type: T): Promise<RecordOf<T>[]> =>
    (await listDecoded(store, prefix, type, { onCorrupt: reportCorrupt(log, once, `${type} record`) })).items.map((i) => i.record);

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

  /** One read-judge-report pass; returns how many reports lost a race, and when to look again. */
  const pass = async (): Promise<{ lost: number; recheckAt: number | undefined }> => {
    const view = await readSealedDeployments(store);
    const [pods, statuses, nodes, reported] = await Promise.all([
      readAll(PODS, 'pod'), readAll(STATUS, 'podStatus'), readAll(NODES, 'node'), store.list(HEALTH),
    ]);
    const last = new Map(reported.entries.map((e) => [e.key, e]));
    const used = new Set(pods.flatMap((p) => (p.node === undefined ? [] : [p.node])));
    const { live, recheckAt: graceEnds } = liveNodes(new Set(nodes.map((n) => n.name)), used, now().getTime());
    let lost = 0;
    let recheckAt = graceEnds;

    for (const { seal, modRevision } of view.seals) {
      const at = now();
      const health = commitHealth({ seal, deployments: view.deployments, pods, statuses, nodes: live, now: at, ...(opts.settleMs === undefined ? {} : { settleMs: opts.settleMs }) });
      if (health.recheckAt) recheckAt = Math.min(recheckAt ?? Infinity, health.recheckAt.getTime());
      const key = healthKey(seal.source);
      const entry = last.get(key);
      const report = planHealthReport(entry && readHealth(entry.key, entry.value), seal, health, at);
      if (!report) continue;

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
      if (seq === undefined) {
        lost++;
        continue;
      }
      for (const e of report.entries) log.info({ source: seal.source, commit: seal.commit, state: e.state }, `berth/health ${e.state}: ${e.description}`);
    }

    // The last report of a source whose seal is gone goes too (a source read back later starts afresh).
    const sealed = new Set(view.sealed);
    for (const e of reported.entries) {
      if (!sealed.has(e.key.slice(HEALTH.length))) await store.commit({ ifUnchanged: { [e.key]: e.modRevision }, del: [e.key] });
    }
    return { lost, recheckAt };
  };

  const wakeAt = (at: number | undefined): void => {
    cancelTimer();
    cancelTimer = at === undefined ? () => undefined : setTimer(() => kick(), Math.max(0, at - now().getTime()));
  };

  const reconcile = async (): Promise<void> => {
    await rerunWhileLosing(
      async () => {
        const { lost, recheckAt } = await pass();
        wakeAt(recheckAt);
        return lost;
      },
      {
        code: 'EHEALTHRACE',
        message: (lost) => `health reports kept losing to other writers (${lost} in the last pass)`,
        hint: 'run one controller (`berth controller` or `berth up`) per etcd --prefix; berth has no leader election; this pass is retried',
        onRetry: (lost, attempt) => log.debug({ lost, attempt }, 'a seal or a health report changed while reporting; re-reading'),
      },
    );
    once.endRound();
  };

  const loop = await startLoop({ store, log, watch: [SOURCES, PODS, STATUS, NODES], reconcile, resyncMs: opts.resyncMs });
  kick = loop.kick;
  return {
    kick: loop.kick,
    idle: () => loop.idle(),
    stop: async () => {
      cancelTimer();
      await loop.stop();
      cancelTimer();
    },
  };
}

/** True when every key of `guard` still has the modRevision it names (0: absent). */
async function holds(store: Store, guard: Record<string, number>): Promise<boolean> {
  for (const [key, rev] of Object.entries(guard)) {
    if (((await store.get(key))?.modRevision ?? 0) !== rev) return false;
  }
  return true;
}
