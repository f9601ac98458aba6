import type { DesiredObject } from '../manifest/types.js';
import { objectKey } from '../manifest/types.js';
import { ConflictError } from '../errors.js';
import { commitChunked, desiredKey, encode, sourceKey, type Entry, type PutOp, type SealRecord, type Store } from '../store/index.js';

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
