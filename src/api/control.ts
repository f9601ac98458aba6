// The write side of a source (suspend, resume, roll back) and the read of one commit's story: etcd
// keys only, so every API server and the source's sync agree (sync watches suspended/<source>).
import { BerthError, InvalidInputError } from '../errors.js';
import {
  decode, encode, healthKey, historyPrefix, listDecoded, notesPrefix, outboxPrefix, readSeal, suspensionKey,
  type HistoryRecord, type Store, type SuspensionRecord,
} from '../store/index.js';
import { sourceExists } from './resources.js';
import { commitStory, matchCommits, type CommitStoryView } from './story.js';
import { suspendedView, type SuspendedView } from './views.js';

/** The answer of suspend, resume and rollback: the source, and its suspension afterwards (none once resumed). */
export interface ControlView {
  source: string;
  suspended: SuspendedView | null;
  /** resume: whether it was suspended; suspend: whether this request suspended it. */
  changed: boolean;
}

/** Suspend `source`: sync applies no new commit until resume. An existing suspension (or rollback) is kept as it is. */
export async function suspend(store: Store, source: string, now: Date): Promise<ControlView> {
  await known(store, source);
  const record: SuspensionRecord = { type: 'suspension', source, since: now.toISOString() };
  const key = suspensionKey(source);
  // Created only if absent: a second suspend (or one after a rollback) changes nothing.
  const { ok } = await store.commit({ ifUnchanged: { [key]: 0 }, put: [{ key, value: encode(record) }] });
  const current = ok ? record : await readSuspension(store, source);
  return { source, suspended: current ? suspendedView(current, now) : null, changed: ok };
}

/** Resume `source`: sync follows its branch head again (from a rollback too). */
export async function resume(store: Store, source: string): Promise<ControlView> {
  await known(store, source);
  const before = await readSuspension(store, source);
  if (before) await store.commit({ del: [suspensionKey(source)] });
  return { source, suspended: null, changed: before !== undefined };
}

/**
 * Roll `source` back to an earlier commit it applied (a whole id or its start): the source is
 * suspended on that commit, which sync applies again and keeps until resume, as Argo CD's rollback
 * turns automated sync off. The lasting fix is `git revert` on the branch, then resume.
 */
export async function rollback(store: Store, source: string, prefix: string, now: Date): Promise<ControlView & { commit: string }> {
  await known(store, source);
  const history = await readHistory(store, source);
  const applied = matchCommits(history, prefix, (h) => h.outcome === 'applied');
  if (applied.length > 1) {
    throw new InvalidInputError('EAMBIGUOUS', `commit "${prefix}" names ${applied.length} commits of source ${source}`, { hint: 'give more of its id' });
  }
  const commit = applied[0];
  if (commit === undefined) {
    if (matchCommits(history, prefix).length > 0) {
      throw new InvalidInputError('EROLLBACK', `commit "${prefix}" of source ${source} was rejected, never applied; only an applied commit can be rolled back to`, {
        hint: `pick one \`berth history --source ${source}\` shows as applied`,
      });
    }
    throw new BerthError('ENOTFOUND', `commit "${prefix}" was never applied to source ${source}`, { hint: `pick one \`berth history --source ${source}\` shows as applied` });
  }
  const record: SuspensionRecord = { type: 'suspension', source, since: now.toISOString(), commit };
  await store.commit({ put: [{ key: suspensionKey(source), value: encode(record) }] });
  return { source, commit, suspended: suspendedView(record, now), changed: true };
}

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
