import { BerthError, messageOf } from '../errors.js';
import { CompactedError, SOURCES, decode, desiredPrefix, type Entry, type SealRecord, type Store } from '../store/index.js';
import type { DesiredDeployment } from './pods.js';

/** The Deployments of every sealed source, each read at its seal's revision. */
export interface SealedView {
  deployments: DesiredDeployment[];
  /** Sources whose sealed state was read in full: the controller speaks for their pods. */
  read: string[];
  /** The seal of each source in `read`, with the modRevision of its key (to guard a write on it). */
  seals: { seal: SealRecord; modRevision: number }[];
  /** Every source that has a seal key, read or not. */
  sealed: string[];
  /** Sources whose state could not be read this time; their pods are left as they are. */
  skipped: { source: string; reason: string }[];
}

/**
 * Read every seal, then each source's desired objects at the sealed revision, so a commit whose
 * objects are still being written (its seal not yet there) is invisible: nobody acts on half a commit.
 */
export async function readSealedDeployments(store: Store): Promise<SealedView> {
  const view: SealedView = { deployments: [], read: [], seals: [], sealed: [], skipped: [] };
  const { entries: seals } = await store.list(SOURCES);
  for (const entry of seals) {
    const source = entry.key.slice(SOURCES.length);
    view.sealed.push(source);
    try {
      const seal = decode('seal', entry.key, entry.value);
      const entries = await readAt(store, source, seal.revision);
      if (entries === undefined) {
        view.skipped.push({ source, reason: `seal revision ${seal.revision} was compacted and a newer commit is being applied` });
        continue;
      }
      for (const e of entries) {
        const record = decode('desired', e.key, e.value);
        if (record.object.kind === 'Deployment') view.deployments.push({ source, object: record.object, commit: record.commit });
      }
      view.read.push(source);
      view.seals.push({ seal, modRevision: entry.modRevision });
    } catch (err) {
      // A corrupt seal or object: acting on a partial view would delete pods that should run.
      if (!isCorrupt(err)) throw err;
      view.deployments = view.deployments.filter((d) => d.source !== source);
      view.skipped.push({ source, reason: messageOf(err) });
    }
  }
  return view;
}

/**
 * The source's desired entries as of `revision`. If etcd compacted that revision away (a seal can be
 * months old), the latest entries are the sealed ones unless a newer commit is half-written: an entry
 * newer than the seal says so, and then there is no consistent view (undefined) until its seal lands.
 * NOTE: an unsealed *delete* leaves no entry to see, so in that narrow window (compacted seal and a
 * sync that died mid-apply) an object's removal can act before its seal; the next seal settles it.
 */
async function readAt(store: Store, source: string, revision: number): Promise<Entry[] | undefined> {
  try {
    return (await store.list(desiredPrefix(source), { revision })).entries;
  } catch (err) {
    if (!(err instanceof CompactedError)) throw err;
    const { entries } = await store.list(desiredPrefix(source));
    return entries.some((e) => e.modRevision > revision) ? undefined : entries;
  }
}

function isCorrupt(err: unknown): boolean {
  return err instanceof BerthError && err.code === 'ECORRUPT';
}
