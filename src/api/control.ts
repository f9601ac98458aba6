// The write side of a source (suspend, resume, roll back) and the read of one commit's story: etcd
// keys only, so every API server and the source's sync agree (sync watches suspended/<source>).
import { randomUUID } from 'node:crypto';
import { BerthError, ConflictError, InvalidInputError, UnavailableError } from '../errors.js';
import {
  decode, encode, healthKey, historyPrefix, listDecoded, notesPrefix, outboxPrefix, readSeal, rollbackRequestKey, suspensionKey,
  type HistoryRecord, type RollbackDone, type RollbackRequestRecord, type Store, type SuspensionRecord,
} from '../store/index.js';
import { sourceExists } from './resources.js';
import { commitStory, matchCommits, type CommitStoryView } from './story.js';
import { suspendedView, type SuspendedView } from './views.js';

/** The answer of suspend and resume: the source, and its suspension afterwards (none once resumed). */
export interface ControlView {
  source: string;
  suspended: SuspendedView | null;
  /** resume: whether it was suspended; suspend: whether this request suspended it. */
  changed: boolean;
}

/** Suspend `source`: sync applies no new commit until resume. An existing suspension (pinned or not) is kept as it is. */
export async function suspend(store: Store, source: string, now: Date): Promise<ControlView> {
  await known(store, source);
  const record: SuspensionRecord = { type: 'suspension', source, since: now.toISOString() };
  const key = suspensionKey(source);
  // Created only if absent: a second suspend (or one after a rollback) changes nothing.
  const { ok } = await store.commit({ ifUnchanged: { [key]: 0 }, put: [{ key, value: encode(record) }] });
  const current = ok ? record : await readSuspension(store, source);
  return { source, suspended: current ? suspendedView(current, now) : null, changed: ok };
}

/** Resume `source`: sync follows its branch head again (from a pinned commit too). */
export async function resume(store: Store, source: string): Promise<ControlView> {
  await known(store, source);
  const before = await readSuspension(store, source);
  if (before) await store.commit({ del: [suspensionKey(source)] });
  return { source, suspended: null, changed: before !== undefined };
}

/**
 * Suspend `source` on an earlier commit it applied (a whole id or its start): sync applies that
 * commit again and keeps it until resume, as Argo CD's rollback turns automated sync off
 * (`berth suspend --at`). Nothing is written to the branch; `berth rollback` is the lasting way back.
 */
export async function suspendAt(store: Store, source: string, prefix: string, now: Date): Promise<ControlView & { commit: string }> {
  await known(store, source);
  const history = await readHistory(store, source);
  const applied = matchCommits(history, prefix, (h) => h.outcome === 'applied');
  if (applied.length > 1) {
    throw new InvalidInputError('EAMBIGUOUS', `commit "${prefix}" names ${applied.length} commits of source ${source}`, { hint: 'give more of its id' });
  }
  const commit = applied[0];
  if (commit === undefined) {
    if (matchCommits(history, prefix).length > 0) {
      throw new InvalidInputError('EPIN', `commit "${prefix}" of source ${source} was rejected, never applied; only an applied commit can be pinned`, {
        hint: `pick one \`berth history --source ${source}\` shows as applied`,
      });
    }
    throw new BerthError('ENOTFOUND', `commit "${prefix}" was never applied to source ${source}`, { hint: `pick one \`berth history --source ${source}\` shows as applied` });
  }
  const record: SuspensionRecord = { type: 'suspension', source, since: now.toISOString(), commit };
  await store.commit({ put: [{ key: suspensionKey(source), value: encode(record) }] });
  return { source, commit, suspended: suspendedView(record, now), changed: true };
}

/** The answer of a rollback: the commit pushed to the branch, and the one it reverts (or whose tree it restores). */
export interface RollbackView extends RollbackDone {
  source: string;
  mode: RollbackRequestRecord['mode'];
}

/** How long the API waits for the source's sync to make and push a rollback commit. */
export const ROLLBACK_WAIT_MS = 60_000;

/**
 * `berth rollback`: ask the source's sync (the one holder of its repository and credentials) to
 * push a revert commit of `commit` (mode `revert`) or a commit of its tree (`to`) to the branch, and
 * wait for the outcome. A refusal (a conflict, a commit not in the branch) is thrown with sync's
 * words; no answer within `waitMs` withdraws the request, so it never lands later unseen.
 */
export async function requestRollback(
  store: Store, source: string, ask: { mode: RollbackRequestRecord['mode']; commit: string }, now: Date, waitMs = ROLLBACK_WAIT_MS,
): Promise<RollbackView> {
  await known(store, source);
  const key = rollbackRequestKey(source);
  const request: RollbackRequestRecord = { type: 'rollbackRequest', source, id: randomUUID(), mode: ask.mode, commit: ask.commit, requestedAt: now.toISOString() };
  await store.commit({ put: [{ key, value: encode(request) }] });
  const deadline = Date.now() + waitMs;
  for (;;) {
    const entry = await store.get(key);
    const answer = entry && decode('rollbackRequest', entry.key, entry.value);
    if (answer?.id !== request.id) throw new ConflictError('ESUPERSEDED', `another rollback of source ${source} was asked for meanwhile`, { hint: 'see `berth history`, and ask again if needed' });
    if (answer.done) return { source, mode: ask.mode, ...answer.done };
    if (answer.failed) {
      const { code, message, hint } = answer.failed;
      const Kind = code === 'EREVERTCONFLICT' || code === 'EMOVED' ? ConflictError : InvalidInputError;
      throw new Kind(code, message, hint === undefined ? {} : { hint });
    }
    if (Date.now() >= deadline && entry) {
      const { ok } = await store.commit({ ifUnchanged: { [key]: entry.modRevision }, del: [key] });
      if (ok) {
        throw new UnavailableError('ESYNCTIMEOUT', `the sync of source ${source} did not answer within ${Math.round(waitMs / 1000)} s; the rollback was withdrawn`, {
          hint: 'is its `berth sync` (or `berth up`) running? ask again once it is',
        });
      }
      continue;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

/** How often the API looks for sync's answer to a rollback. */
const POLL_MS = 100;

/** The story of one commit of `source` (a whole id or its start), from history, the kept and pending statuses, seal and health. */
export async function readCommitStory(store: Store, source: string, prefix: string, now: Date): Promise<CommitStoryView> {
  await known(store, source);
  const history = await readHistory(store, source);
  const matches = matchCommits(history, prefix);
  if (matches.length > 1) throw new InvalidInputError('EAMBIGUOUS', `commit "${prefix}" names ${matches.length} commits of source ${source}`, { hint: 'give more of its id' });
  const commit = matches[0];
  if (commit === undefined) {
    throw new BerthError('ENOTFOUND', `commit "${prefix}" not found in the history of source ${source}`, { hint: `list them with \`berth history --source ${source}\`` });
  }
  const delivered = await listDecoded(store, notesPrefix(source, commit), 'outbox');
  const pending = await listDecoded(store, outboxPrefix(source), 'outbox');
  const seal = await readSeal(store, source);
  const health = await store.get(healthKey(source));
  const suspension = await readSuspension(store, source);
  return commitStory({
    source, commit, history, now,
    delivered: delivered.items.map((i) => i.record),
    pending: pending.items.map((i) => i.record),
    ...(seal ? { seal: seal.seal } : {}),
    ...(health ? { health: decode('health', health.key, health.value) } : {}),
    ...(suspension ? { suspension } : {}),
  });
}

async function known(store: Store, source: string): Promise<void> {
  if (!(await sourceExists(store, source))) {
    throw new BerthError('ENOTFOUND', `source "${source}" not found`, { hint: 'list the sources with `berth status`' });
  }
}

async function readHistory(store: Store, source: string): Promise<HistoryRecord[]> {
  return (await listDecoded(store, historyPrefix(source), 'history')).items.map((i) => i.record);
}

async function readSuspension(store: Store, source: string): Promise<SuspensionRecord | undefined> {
  const e = await store.get(suspensionKey(source));
  return e && decode('suspension', e.key, e.value);
}
