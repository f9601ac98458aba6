import { BerthError } from '../errors.js';
import { CompactedError, type Entry, type Store } from './store.js';
import { SOURCES, desiredPrefix, sourceKey } from './keys.js';
import { decode, type SealRecord } from './records.js';

/** The desired state a source's seal made visible (readSealed). */
export interface Sealed {
  source: string;
  seal: SealRecord;
  /** modRevision of the seal key, to guard a write on it (`ifUnchanged`). */
  sealRevision: number;
  /** The source's `desired/` entries as of the seal, in key order, not yet decoded. */
  entries: Entry[];
  /** The revision they were read at: the seal's own, or the latest when etcd compacted the seal's away. */
  revision: number;
  /**
   * False when the seal's revision was compacted away and a newer commit is half-written: the
   * entries it already overwrote are missing from `entries`, so this is not the whole sealed state.
   * Act on it only where a missing object does no harm.
   */
  exact: boolean;
}

/** The seal of `source`, or undefined before its first apply. Throws ECORRUPT on an unreadable one. */
export async function readSeal(store: Store, source: string): Promise<{ seal: SealRecord; sealRevision: number } | undefined> {
  const entry = await store.get(sourceKey(source));
  return entry && { seal: decode('seal', entry.key, entry.value), sealRevision: entry.modRevision };
}

/**
 * The desired state of `source` as of its seal, or undefined before its first apply: read at the
 * sealed revision, so objects a later commit is still writing (its seal not yet there) are
 * invisible and nobody acts on half a commit. When etcd compacted that revision away (a source
 * quiet for longer than the auto-compaction retention), the latest entries not written since the
 * seal are the sealed ones; an entry written since means a newer commit is half-written, and the
 * read is not `exact`.
 * NOTE: an unsealed *delete* leaves no entry to see; in that narrow window (a compacted seal and a
 * sync that died mid-apply) the deleted object is missing although `exact` says true. The next seal
 * settles it. Throws ECORRUPT on an unreadable seal.
 */
export async function readSealed(store: Store, source: string): Promise<Sealed | undefined> {
  const entry = await store.get(sourceKey(source));
  return entry && readSealedAt(store, entry);
}

/** Every source's readSealed, from one list of the seals; a seal that does not decode is in `corrupt`. */
export async function readAllSealed(store: Store): Promise<{ sealed: Sealed[]; corrupt: { source: string; reason: string }[] }> {
  const out: { sealed: Sealed[]; corrupt: { source: string; reason: string }[] } = { sealed: [], corrupt: [] };
  for (const entry of (await store.list(SOURCES)).entries) {
    try {
      out.sealed.push(await readSealedAt(store, entry));
    } catch (err) {
      if (!(err instanceof BerthError) || err.code !== 'ECORRUPT') throw err;
      out.corrupt.push({ source: entry.key.slice(SOURCES.length), reason: err.message });
    }
  }
  return out;
}

async function readSealedAt(store: Store, entry: Entry): Promise<Sealed> {
  const seal = decode('seal', entry.key, entry.value);
  const source = entry.key.slice(SOURCES.length);
  const base = { source, seal, sealRevision: entry.modRevision };
  try {
    const { entries } = await store.list(desiredPrefix(source), { revision: seal.revision });
    return { ...base, entries, revision: seal.revision, exact: true };
  } catch (err) {
    if (!(err instanceof CompactedError)) throw err;
    const { entries, revision } = await store.list(desiredPrefix(source));
    const sealed = entries.filter((e) => e.modRevision <= seal.revision);
    return { ...base, entries: sealed, revision, exact: sealed.length === entries.length };
  }
}
