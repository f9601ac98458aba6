// The pass that deletes what retention.ts chooses, run by sync after each new history record.
import { MAX_TXN_OPS, NOTES, historyPrefix, listDecoded, readSeal, type Store } from '../store/index.js';
import { expiredPast, type StoredPast } from './retention.js';

/** Delete what {@link expiredPast} names for `source`; resolves to how many keys went. */
export async function pruneHistory(store: Store, source: string, limit: number): Promise<number> {
  // Notes first: a note is written after its commit's history record, so every note listed has its record in the list after.
  const notes = await store.list(`${NOTES}${source}/`);
  const history = await listDecoded(store, historyPrefix(source), 'history');
  const sealed = await readSeal(store, source);
  const past: StoredPast = {
    history: [...history.items.map((i) => ({ key: i.entry.key, commit: i.record.commit })), ...history.corrupt.map((c) => ({ key: c.entry.key, commit: undefined }))]
      .sort((a, b) => (a.key < b.key ? -1 : 1)),
    notes: notes.entries.map((e) => e.key),
    ...(sealed ? { inForce: sealed.seal.commit } : {}),
  };
  const expired = expiredPast(past, limit);
  for (let i = 0; i < expired.length; i += MAX_TXN_OPS) await store.commit({ del: expired.slice(i, i + MAX_TXN_OPS) });
  return expired.length;
}
