// The pass that deletes what retention.ts chooses, run by sync after each new history record.
import { MAX_TXN_OPS, NOTES, commitChunked, decode, historyPrefix, listDecoded, notesPrefix, readSeal, type Store } from '../store/index.js';
import { expiredPast, type StoredPast } from './retention.js';

/**
 * Deletes what {@link expiredPast} names for a source, at a cost that follows what is new, not how
 * long the history is: the first pass lists the source's history and notes (and deletes what a crash
 * or a lower limit left); after it, the records are kept in memory in key order, a pass reads only
 * the records written since (keys, then their values), deletes the oldest past the limit, and lists
 * the notes of a commit only when its last record goes. Anything else changing the history (a
 * record deleted by hand) is seen as a count that does not add up, and the next pass lists again.
 * Only the source's sync writes its history, one pass after another.
 */
export class HistoryPruner {
  /** The source's history records, in key order (oldest first), with the commit each names. */
  private records: { key: string; commit: string | undefined }[] | undefined;
  /** How many of `records` name each commit. */
  private named = new Map<string, number>();
  /** The highest modRevision among `records`: later records are new. */
  private revision = 0;
  /** The commit in force at the last pass. */
  private inForce: string | undefined;

  constructor(
    private readonly store: Store,
    private readonly source: string,
  ) {}

  /** Delete what is past `limit`; resolves to how many keys went. */
  async prune(limit: number): Promise<number> {
    const { store, source } = this;
    const inForce = (await readSeal(store, source))?.seal.commit;
    const known = this.records;
    const since = known && (await store.changedSince(historyPrefix(source), this.revision));
    if (known === undefined || since === undefined || since.count !== known.length + since.changed.length) return this.pruneAll(limit, inForce);
    const added = since.changed.sort((a, b) => (a.key < b.key ? -1 : 1));
    if (added.some((c) => known.length > 0 && c.key <= (known.at(-1)?.key ?? ''))) return this.pruneAll(limit, inForce);
    for (const c of added) {
      const e = await store.get(c.key);
      this.add({ key: c.key, commit: e && commitOf(e.key, e.value) });
      this.revision = Math.max(this.revision, c.modRevision);
    }
    const cut = Math.max(0, known.length - limit);
    const front = known.slice(0, cut);
    const drop = front.filter((h) => h.commit === undefined || h.commit !== inForce);
    // The commit in force before kept its notes without a record (its records deleted by hand): now they go.
    const was = this.inForce;
    this.inForce = inForce;
    const gone = was !== undefined && was !== inForce && !this.named.has(was) ? [was] : [];
    if (drop.length === 0 && gone.length === 0) return 0;
    this.records = [...front.filter((h) => !drop.includes(h)), ...known.slice(cut)];
    for (const h of drop) {
      if (h.commit === undefined) continue;
      const left = (this.named.get(h.commit) ?? 1) - 1;
      if (left > 0) this.named.set(h.commit, left);
      else {
        this.named.delete(h.commit);
        gone.push(h.commit);
      }
    }
    const notes: string[] = [];
    for (const commit of gone) notes.push(...(await store.list(notesPrefix(source, commit))).entries.map((e) => e.key));
    const keys = [...drop.map((h) => h.key), ...notes];
    await commitChunked(store, [], keys);
    return keys.length;
  }

  /** The whole pass: every record and note listed, what expiredPast names deleted, the rest kept in memory. */
  private async pruneAll(limit: number, inForce: string | undefined): Promise<number> {
    const { store, source } = this;
    // Notes first: a note is written after its commit's history record, so every note listed has its record in the list after.
    const notes = await store.list(`${NOTES}${source}/`);
    const history = await listDecoded(store, historyPrefix(source), 'history');
    const all = [...history.items.map((i) => ({ entry: i.entry, commit: i.record.commit as string | undefined })), ...history.corrupt.map((c) => ({ entry: c.entry, commit: undefined }))]
      .sort((a, b) => (a.entry.key < b.entry.key ? -1 : 1));
    const past: StoredPast = { history: all.map((h) => ({ key: h.entry.key, commit: h.commit })), notes: notes.entries.map((e) => e.key), ...(inForce ? { inForce } : {}) };
    const expired = expiredPast(past, limit);
    for (let i = 0; i < expired.length; i += MAX_TXN_OPS) await store.commit({ del: expired.slice(i, i + MAX_TXN_OPS) });
    const deleted = new Set(expired);
    this.inForce = inForce;
    this.records = [];
    this.named = new Map();
    this.revision = 0;
    for (const h of all) {
      this.revision = Math.max(this.revision, h.entry.modRevision);
      if (!deleted.has(h.entry.key)) this.add({ key: h.entry.key, commit: h.commit });
    }
    return expired.length;
  }

  private add(h: { key: string; commit: string | undefined }): void {
    this.records?.push(h);
    if (h.commit !== undefined) this.named.set(h.commit, (this.named.get(h.commit) ?? 0) + 1);
  }
}

function commitOf(key: string, value: string): string | undefined {
  try {
    return decode('history', key, value).commit;
  } catch {
    return undefined;
  }
}
