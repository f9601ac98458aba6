import { BerthError, messageOf } from '../errors.js';
import { decode, type StoredRecord } from './records.js';
import type { Entry, Store } from './store.js';

/** The record type stored under each record's `type`. */
export type RecordOf<T extends StoredRecord['type']> = Extract<StoredRecord, { type: T }>;

/** What decodeAll read: each record with its entry, in key order, and the entries that did not decode. */
export interface Decoded<T extends StoredRecord['type']> {
  items: { record: RecordOf<T>; entry: Entry }[];
  /** Entries whose value is not a `type` record (hand-written, another version's), each with why. */
  corrupt: { entry: Entry; reason: string }[];
}

/**
 * Decode every entry as a `type` record. One corrupt value never hides the others: it is returned
 * in `corrupt` for the caller to report (once) and skip, or to act on (a source whose desired state
 * is partly unreadable is left alone).
 */
export function decodeAll<T extends StoredRecord['type']>(type: T, entries: readonly Entry[]): Decoded<T> {
  const out: Decoded<T> = { items: [], corrupt: [] };
  for (const entry of entries) {
    try {
      out.items.push({ record: decode(type, entry.key, entry.value), entry });
    } catch (err) {
      if (!(err instanceof BerthError)) throw err;
      out.corrupt.push({ entry, reason: messageOf(err) });
    }
  }
  return out;
}

/** An entry that did not decode, and why. */
export type Corrupt = Decoded<StoredRecord['type']>['corrupt'][number];

/** `store.list(prefix)` (at `revision` if given), decoded (decodeAll); `onCorrupt` hears each entry that did not decode. */
export async function listDecoded<T extends StoredRecord['type']>(
  store: Store,
  prefix: string,
  type: T,
  opts: { revision?: number; onCorrupt?: (c: Corrupt) => void } = {},
): Promise<Decoded<T> & { revision: number }> {
  const { entries, revision } = await store.list(prefix, opts.revision === undefined ? {} : { revision: opts.revision });
  const decoded = decodeAll(type, entries);
  if (opts.onCorrupt) for (const c of decoded.corrupt) opts.onCorrupt(c);
  return { ...decoded, revision };
}
