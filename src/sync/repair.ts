import type { DesiredObject } from '../manifest/types.js';
import { objectKey } from '../manifest/types.js';
import { ConflictError, messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import { commitChunked, desiredKey, desiredPrefix, encode, sourceKey, type Entry, type PutOp, type SealRecord, type Store } from '../store/index.js';
import { checkCommit, type IsolateOptions } from './isolate.js';
import type { CommitReader } from './reader.js';
import type { GitSource } from './source.js';

/** What a sync's repair pass works with. */
export interface RepairContext {
  store: Store;
  source: string;
  git: GitSource;
  log: Logger;
  now: () => Date;
  isolate: IsolateOptions;
  /** The sealed commit's objects, when sync keeps them in memory. */
  reader: Pick<CommitReader, 'objectsOf'>;
  recordEvent(reason: string, message: string): Promise<void>;
}

/**
 * Desired state changed behind sync's back (a key deleted or edited by hand) put back from the
 * sealed commit, logged and recorded as an event. Two small reads say whether anything changed;
 * only then is desired/ listed, and the sealed commit's objects read again if they are not kept.
 */
export async function repairSealed(cx: RepairContext, seal: SealRecord, sealModRevision: number): Promise<void> {
  const { store, source, git, log } = cx;
  const since = await store.changedSince(desiredPrefix(source), seal.revision);
  if (since.count === seal.counts.objects && since.changed.length === 0) return;
  const { entries } = await store.list(desiredPrefix(source));
  if (!desiredChanged(entries, seal)) return;
  // The sealed commit's objects: kept in memory, or read again (a new shallow mirror may lack it).
  let objects = cx.reader.objectsOf(seal.commit);
  if (objects === undefined) {
    await git.ensureCommit(seal.commit);
    const check = await checkCommit(git.tree(seal.commit), cx.isolate);
    if (check.errors.length > 0 || check.omitted > 0) {
      log.warn({ commit: seal.commit }, 'desired state was changed by hand, and the sealed commit no longer passes the checks; leaving it');
      return;
    }
    objects = check.objects;
  }
  const done = await repairDesired(store, source, seal, sealModRevision, entries, objects, cx.now());
  if (!done) return;
  const keys = [...done.restored, ...done.removed].map((k) => k.slice(desiredPrefix(source).length));
  const message = `desired state of commit ${seal.commit.slice(0, 7)} put back: ${keys.slice(0, 5).join(', ')}${keys.length > 5 ? ` and ${keys.length - 5} more` : ''}`;
  log.warn({ restored: done.restored, removed: done.removed }, message);
  await cx.recordEvent('Repaired', message).catch((err: unknown) => log.warn({ err: messageOf(err) }, 'cannot record the repair event'));
}

/**
 * True when the latest `desired/<source>/` is not what the seal made visible: a key written since
 * the seal (edited or added by hand), or fewer or more keys than the sealed commit has (deleted by
 * hand). Cheap: modRevisions and a count, no decoding; an apply of this process writes the seal
 * after its keys, so between passes its own writes never look changed.
 */
export function desiredChanged(latest: readonly Entry[], seal: SealRecord): boolean {
  return latest.length !== seal.counts.objects || latest.some((e) => e.modRevision > seal.revision);
}

/** What a repair put back and took away (keys of `desired/`). */
export interface Repair {
  restored: string[];
  removed: string[];
}

/**
 * Make the latest desired state of `source` the sealed commit's `objects` again: keys missing or
 * written since the seal are put back, keys the commit does not have are deleted, then the seal is
 * written again at the new revision (same commit, counts and history), so readers at the sealed
 * revision see the repaired keys. The seal is compared and swapped: a sync that sealed meanwhile wins,
 * and this throws a ConflictError (the loop re-reads at once).
 */
export async function repairDesired(
  store: Store,
  source: string,
  seal: SealRecord,
  sealModRevision: number,
  latest: readonly Entry[],
  objects: readonly DesiredObject[],
  now: Date,
): Promise<Repair | undefined> {
  const byKey = new Map(latest.map((e) => [e.key, e]));
  const put: PutOp[] = [];
  for (const o of objects) {
    const key = desiredKey(source, objectKey(o));
    const entry = byKey.get(key);
    // The commit a put-back key records is the sealed one: what it was restored from.
    if (!entry || entry.modRevision > seal.revision) put.push({ key, value: encode({ type: 'desired', object: o, commit: seal.commit }) });
  }
  const wanted = new Set(objects.map((o) => desiredKey(source, objectKey(o))));
  const del = latest.map((e) => e.key).filter((key) => !wanted.has(key));
  if (put.length === 0 && del.length === 0) return undefined;
  const revision = await commitChunked(store, put, del);
  const resealed: SealRecord = { ...seal, revision, time: now.toISOString() };
  const { ok } = await store.commit({ ifUnchanged: { [sourceKey(source)]: sealModRevision }, put: [{ key: sourceKey(source), value: encode(resealed) }] });
  if (!ok) throw new ConflictError('ESEALRACE', `source ${source} was sealed again while its desired state was repaired`, { hint: 'run one sync per source' });
  return { restored: put.map((p) => p.key), removed: del };
}
