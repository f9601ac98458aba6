import type { Logger } from '../log.js';
import { messageOf } from '../errors.js';
import { decodeAll, type RecordOf } from './decode-all.js';
import type { StoredRecord } from './records.js';
import type { Closer, Entry, Store } from './store.js';

/** A decoded record of a cache, with the modRevision of its key (to guard a write on it). */
export interface Cached<T> {
  record: T;
  modRevision: number;
}

/**
 * The records under one prefix, kept in memory from one list and a watch from that list's revision
 * on: a loop that reacts to single keys reads them here instead of listing the prefix on every
 * change. A broken watch re-lists (and says so through `onChange` with no key: look at everything).
 * A value that does not decode is left out and logged once.
 */
export class WatchCache<T extends StoredRecord['type']> {
  readonly records = new Map<string, Cached<RecordOf<T>>>();
  private watch: Closer | undefined;
  private closed = false;
  private readonly corrupt = new Set<string>();

  private constructor(
    private readonly store: Store,
    private readonly prefix: string,
    private readonly type: T,
    private readonly log: Logger,
    private readonly onChange: (key?: string) => void,
  ) {}

  /** Lists `prefix` and watches it; `onChange` hears each key that changed. */
  static async open<T extends StoredRecord['type']>(store: Store, prefix: string, type: T, log: Logger, onChange: (key?: string) => void): Promise<WatchCache<T>> {
    const cache = new WatchCache(store, prefix, type, log, onChange);
    await cache.load();
    return cache;
  }

  /** Records a write this process made, before its watch event comes back. */
  remember(key: string, record: RecordOf<T> | undefined, modRevision: number): void {
    const held = this.records.get(key);
    if (held !== undefined && held.modRevision > modRevision) return;
    if (record === undefined) this.records.delete(key);
    else this.records.set(key, { record, modRevision });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.watch?.close();
  }

  private async load(): Promise<void> {
    const { entries, revision } = await this.store.list(this.prefix);
    this.records.clear();
    for (const e of entries) this.apply(e);
    if (this.closed) return;
    this.watch = this.store.watch(
      this.prefix,
      revision + 1,
      (ev) => {
        if (ev.type === 'delete') this.remember(ev.key, undefined, ev.revision);
        else this.apply({ key: ev.key, value: ev.value, modRevision: ev.revision, createRevision: 0 });
        this.onChange(ev.key);
      },
      (err) => void this.reload(err),
    );
  }

  private async reload(err: Error): Promise<void> {
    if (this.closed) return;
    this.log.debug({ err: messageOf(err), prefix: this.prefix }, 'cache watch broke; re-listing');
    await this.watch?.close().catch(() => undefined);
    for (let attempt = 1; !this.closed; attempt++) {
      try {
        await this.load();
        this.onChange();
        return;
      } catch (e) {
        this.log.debug({ err: messageOf(e), prefix: this.prefix, attempt }, 'cannot re-list; retrying');
        await new Promise((r) => setTimeout(r, Math.min(10_000, 100 * 2 ** attempt)).unref());
      }
    }
  }

  private apply(entry: Entry): void {
    const { items, corrupt } = decodeAll(this.type, [entry]);
    const item = items[0];
    if (item !== undefined) {
      this.corrupt.delete(entry.key);
      this.remember(entry.key, item.record, entry.modRevision);
      return;
    }
    this.records.delete(entry.key);
    if (!this.corrupt.has(entry.key)) this.log.warn({ key: entry.key, err: corrupt[0]?.reason }, `${this.type} record unreadable; ignored`);
    this.corrupt.add(entry.key);
  }
}
