import type { Logger } from '../log.js';
import { messageOf } from '../errors.js';
import { decodeAll, type RecordOf } from './decode-all.js';
import { Interner } from './intern.js';
import type { StoredRecord } from './records.js';
import type { Closer, Entry, Store } from './store.js';

/** A decoded record of a cache, with the modRevision of its key (to guard a write on it). */
export interface Cached<T> {
  record: T;
  modRevision: number;
}

/**
 * Hears a cache change: `key` changed from `before` (undefined: it was absent) to what the cache
 * now holds; called with no key after a re-list (look at everything).
 */
export type CacheListener<T> = (key?: string, before?: T) => void;

/**
 * The records under one prefix, kept in memory from one list and a watch from that list's revision
 * on: a loop that reacts to single keys reads them here instead of listing the prefix on every
 * change. A broken watch re-lists (and says so to its listeners with no key: look at everything).
 * A value that does not decode is left out and logged once.
 */
export class WatchCache<T extends StoredRecord['type']> {
  readonly records = new Map<string, Cached<RecordOf<T>>>();
  private watch: Closer | undefined;
  private closed = false;
  private readonly corrupt = new Set<string>();
  private readonly listeners: CacheListener<RecordOf<T>>[] = [];
  /** Pods and statuses share their repeated values (templates, nodes, commits) instead of one copy per record. */
  private readonly interner = new Interner();

  private constructor(
    private readonly store: Store,
    private readonly prefix: string,
    private readonly type: T,
    private readonly log: Logger,
  ) {}

  /** Lists `prefix` and watches it; `onChange` hears each key that changed (more listeners: `subscribe`). */
  static async open<T extends StoredRecord['type']>(store: Store, prefix: string, type: T, log: Logger, onChange?: CacheListener<RecordOf<T>>): Promise<WatchCache<T>> {
    const cache = new WatchCache(store, prefix, type, log);
    if (onChange) cache.subscribe(onChange);
    await cache.load();
    return cache;
  }

  /** Adds a listener: several loops of one process share a cache, each hearing every change. */
  subscribe(listener: CacheListener<RecordOf<T>>): void {
    this.listeners.push(listener);
  }

  /** Keys whose value does not decode (left out of `records`): a reader must not take them for absent. */
  get unreadable(): ReadonlySet<string> {
    return this.corrupt;
  }

  /** The record held for `key`. */
  get(key: string): RecordOf<T> | undefined {
    return this.records.get(key)?.record;
  }

  /**
   * Reads `keys` again from the store (after a write on them lost its compare-and-swap: the cache
   * is behind, and a re-plan on it would lose again until the watch catches up).
   */
  async refresh(keys: Iterable<string>): Promise<void> {
    for (const key of keys) {
      const entry = await this.store.get(key);
      const before = this.records.get(key)?.record;
      if (entry === undefined) this.set(key, undefined, Number.MAX_SAFE_INTEGER);
      else this.apply(entry);
      if (this.records.get(key)?.record !== before) for (const l of this.listeners) l(key, before);
    }
  }

  /** Records a write this process made, before its watch event comes back; listeners hear it as a change. */
  remember(key: string, record: RecordOf<T> | undefined, modRevision: number): void {
    const before = this.records.get(key)?.record;
    if (this.set(key, record, modRevision)) for (const l of this.listeners) l(key, before);
  }

  /** Holds `record` at `key` unless a newer one is held; false when it was older. */
  private set(key: string, record: RecordOf<T> | undefined, modRevision: number): boolean {
    const held = this.records.get(key);
    if (held !== undefined && held.modRevision > modRevision) return false;
    if (record === undefined) this.records.delete(key);
    else this.records.set(key, { record, modRevision });
    return true;
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
        const held = this.records.get(ev.key);
        const before = held?.record;
        // This process's own write, remembered at its revision: the record held is the one written (no decode again).
        if (ev.type === 'put' && held !== undefined && held.modRevision === ev.revision) {
          for (const l of this.listeners) l(ev.key, before);
          return;
        }
        if (ev.type === 'delete') {
          this.corrupt.delete(ev.key);
          this.set(ev.key, undefined, ev.revision);
        } else this.apply({ key: ev.key, value: ev.value, modRevision: ev.revision, createRevision: 0 });
        for (const l of this.listeners) l(ev.key, before);
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
        for (const l of this.listeners) l();
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
      this.set(entry.key, this.interner.compact(item.record), entry.modRevision);
      return;
    }
    this.records.delete(entry.key);
    if (!this.corrupt.has(entry.key)) this.log.warn({ key: entry.key, err: corrupt[0]?.reason }, `${this.type} record unreadable; ignored`);
    this.corrupt.add(entry.key);
  }
}
