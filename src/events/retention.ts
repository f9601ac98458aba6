// How long events are kept and how many: a pure choice of what to delete, so etcd never grows
// without bound however long berth runs and whatever keeps happening.
import type { EventRecord } from '../store/records.js';

/** Bounds on the events kept in etcd. */
export interface Retention {
  /** An event not seen again for this long goes (Kubernetes' default event TTL is 1 h). */
  maxAgeMs: number;
  /** The most recent ones per object stay; older ones of a busy object go. */
  maxPerObject: number;
  /** The most recent ones overall stay. */
  maxTotal: number;
}

/** One hour, 50 per object, 1,000 in all: a few hundred KB of etcd at most. */
export const DEFAULT_RETENTION: Retention = { maxAgeMs: 3_600_000, maxPerObject: 50, maxTotal: 1000 };

/** A stored event: its key and, when it decoded, its record. */
export interface StoredEvent {
  key: string;
  record: EventRecord | undefined;
}

/** When an event last happened, in ms; NaN for a record without a readable time. */
export function lastSeenMs(e: EventRecord): number {
  return Date.parse(e.lastTime ?? e.time);
}

/**
 * The keys to delete at `now`: undecodable or timeless records, events older than `maxAgeMs`,
 * then, newest first, those beyond `maxPerObject` of their object and beyond `maxTotal` overall.
 * Sorted, so the same input always gives the same answer.
 */
export function expiredEvents(events: readonly StoredEvent[], now: Date, retention: Retention = DEFAULT_RETENTION): string[] {
  const drop = new Set<string>();
  const alive: { key: string; record: EventRecord; at: number }[] = [];
  for (const { key, record } of events) {
    const at = record ? lastSeenMs(record) : NaN;
    if (!record || !Number.isFinite(at) || now.getTime() - at > retention.maxAgeMs) drop.add(key);
    else alive.push({ key, record, at });
  }
  // Newest first; equal times fall to the key, so the choice does not depend on listing order.
  alive.sort((a, b) => b.at - a.at || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const perObject = new Map<string, number>();
  let kept = 0;
  for (const e of alive) {
    const n = (perObject.get(e.record.object) ?? 0) + 1;
    perObject.set(e.record.object, n);
    if (n > retention.maxPerObject || kept >= retention.maxTotal) drop.add(e.key);
    else kept++;
  }
  return [...drop].sort();
}
