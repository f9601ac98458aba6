// Writes events as Kubernetes' event recorder does: a repeat of the same event bumps its count and
// last time rather than adding a record, bursts are folded in memory, and old events are pruned.
import { createHash } from 'node:crypto';
import { messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import { commitChunked, packTxns } from '../store/chunked.js';
import { EVENTS, eventKey } from '../store/keys.js';
import type { EventRecord } from '../store/records.js';
import { decode, encode } from '../store/records.js';
import type { Store } from '../store/store.js';
import { DEFAULT_RETENTION, expiredEvents, type Retention, type StoredEvent } from './retention.js';

/** Something that happened, as a component tells it. */
export interface EventInput {
  /** `pod/<namespace>/<name>`, or `container/<name>`. */
  object: string;
  /** One CamelCase word: Scheduled, Pulled, BackOff … */
  reason: string;
  message: string;
  /** Warning for what needs attention; default Normal. */
  severity?: 'Normal' | 'Warning';
  /** When it happened, if not when it is recorded. */
  at?: Date;
}

/** How to record events. */
export interface RecorderOptions {
  store: Store;
  /** Written as the events' component: `scheduler`, `agent/<node>` … */
  component: string;
  log: Logger;
  now?: () => Date;
  retention?: Retention;
  /** The same event is written at most this often; repeats in between are counted and written later (default 10 s). */
  foldMs?: number;
  /** How often the recorder prunes what the retention no longer keeps (default 60 s). */
  pruneEveryMs?: number;
}

/** Attempts at a compare-and-swap update of one event before it is left for its next repeat. */
const CAS_ATTEMPTS = 3;

/** Txns of new events sent at once (they never conflict with each other: each creates other keys). */
const EVENT_TXNS_IN_FLIGHT = 4;

/** Events `post` lets wait for their write before the poster waits too: a slow etcd slows the poster, not its memory. */
export const MAX_EVENT_BACKLOG = 4000;

/** The id of an event: the same component, reason and message make the same record. */
export function eventId(component: string, e: Pick<EventInput, 'reason' | 'message'>): string {
  const hash = createHash('sha256').update(`${component}\u0000${e.reason}\u0000${e.message}`).digest('hex').slice(0, 16);
  return `${e.reason}.${hash}`;
}

/**
 * Best effort, as in Kubernetes: a failed write is logged (once per streak) and dropped, never
 * thrown, so an event can not fail the reconcile that did the work it describes.
 */
export class EventRecorder {
  private readonly now: () => Date;
  private readonly retention: Retention;
  private readonly foldMs: number;
  private readonly pruneEveryMs: number;
  /** Per event key: when it was last written, repeats not yet written, and what to write for them. */
  private readonly recent = new Map<string, { at: number; pending: number; input: EventInput }>();
  private lastPrune = Number.NEGATIVE_INFINITY;
  private failing = false;
  private lastAt = Number.NEGATIVE_INFINITY;
  /** The posted records, one after another. */
  private posted: Promise<void> = Promise.resolve();
  private backlog = 0;

  constructor(private readonly opts: RecorderOptions) {
    this.now = opts.now ?? (() => new Date());
    this.retention = opts.retention ?? DEFAULT_RETENTION;
    this.foldMs = opts.foldMs ?? 10_000;
    this.pruneEveryMs = opts.pruneEveryMs ?? 60_000;
  }

  /** Record `events` (in order), write repeats whose fold time is over, and prune when due. */
  async record(events: readonly EventInput[]): Promise<void> {
    const now = this.now();
    try {
      const due = new Map<string, { input: EventInput; count: number; at: Date; written?: true }>();
      for (const [key, r] of this.recent) {
        if (now.getTime() - r.at < this.foldMs) continue;
        if (r.pending > 0) due.set(key, { input: r.input, count: r.pending, at: now, written: true });
        this.recent.delete(key);
      }
      for (const input of events) {
        const key = eventKey(input.object, eventId(this.opts.component, input));
        const r = this.recent.get(key);
        if (r) {
          r.pending++;
          continue;
        }
        const d = due.get(key);
        due.set(key, { ...d, input, count: (d?.count ?? 0) + 1, at: input.at ?? now });
      }
      const writes = [...due].map(([key, { input, count, at, written }]) => ({ key, input, count, at: this.after(at), written }));
      await this.writeAll(writes);
      for (const { key, input } of writes) this.recent.set(key, { at: now.getTime(), pending: 0, input });
      if (now.getTime() - this.lastPrune >= this.pruneEveryMs) {
        await this.prune(now);
        this.lastPrune = now.getTime();
      }
      if (this.failing) this.opts.log.info('events are written again');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.opts.log.warn({ err: messageOf(err) }, 'cannot write events; dropping them until etcd answers');
      this.failing = true;
    }
  }

  /**
   * Record `events` behind the ones posted before, without waiting for the write (Kubernetes'
   * event broadcaster): a scheduler binds its next round while the last one's Scheduled events are
   * written. Resolves at once, unless more than MAX_EVENT_BACKLOG events wait: then when these are written.
   */
  post(events: readonly EventInput[]): Promise<void> {
    this.backlog += events.length;
    const written = this.posted.then(() => this.record(events)).finally(() => {
      this.backlog -= events.length;
    });
    this.posted = written;
    return this.backlog > MAX_EVENT_BACKLOG ? written : Promise.resolve();
  }

  /**
   * `at`, or a millisecond after the last time written if that is not earlier: the times of one
   * recorder strictly increase, so its events sort in the order they happened.
   */
  private after(at: Date): Date {
    this.lastAt = Math.max(at.getTime(), this.lastAt + 1);
    return new Date(this.lastAt);
  }

  /** Write the repeats still folded in memory (on stop); gives up after `timeoutMs`, so a stop never waits on a lost etcd. */
  async flush(timeoutMs = 1000): Promise<void> {
    for (const r of this.recent.values()) r.at = Number.NEGATIVE_INFINITY;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.posted.then(() => this.record([])), new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
    clearTimeout(timer);
  }

  /**
   * Write each event: first all as new records, create-if-absent, in as few txns as etcd allows,
   * EVENT_TXNS_IN_FLIGHT at a time (a
   * scheduler that bound 10,000 pods has 10,000 Scheduled events: one by one, a get and a
   * compare-and-swap each, they held its loop for ~30 s); the events of a txn that found a record
   * already there (a repeat after a restart, another writer) are then added to theirs one by one, as
   * are the repeats of events this recorder wrote.
   */
  private async writeAll(writes: { key: string; input: EventInput; count: number; at: Date; written?: true }[]): Promise<void> {
    const fresh = writes.filter((w) => !w.written);
    const parts = fresh.map((w) => ({ txn: { ifUnchanged: { [w.key]: 0 }, put: [{ key: w.key, value: encode(this.event(undefined, w.input, w.count, w.at)) }] }, item: w }));
    const txns = packTxns(parts, this.opts.store.limits, (w) => `event ${w.key}`);
    const found: typeof writes = [];
    const send = async (): Promise<void> => {
      for (let t = txns.shift(); t; t = txns.shift()) if (!(await this.opts.store.commit(t.txn)).ok) found.push(...t.items);
    };
    await Promise.all(Array.from({ length: Math.min(EVENT_TXNS_IN_FLIGHT, txns.length) }, send));
    for (const w of found) await this.write(w.key, w.input, w.count, w.at);
    // Repeats of an event this recorder wrote: its record is there to count on.
    for (const w of writes) if (w.written) await this.write(w.key, w.input, w.count, w.at);
  }

  /** The record of `count` more occurrences at `now`, counted on from `old`. */
  private event(old: EventRecord | undefined, input: EventInput, count: number, now: Date): EventRecord {
    const at = now.toISOString();
    return {
      type: 'event',
      time: old?.time ?? at,
      lastTime: at,
      count: (old?.count ?? (old ? 1 : 0)) + count,
      severity: input.severity ?? 'Normal',
      component: this.opts.component,
      reason: input.reason,
      message: input.message,
      object: input.object,
    };
  }

  /** Add `count` occurrences at `now` to the record at `key`, or create it. */
  private async write(key: string, input: EventInput, count: number, now: Date): Promise<void> {
    for (let attempt = 1; attempt <= CAS_ATTEMPTS; attempt++) {
      const current = await this.opts.store.get(key);
      let old: EventRecord | undefined;
      try {
        old = current && decode('event', key, current.value);
      } catch {
        old = undefined; // an unreadable record is replaced
      }
      const record = this.event(old, input, count, now);
      const { ok } = await this.opts.store.commit({ ifUnchanged: { [key]: current?.modRevision ?? 0 }, put: [{ key, value: encode(record) }] });
      if (ok) return;
    }
    // Another writer kept winning: its record stands; this repeat is not counted.
  }

  /** Delete what the retention no longer keeps. */
  private async prune(now: Date): Promise<void> {
    const { entries } = await this.opts.store.list(EVENTS);
    const events: StoredEvent[] = entries.map((e) => {
      try {
        return { key: e.key, record: decode('event', e.key, e.value) };
      } catch {
        return { key: e.key, record: undefined };
      }
    });
    const expired = expiredEvents(events, now, this.retention);
    if (expired.length > 0) {
      await commitChunked(this.opts.store, [], expired);
      this.opts.log.debug({ deleted: expired.length }, 'old events pruned');
    }
  }
}
