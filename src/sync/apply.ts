import type { DesiredObject, ManifestError } from '../manifest/types.js';
import { objectKey } from '../manifest/types.js';
import { planDesired, type DesiredPlan } from '../manifest/index.js';
import {
  commitChunked, commitSequenced, decode, desiredKey, desiredPrefix, encode, historyKey, historyPrefix, listDecoded, opBytes, outboxKey, readSealed, sourceKey,
  type HistoryRecord, type OutboxRecord, type PutOp, type SealRecord, type Store,
} from '../store/index.js';
import { ConflictError } from '../errors.js';
import type { HeadCommit } from './source.js';
import { PINNED_NOTE, appliedNotes, appliedStatus, rejectedStatus, rewriteNote, shortLine } from './status.js';
import { revertedBy, rolledBackNote } from './revert-message.js';
import { formatBytes } from '../text.js';
import type { FileChange } from './incremental.js';
import { fileWrites } from './kept-files.js';

/** Txns of one apply's desired/ and sealedfiles/ writes sent at once: etcd shares a WAL sync among the txns in flight (a first sync of 10,000 files writes ~160: 4,828 ms with 8 at a time, 5,135–5,320 with 4, quiet, bench/sync.ts). */
export const WRITES_IN_FLIGHT = 8;

/** What one apply did. */
export interface ApplyResult {
  seal: SealRecord;
  plan: DesiredPlan;
}

/**
 * The objects the last seal of `source` made visible (the store's readSealed), with the seal and
 * the modRevision of its key; none before the first apply. A corrupt record throws: sync plans
 * against this state, and a partly read one would plan deletes of objects that are there.
 */
export async function sealedObjects(store: Store, source: string): Promise<SealedState> {
  const sealed = await readSealed(store, source);
  if (!sealed) return { seal: undefined, sealRevision: 0, objects: [] };
  return { seal: sealed.seal, sealRevision: sealed.sealRevision, objects: sealed.entries.map((e) => decode('desired', e.key, e.value).object) };
}

/** A seal and the objects it made visible (sealedObjects, or what sync kept in memory of it). */
export interface SealedState {
  seal: SealRecord | undefined;
  sealRevision: number;
  objects: DesiredObject[];
}

/** The record stored for one object of a commit. */
function desiredPut(source: string, commit: string, o: DesiredObject): PutOp {
  return { key: desiredKey(source, objectKey(o)), value: encode({ type: 'desired', object: o, commit }) };
}

/**
 * An error, at its file, for each object whose stored record is more than one etcd request may carry
 * (`store.limits`): such a commit is rejected whole, as for any invalid manifest, instead of failing
 * at the write and being retried for ever.
 */
export function oversizedObjects(store: Store, source: string, commit: string, objects: readonly DesiredObject[]): ManifestError[] {
  const limit = store.limits.maxTxnBytes;
  const errors: ManifestError[] = [];
  for (const o of objects) {
    const put = desiredPut(source, commit, o);
    const size = opBytes(put.key, put.value);
    if (size <= limit) continue;
    errors.push({
      path: o.path, line: o.line, col: 1,
      message: `${o.kind} ${o.namespace}/${o.name} is ${formatBytes(size)} as stored, more than the ${formatBytes(limit)} one etcd request may carry (etcd --max-request-bytes); split it into smaller objects`,
    });
  }
  return errors;
}

/**
 * Make `objects` the desired state of `source` as of `head`: write the changed objects in as many
 * txns as etcd's limits need (operations and bytes; oversizedObjects must have passed), then the seal (with its history record and `berth/sync success` status) last, so
 * readers at the sealed revision see the whole commit or none of it.
 */
export async function applyCommit(
  store: Store, source: string, head: HeadCommit, objects: DesiredObject[], now: Date, previous?: SealedState & { plan?: DesiredPlan },
  files?: { change: FileChange & { against?: string }; checkedWith: string },
): Promise<ApplyResult> {
  // The sealed commit's objects as sync keeps them in memory, when it has them: no re-read and decoding of desired/.
  const { seal: prev, sealRevision, objects: current } = previous ?? (await sealedObjects(store, source));
  // What the commit changes against the one in force (the seal's counts, the logs); sync's incremental
  // read planned it already from the changed files alone (`previous.plan`, against the same objects)…
  const plan = previous?.plan ?? planDesired(objects, current);
  // …and what must be written for that, which differs only after a half-applied commit; with the
  // files' records (kept-files.ts), sealed with the objects: a restarted sync rebuilds its kept state
  // from them. Their reads overlap.
  const [writes, kept] = await Promise.all([
    planWrites(store, source, prev?.revision ?? 0, objects, previous ? { objects: previous.objects, plan } : undefined),
    files && fileWrites(store, source, prev, files.change, files.checkedWith),
  ]);
  // Each key once, the seal after all of them: the txns may overlap (a first sync of 10,000 objects is 80 of them).
  const put = [...writes.put.map((o) => desiredPut(source, head.commit, o)), ...(kept?.put ?? [])];
  const revision = await commitChunked(store, put, [...writes.del, ...(kept?.del ?? [])], WRITES_IN_FLIGHT);
  const counts = { objects: objects.length, created: plan.create.length, updated: plan.update.length, deleted: plan.delete.length };
  const seal: SealRecord = {
    type: 'seal', source, commit: head.commit, revision, time: now.toISOString(), author: head.author, message: head.message, counts, ...(kept ? { files: kept.mark } : {}),
  };
  const history: HistoryRecord = {
    type: 'history', source, commit: head.commit, outcome: 'applied', time: now.toISOString(), author: head.author, message: head.message, errors: [], counts,
    ...(head.pinned ? { pinned: true } : {}), ...(head.rewrote ? { rewrote: head.rewrote } : {}),
  };
  // A revert (`berth rollback`, an automatic one, or a plain `git revert`) says so on the commits it reverts too.
  const reverts = revertedBy(head.message);
  if (reverts.length > 0) history.reverts = reverts;
  const notes = [...(head.pinned ? [PINNED_NOTE] : []), ...(head.rewrote ? [rewriteNote(head.rewrote)] : []), ...appliedNotes([...plan.create, ...plan.update.map((u) => u.to)])];
  const expected = prev ? sealRevision : 0;
  // The seal, its history record and its `berth/sync success` status land together or not at all.
  const statuses = [appliedStatus(source, head.commit, counts, now, notes), ...(await revertedStatuses(store, source, head, reverts, now))];
  await commitRecords(store, source, history, statuses, {
    ifUnchanged: { [sourceKey(source)]: expected },
    put: [{ key: sourceKey(source), value: encode(seal) }],
    lost: async () => ((await store.get(sourceKey(source)))?.modRevision ?? 0) !== expected,
    onLost: () =>
      new ConflictError('ESEALRACE', `another sync sealed source ${source} while this one applied ${head.commit.slice(0, 7)}`, {
        hint: 'run one sync (`berth sync` or `berth up`) per --source (they elect one leader per source; a second writer is something else writing the same keys); this apply is retried',
      }),
  });
  return { seal, plan };
}

/**
 * The statuses a revert adds to the commits it reverts (`rolled back by <sha>`, or `rolled back
 * automatically by <sha>: <reason>`), in the `berth/sync` state each had last (success unless it
 * was rejected), so their git notes and forge statuses say what became of them.
 */
async function revertedStatuses(store: Store, source: string, head: HeadCommit, reverts: readonly string[], now: Date): Promise<OutboxRecord[]> {
  if (reverts.length === 0) return [];
  const { items } = await listDecoded(store, historyPrefix(source), 'history');
  const last = new Map(items.map((i) => [i.record.commit, i.record.outcome]));
  const description = shortLine(rolledBackNote(head.commit, head.message));
  return reverts.map((commit) => ({
    type: 'outbox', source, commit, context: 'berth/sync', state: last.get(commit) === 'rejected' ? 'failure' : 'success', description, time: now.toISOString(),
  }));
}

/**
 * Write a commit's history record and its status (outbox entry) in one txn with `extra`, at the next
 * sequence number (commitSequenced: both keys created, never overwritten; when another writer, the
 * controller, took that number first, tried again at a fresh one). A txn that failed because
 * `extra.ifUnchanged` no longer holds throws `extra.onLost()`.
 */
async function commitRecords(
  store: Store,
  source: string,
  history: HistoryRecord,
  status: OutboxRecord | OutboxRecord[],
  extra: { ifUnchanged?: Record<string, number>; put?: PutOp[]; lost?: () => Promise<boolean>; onLost?: () => Error } = {},
): Promise<void> {
  const { lost, onLost } = extra;
  const seq = await commitSequenced(
    store,
    {
      // Several statuses share the number, in order (`<seq>`, `<seq>-001` …): they sort before the next one.
      at: (n) => [{ key: historyKey(source, n), value: encode(history) }, ...[status].flat().map((s, i) => ({ key: outboxKey(source, n, i), value: encode(s) }))],
      ...(extra.ifUnchanged ? { ifUnchanged: extra.ifUnchanged } : {}),
      ...(extra.put ? { put: extra.put } : {}),
      ...(lost && onLost ? { lost } : {}),
    },
    `recording ${history.commit.slice(0, 7)} of source ${source}`,
  );
  if (seq === undefined && onLost) throw onLost();
}

/**
 * The writes that make the latest desired state of `source` equal `objects`. The seal makes the
 * latest state visible, so the plan is made against it, not against the sealed state: entries
 * written after `sealedAt` by a commit that never sealed (a sync that died mid-apply, a lost seal
 * race) are rewritten with this commit or deleted, never sealed as they are.
 */
async function planWrites(
  store: Store, source: string, sealedAt: number, objects: DesiredObject[], known?: { objects: readonly DesiredObject[]; plan: DesiredPlan },
): Promise<{ put: DesiredObject[]; del: string[] }> {
  if (known) {
    // With the sealed objects known, only keys written since the seal are read (no values): when no
    // sealed key was deleted by hand, this is what the list below finds, without reading 10,000 records.
    const { count, changed } = await store.changedSince(desiredPrefix(source), sealedAt);
    const written = new Set(changed.map((c) => c.key));
    const sealed = written.size === 0 ? known.objects : known.objects.filter((o) => !written.has(desiredKey(source, objectKey(o))));
    // The keys not written since the seal are sealed ones; as many as the known ones not written since, they are those.
    if (count - changed.length === sealed.length) return writesFor(source, objects, sealed, written, written.size === 0 ? known.plan : undefined);
  }
  const { entries } = await store.list(desiredPrefix(source));
  const sealed = entries.filter((e) => e.modRevision <= sealedAt);
  // Known objects stand for their entries as sealed; only a key still written at or before the seal counts.
  // (An entry they do not account for means they are not this seal's: then the entries are decoded.)
  const sealedKeys = new Set(sealed.map((e) => e.key));
  const fromKnown = known?.objects.filter((o) => sealedKeys.has(desiredKey(source, objectKey(o))));
  const current = fromKnown && fromKnown.length === sealed.length ? fromKnown : sealed.map((e) => decode('desired', e.key, e.value).object);
  return writesFor(source, objects, current, new Set(entries.filter((e) => e.modRevision > sealedAt).map((e) => e.key)));
}

/** The writes from the sealed objects still in place to `objects`, with `unsealed` keys (written since the seal) rewritten or deleted. */
function writesFor(
  source: string, objects: DesiredObject[], sealed: readonly DesiredObject[], unsealed: ReadonlySet<string>, planned?: DesiredPlan,
): { put: DesiredObject[]; del: string[] } {
  // `planned` is the plan against `sealed` when the caller made it already.
  const plan = planned ?? planDesired(objects, sealed);
  const wanted = unsealed.size === 0 ? new Set<string>() : new Set(objects.map((o) => desiredKey(source, objectKey(o))));
  // An unsealed entry is left out of the plan above: wanted, it is created again (with this commit); not wanted, deleted.
  const stray = [...unsealed].filter((key) => !wanted.has(key));
  return {
    put: [...plan.create, ...plan.update.map((u) => u.to)],
    del: [...plan.delete.map((o) => desiredKey(source, objectKey(o))), ...stray],
  };
}

/**
 * Record a rejected commit: a history entry and its `berth/sync failure` status in one txn, and
 * nothing else, so what runs does not change.
 */
export async function recordRejected(store: Store, source: string, head: HeadCommit, errors: string[], now: Date, description?: string): Promise<void> {
  const record: HistoryRecord = {
    type: 'history', source, commit: head.commit, outcome: 'rejected', time: now.toISOString(), author: head.author, message: head.message, errors,
  };
  await commitRecords(store, source, record, rejectedStatus(source, head.commit, errors, now, description));
}

