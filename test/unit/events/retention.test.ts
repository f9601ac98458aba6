import { describe, expect, it } from 'vitest';
import type { EventRecord } from '../../../src/store/records.js';
import { expiredEvents, type Retention, type StoredEvent } from '../../../src/events/retention.js';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const ago = (s: number): string => new Date(NOW.getTime() - s * 1000).toISOString();

function ev(key: string, object: string, lastAgoS: number, over: Partial<EventRecord> = {}): StoredEvent {
  return { key, record: { type: 'event', time: ago(lastAgoS + 60), lastTime: ago(lastAgoS), count: 2, component: 'agent', reason: 'Started', message: 'm', object, ...over } };
}

const loose: Retention = { maxAgeMs: 3_600_000, maxPerObject: 100, maxTotal: 100 };

describe('expiredEvents', () => {
  it.each<[string, StoredEvent[], Retention, string[]]>([
    ['nothing to drop', [ev('a', 'pod/x', 10), ev('b', 'pod/y', 20)], loose, []],
    ['an event not seen again within the age goes', [ev('a', 'pod/x', 3601), ev('b', 'pod/x', 3599)], loose, ['a']],
    ['a repeat keeps an old event alive: the last time counts, not the first', [ev('a', 'pod/x', 10, { time: ago(7200) })], loose, []],
    ['a record without lastTime ages from its time', [ev('a', 'pod/x', 0, { time: ago(4000), lastTime: undefined })], loose, ['a']],
    ['an undecodable record goes', [{ key: 'bad', record: undefined }, ev('a', 'pod/x', 1)], loose, ['bad']],
    ['a record with an unreadable time goes', [ev('a', 'pod/x', 1, { time: 'never', lastTime: undefined })], loose, ['a']],
    ['a busy object keeps only its newest', [ev('a', 'pod/x', 1), ev('b', 'pod/x', 3), ev('c', 'pod/x', 2), ev('d', 'pod/y', 9)], { ...loose, maxPerObject: 2 }, ['b']],
    ['the total keeps only the newest', [ev('a', 'pod/x', 1), ev('b', 'pod/y', 3), ev('c', 'pod/z', 2)], { ...loose, maxTotal: 1 }, ['b', 'c']],
    ['equal times fall to the key', [ev('b', 'pod/x', 1), ev('a', 'pod/x', 1)], { ...loose, maxPerObject: 1 }, ['b']],
  ])('%s', (_name, events, retention, want) => {
    expect(expiredEvents(events, NOW, retention)).toEqual(want);
    expect(expiredEvents([...events].reverse(), NOW, retention)).toEqual(want);
  });
});
