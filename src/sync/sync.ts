import { HistoryPruner } from './prune.js';
import { DEFAULT_HISTORY_LIMIT } from './retention.js';
import { commitsRejected, objectsApplied, syncLastSuccess, syncSeconds } from '../metrics.js';
import path from 'node:path';
import { watch as chokidarWatch, type FSWatcher } from 'chokidar';
import type { Logger } from '../log.js';
import { BerthError, kindOf, messageOf } from '../errors.js';
import { formatError, formatErrors, shown, type Limits } from '../manifest/index.js';
import {
  decode, desiredPrefix, encode, followedKey, healthKey, historyPrefix, listDecoded, readSeal, rollbackRequestKey, startLoop, suspensionKey, syncErrorKey, syncRequestKey,
  type FollowedRecord, type SealRecord, type Store, type SuspensionRecord, type SyncErrorRecord,
} from '../store/index.js';
import { applyCommit, oversizedObjects, recordRejected } from './apply.js';
import { repairSealed } from './repair.js';
import { GitNotesReporter } from './git-notes.js';
import { EventRecorder } from '../events/recorder.js';
import { holdCheckWorkers } from './isolate.js';
import { CommitReader } from './reader.js';
import { checkedWith, restoreKept } from './kept-files.js';
import type { TreeAccess, TreeState } from './incremental.js';
import { startOutbox } from './outbox.js';
import { readKeyring } from './keyring.js';
import { serveRollbackRequest } from './rollback.js';
import { ROLLOUT_FAILURES, planAutoRevert } from './auto-revert.js';
import { automaticParagraph } from './revert-message.js';
import type { StatusReporter } from './reporter.js';
import type { GitSource, HeadCommit } from './source.js';

/** How the source's error starts when it is about delivering statuses, not about the branch. */
const STATUS_TROUBLE = 'cannot deliver commit statuses: ';

/** Errors of a rejected commit kept in its history record and log line; the rest are counted ("… and M more"). */
const MAX_RECORDED_ERRORS = 50;

/** A running sync of one source. */
export interface Sync {
  /** Look at the branch head now, and deliver pending commit statuses (a webhook or a test calls this). */
  kick(): void;
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/** Options of one source's sync. */
export interface SyncOptions {
  store: Store;
  log: Logger;
  git: GitSource;
  /** The source's name: the `<source>` of desired/, sources/ and history/ keys. */
  source: string;
  /** Poll interval; local repositories are also watched for ref changes. */
  intervalMs: number;
  /** History records kept in etcd for this source, with the statuses of their commits (default 1000). */
  historyLimit?: number;
  /** Kinds this source leaves alone on purpose (a repository that also feeds Kubernetes); each skip is logged. */
  skipKinds?: string[];
  /** --allow-plain-secrets: a Secret not encrypted with sops is applied (stored as the repository has it) instead of refused. */
  allowPlainSecrets?: boolean;
  /** Bounds on what a commit may hold (DEFAULT_LIMITS for any left out). */
  limits?: Partial<Limits>;
  /** Where commit statuses go (default: git notes under refs/notes/berth, pushed back to a remote source). */
  reporter?: StatusReporter;
  now?: () => Date;
  /** How long failures to reach the repository (or etcd) go on before the source shows `error` (default 10 s). */
  troubleAfterMs?: number;
  /**
   * When a commit is read whole again instead of incrementally against the last seal, as a safety
   * check: after `passes` incremental reads or `ms` since the last whole read (default 100, 10 min).
   */
  fullCheck?: { passes?: number; ms?: number };
  /**
   * Read the first head before returning, so that a source that cannot be read fails the start
   * (default true). Off for one of several sources: its failure shows as its error and holds up no other.
   */
  waitForHead?: boolean;
  /**
   * `--verify-commits`: a keyring file (readKeyring, read again for each new head). A head not
   * signed by one of its keys is rejected (`berth/sync failure unsigned commit …`) before its files
   * are read; what runs stays.
   */
  verifyCommits?: string;
  /**
   * `--auto-revert`: when the commit in force turns `berth/health failure` for a reason its rollout
   * caused (planAutoRevert), push a revert commit of it, as `berth rollback` would, saying why.
   */
  autoRevert?: boolean;
}

/**
 * Keep etcd's desired state of `source` equal to the branch head: one sealed apply per new commit,
 * a history record (and nothing else) for a rejected one, each with its `berth/sync` status in the
 * outbox; and deliver that outbox (also the controller's `berth/health` entries) to the reporter.
 * The first head is read before returning (unless `waitForHead` is false), so an unreachable
 * repository or a missing branch fails the start with its own error.
 */
export async function startSync(opts: SyncOptions): Promise<Sync> {
  // The workers that read a whole commit load while the first fetch runs, not after it, and stay
  // warm for as long as this sync runs.
  const releaseWorkers = holdCheckWorkers();
  try {
    return await runSync(opts, releaseWorkers);
  } catch (err) {
    releaseWorkers();
    throw err;
  }
}

async function runSync(opts: SyncOptions, releaseWorkers: () => void): Promise<Sync> {
  const { store, git, source } = opts;
  const log = opts.log.child({ component: 'sync', source });
  const now = opts.now ?? (() => new Date());
  if (opts.waitForHead ?? true) await git.head();

  // What this source follows, for the webhooks of a `berth api` elsewhere (credentials never included).
  const followed: FollowedRecord = { type: 'followed', source, ...git.followed };
  await store.commit({ put: [{ key: followedKey(source), value: encode(followed) }] });
  // The last commit looked at and rejected, read back from history so a restart does not record it twice.
  let rejected = await lastRejected(store, source);
  // An error shown by an earlier run is shown again, if it still holds, after troubleAfterMs.
  await store.commit({ del: [syncErrorKey(source)] });
  // Statuses that cannot be delivered for a while (a forge refusing the token, a remote refusing the
  // notes) show as the source's error too, unless sync has one of its own to show.
  const onStatusTrouble = async (err: unknown, since: Date): Promise<void> => {
    const record: SyncErrorRecord = {
      type: 'syncError', source, code: err instanceof BerthError ? err.code : 'EUNEXPECTED', message: `${STATUS_TROUBLE}${messageOf(err)}`, since: since.toISOString(),
      ...(kindOf(err) === 'input' ? { permanent: true } : {}),
    };
    await store.commit({ ifUnchanged: { [syncErrorKey(source)]: 0 }, put: [{ key: syncErrorKey(source), value: encode(record) }] });
  };
  const onStatusRecovered = async (): Promise<void> => {
    const e = await store.get(syncErrorKey(source));
    if (e && decode('syncError', e.key, e.value).message.startsWith(STATUS_TROUBLE)) await store.commit({ ifUnchanged: { [e.key]: e.modRevision }, del: [e.key] });
  };
  const outbox = await startOutbox({
    store, log: opts.log, source, reporter: opts.reporter ?? new GitNotesReporter(git.notesTarget), resyncMs: opts.intervalMs, onTrouble: onStatusTrouble, onRecovered: onStatusRecovered,
  });

  const recorder = new EventRecorder({ store, component: 'sync', log, now });
  const recordEvent = (reason: string, message: string): Promise<void> => recorder.record([{ object: `source/${source}`, reason, message, severity: 'Warning' }]);

  // A commit that cannot be applied is recorded once (history, `berth/sync failure`, an event); what
  // runs stays as it is, and sync waits for the next commit.
  // A new history record: the oldest beyond --history-limit go, with their commits' statuses. Best effort: what runs never waits on it.
  const pruner = new HistoryPruner(store, source);
  const prune = async (): Promise<void> => {
    const pruned = await pruner.prune(opts.historyLimit ?? DEFAULT_HISTORY_LIMIT).catch((err: unknown) => {
      log.warn({ err: messageOf(err) }, 'cannot prune old history and statuses; trying again at the next commit');
      return 0;
    });
    if (pruned > 0) log.debug({ keys: pruned }, 'pruned old history and statuses');
  };
  // Once a commit's outcome is recorded, off its path: a mirror's packs merged (one a fetch). Best effort too.
  const repack = (): Promise<unknown> =>
    git.repack().catch((err: unknown) => log.warn({ err: messageOf(err) }, 'cannot repack the mirror; it works as it is, with more pack files, and is tried again at the next commit'));
  // When the pass that reads a new head began, for berth_sync_duration_seconds.
  let commitStarted = Date.now();
  const reject = async (head: HeadCommit, lines: string[], count: number, refusal?: string): Promise<void> => {
    await recordRejected(store, source, head, lines, now(), refusal);
    outbox.kick();
    rejected = head.commit;
    commitsRejected.inc({ source });
    await prune();
    syncSeconds.observe({ source, outcome: 'rejected' }, (Date.now() - commitStarted) / 1000);
    const short = head.commit.slice(0, 7);
    log.warn({ commit: head.commit, errors: lines }, `rejected commit ${short}: ${count} error(s); what runs is unchanged`);
    const first = lines[0] ?? '';
    await recordEvent('Rejected', `commit ${short}: ${first}${count > 1 ? ` (and ${count - 1} more)` : ''}`).catch((err: unknown) => {
      log.warn({ err: messageOf(err) }, 'cannot record the rejection event');
    });
    await repack();
  };

  // The last sealed commit as read, so the next commit re-reads only the blobs whose ids changed.
  const isolate = { skipKinds: opts.skipKinds ?? [], ...(opts.limits ? { limits: opts.limits } : {}), allowPlainSecrets: opts.allowPlainSecrets === true };
  // What checked the files' records a seal writes: records checked otherwise are not trusted at start.
  const digest = checkedWith(isolate);
  const reader = new CommitReader({
    git, log, isolate, ...(opts.limits ? { limits: opts.limits } : {}),
    fullCheck: { passes: opts.fullCheck?.passes ?? 100, ms: opts.fullCheck?.ms ?? 10 * 60_000 },
  });

  // Desired state changed behind sync's back (a key deleted or edited by hand) is put back from the
  // sealed commit; noticed through the watch on desired/, checked cheaply on every pass.
  const repair = (seal: SealRecord, sealModRevision: number): Promise<void> => repairSealed({ store, source, git, log, now, isolate, reader, recordEvent }, seal, sealModRevision);

  // Commits this process tried to revert by itself: a refused revert (a conflict) is not tried again.
  const tried = new Set<string>();
  const autoRevert = async (): Promise<void> => {
    const e = await store.get(healthKey(source));
    const health = e && decode('health', e.key, e.value);
    // Cheap checks first: the history is read only for a failure a revert could mend.
    if (!health || health.state !== 'failure' || !ROLLOUT_FAILURES.has(health.reason)) return;
    const plan = planAutoRevert({
      seal: (await readSeal(store, source))?.seal, health, tried, suspended: (await readSuspension(store, source)) !== undefined,
      history: (await listDecoded(store, historyPrefix(source), 'history')).items.map((i) => i.record),
    });
    if (!plan) return;
    tried.add(plan.commit);
    const short = plan.commit.slice(0, 7);
    try {
      const done = await git.rollback({ mode: 'revert', commit: plan.commit, reason: automaticParagraph(plan.reason) }, now());
      log.warn({ commit: plan.commit, revert: done.commit, reason: plan.reason }, `auto-revert: pushed ${done.commit.slice(0, 7)}, which reverts ${short}: ${plan.reason}`);
      await recordEvent('AutoReverted', `commit ${short} reverted by ${done.commit.slice(0, 7)}: ${plan.reason}`).catch(() => undefined);
    } catch (err) {
      log.warn({ commit: plan.commit, err: messageOf(err) }, `auto-revert of ${short} refused; what runs stays`);
      await recordEvent('AutoRevertFailed', `commit ${short}: ${messageOf(err)}`).catch(() => undefined);
    }
  };

  const reconcile = async (): Promise<void> => {
    // `berth rollback`: the commit is made and pushed first; this pass then applies it as the head.
    await serveRollbackRequest({ store, source, git, log, now, ...(opts.verifyCommits === undefined ? {} : { verifyCommits: opts.verifyCommits }) });
    if (opts.autoRevert) await autoRevert();
    // Suspended (`berth suspend`): no new commit is applied; the one in force is kept as it is.
    // Pinned (`berth suspend --at`): the suspension names an earlier applied commit, which is applied and kept.
    const suspension = await readSuspension(store, source);
    if (suspension && suspension.commit === undefined) {
      const sealed = await readSeal(store, source);
      if (sealed) await repair(sealed.seal, sealed.sealRevision);
      return;
    }
    const head = suspension?.commit === undefined ? await git.head() : { ...(await git.commit(suspension.commit)), pinned: true };
    const read = await readSeal(store, source);
    // At start, the sealed commit is kept once (from etcd, or read whole), so that the next commit is read incrementally.
    const restore = (access: TreeAccess): Promise<TreeState | string> => (read ? restoreKept(store, source, read.seal, access, digest) : Promise.resolve('no seal'));
    if (read && read.seal.commit === head.commit) await reader.keepSealed(head.commit, restore);
    if (read && (read.seal.commit === head.commit || rejected === head.commit)) return repair(read.seal, read.sealRevision);
    if (rejected === head.commit) return;
    // A head that came while sync was down is read against the sealed commit when etcd has its files.
    if (read) await reader.keepSealed(read.seal.commit, restore, false);
    commitStarted = Date.now();
    if (opts.verifyCommits !== undefined) {
      const problem = await git.signatureProblem(head.commit, await readKeyring(opts.verifyCommits));
      if (problem !== undefined) {
        const line = `unsigned commit ${head.commit.slice(0, 7)}: ${problem}`;
        return reject(head, [line], 1, line);
      }
    }
    let checked;
    try {
      checked = await reader.read(head.commit, read?.seal.commit);
    } catch (err) {
      // The commit itself is wrong (its --path folder is gone): rejected, as a bad manifest is.
      if (kindOf(err) !== 'input') throw err;
      return reject(head, [messageOf(err)], 1);
    }
    const { objects, errors: invalid, omitted, skipped, warnings, entries } = checked.check;
    // Objects kept from the sealed commit (the same objects, unchanged files) passed this check then.
    const errors = [...invalid, ...oversizedObjects(store, source, head.commit, checked.fresh)];
    if (skipped.length > 0) {
      log.info({ commit: head.commit, skipped: skipped.map((d) => `${shown(d.path)}:${d.line}: ${shown(d.kind, 100)}${d.name ? ` ${shown(d.name, 100)}` : ''}`) }, `skipped ${skipped.length} document(s) of skipped kinds`);
    }
    if (entries.length > 0) {
      log.warn({ commit: head.commit, entries: entries.map((e) => `${shown(e.path)}: ${e.reason}`) }, `left out ${entries.length} symbolic link(s), submodule(s) or special file(s)`);
    }
    if (warnings.length > 0) {
      log.warn({ commit: head.commit, warnings: warnings.slice(0, MAX_RECORDED_ERRORS).map(formatError) }, `${warnings.length} warning(s): spellings Kubernetes reads differently`);
    }
    // Capped: a commit's errors go into one etcd record and one status, both bounded in size.
    if (errors.length > 0) return reject(head, formatErrors(errors, omitted, MAX_RECORDED_ERRORS), errors.length + omitted);
    const started = Date.now();
    // The sealed objects kept in memory, and the plan against them when the commit was read against them: no re-read of desired/.
    const sealedObjects = read && reader.objectsOf(read.seal.commit);
    const plan = checked.plan?.against === read?.seal.commit ? checked.plan?.plan : undefined;
    const previous = read && sealedObjects ? { seal: read.seal, sealRevision: read.sealRevision, objects: sealedObjects, ...(plan ? { plan } : {}) } : undefined;
    // Git is the truth: a force-pushed head is applied like any other, and its history says so.
    const rewrote = read && !head.pinned && (await git.descends(head.commit, read.seal.commit)) === false ? read.seal.commit : undefined;
    if (rewrote) log.warn({ commit: head.commit, previous: rewrote }, `history rewritten: ${rewrote.slice(0, 7)} is not an ancestor of ${head.commit.slice(0, 7)}`);
    const files = checked.files && { change: checked.files, checkedWith: digest };
    const applied = await applyCommit(store, source, rewrote ? { ...head, rewrote } : head, objects, now(), previous, files);
    await checked.keep();
    outbox.kick();
    rejected = undefined;
    syncSeconds.observe({ source, outcome: 'applied' }, (Date.now() - commitStarted) / 1000);
    await prune();
    syncLastSuccess.set({ source }, Date.now() / 1000);
    const { create, update, delete: deleted } = applied.plan;
    for (const [action, n] of [['create', create.length], ['update', update.length], ['delete', deleted.length]] as const) objectsApplied.inc({ source, action }, n);
    log.info(
      { commit: head.commit, created: create.length, updated: update.length, deleted: deleted.length, files: checked.check.files, read: checked.reread, ms: Date.now() - started },
      `${head.pinned ? 'pinned' : 'applied'} commit ${head.commit.slice(0, 7)}`,
    );
    await repack();
  };

  // What stops sync for a while (a repository it cannot reach, a branch that is gone) shows as the
  // source's `error` in `berth status`, once, until a pass succeeds again.
  const onTrouble = async (err: unknown, since: Date): Promise<void> => {
    const record: SyncErrorRecord = {
      type: 'syncError', source, code: err instanceof BerthError ? err.code : 'EUNEXPECTED', message: messageOf(err), since: since.toISOString(),
    };
    await store.commit({ put: [{ key: syncErrorKey(source), value: encode(record) }] });
  };
  const onRecovered = async (): Promise<void> => {
    await store.commit({ del: [syncErrorKey(source)] });
  };

  const loop = await startLoop({
    // A sync requested through the API (POST /api/v1/sources/<source>/sync) is a put of its request key.
    // Suspend and resume are puts and deletes of the source's suspension key; a rollback, a put of its request.
    store, log, watch: [desiredPrefix(source), syncRequestKey(source), suspensionKey(source), rollbackRequestKey(source), ...(opts.autoRevert ? [healthKey(source)] : [])], reconcile, resyncMs: opts.intervalMs, onTrouble, onRecovered,
    ...(opts.troubleAfterMs === undefined ? {} : { troubleAfterMs: opts.troubleAfterMs }),
  }).catch(async (err: unknown) => {
    await outbox.stop();
    throw err;
  });
  const watcher = git.localGitdir ? watchRefs(git.localGitdir, loop.kick) : undefined;

  return {
    kick: () => {
      loop.kick();
      outbox.kick();
    },
    idle: async () => {
      await loop.idle();
      await outbox.idle();
    },
    stop: async () => {
      await watcher?.close();
      await loop.stop();
      await outbox.stop();
      releaseWorkers();
    },
  };
}

/**
 * Ref changes of a local repository wake the sync at once. Events are hints only: the poll stays as
 * a fallback, and refs are always resolved through git (a pack-refs removes loose ref files).
 */
function watchRefs(gitdir: string, kick: () => void): FSWatcher {
  const w = chokidarWatch([path.join(gitdir, 'HEAD'), path.join(gitdir, 'packed-refs'), path.join(gitdir, 'refs')], {
    ignoreInitial: true,
  });
  // The statuses this sync writes as notes are no news about the branch.
  w.on('all', (_event, file) => {
    if (!/\/refs\/notes(\/|$)/.test(file.split(path.sep).join('/'))) kick();
  });
  // NOTE: a commit made right after 'ready' can be missed, so look once more then.
  w.on('ready', kick);
  return w;
}

async function lastRejected(store: Store, source: string): Promise<string | undefined> {
  const { entries } = await store.list(historyPrefix(source));
  const last = entries.at(-1);
  if (!last) return undefined;
  const record = decode('history', last.key, last.value);
  return record.outcome === 'rejected' ? record.commit : undefined;
}

/** The source's suspension (`berth suspend`, with `--at` a pinned commit), if it is suspended. */
export async function readSuspension(store: Store, source: string): Promise<SuspensionRecord | undefined> {
  const e = await store.get(suspensionKey(source));
  return e && decode('suspension', e.key, e.value);
}
