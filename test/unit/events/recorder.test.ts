import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { MemoryStore } from '../../../src/store/memory.js';
import { EVENTS, eventKey } from '../../../src/store/keys.js';
import { decode, encode, type EventRecord } from '../../../src/store/records.js';
import type { Entry, Txn } from '../../../src/store/store.js';
import { silentLogger } from '../../../src/log.js';
import { EventRecorder, MAX_EVENT_BACKLOG, eventId } from '../../../src/events/recorder.js';

const T0 = Date.parse('2026-06-01T12:00:00.000Z');

/** A clock the test moves by hand. */
function clock(): { now: () => Date; advance: (ms: number) => void } {
  let t = T0;
  return { now: () => new Date(t), advance: (ms) => void (t += ms) };
}

async function events(store: MemoryStore): Promise<EventRecord[]> {
  return (await store.list(EVENTS)).entries.map((e) => decode('event', e.key, e.value));
}

const started = { object: 'pod/default/web', reason: 'Started', message: 'Started container app' };

describe('EventRecorder', () => {
  it('writes an event with its time, object, reason, message, severity and component', async () => {
    const store = new MemoryStore();
    const c = clock();
    await new EventRecorder({ store, component: 'agent/n1', log: silentLogger(), now: c.now }).record([{ ...started, severity: 'Normal' }]);
    expect(await events(store)).toEqual([
      { type: 'event', time: '2026-06-01T12:00:00.000Z', lastTime: '2026-06-01T12:00:00.000Z', count: 1, severity: 'Normal', component: 'agent/n1', ...started },
    ]);
    expect((await store.list(EVENTS)).entries.map((e) => e.key)).toEqual([eventKey('pod/default/web', eventId('agent/n1', started))]);
  });

  it('folds repeats within the fold time into a count written once it is over, keeping the first time', async () => {
    const c = clock();
    let writes = 0;
    let reads = 0;
    const store = new (class extends MemoryStore {
      override async commit(txn: Txn): Promise<{ ok: boolean; revision: number }> {
        writes += (txn.put ?? []).length;
        return super.commit(txn);
      }
      override async get(key: string): Promise<Entry | undefined> {
        reads++;
        return super.get(key);
      }
    })();
    const recorder = new EventRecorder({ store, component: 'agent/n1', log: silentLogger(), now: c.now, foldMs: 10_000 });
    await recorder.record([started]);
    for (let i = 0; i < 5; i++) {
      c.advance(1000);
      await recorder.record([started]);
    }
    // A new event is created without a read first: one round trip; a repeat reads the record it counts on.
    expect([writes, reads]).toEqual([1, 0]);
    expect((await events(store))[0]?.count).toBe(1);
    c.advance(10_000);
    await recorder.record([]);
    expect([writes, reads]).toEqual([2, 1]);
    expect(await events(store)).toEqual([expect.objectContaining({ count: 6, time: '2026-06-01T12:00:00.000Z', lastTime: '2026-06-01T12:00:15.000Z' })]);
  });

  it('writes what is folded on flush', async () => {
    const store = new MemoryStore();
    const recorder = new EventRecorder({ store, component: 'scheduler', log: silentLogger(), now: clock().now });
    await recorder.record([started, started, started]);
    expect((await events(store))[0]?.count).toBe(3);
    await recorder.record([started]);
    await recorder.flush();
    expect((await events(store))[0]?.count).toBe(4);
  });

  it('keeps different messages apart and counts on from a record another writer made', async () => {
    const store = new MemoryStore();
    const id = eventId('agent/n1', started);
    await store.commit({ put: [{ key: eventKey(started.object, id), value: encode({ type: 'event', time: '2026-06-01T11:00:00.000Z', count: 4, component: 'agent/n1', ...started }) }] });
    await new EventRecorder({ store, component: 'agent/n1', log: silentLogger(), now: clock().now }).record([started, { ...started, message: 'Started container side' }]);
    const all = await events(store);
    expect(all.map((e) => [e.message, e.count, e.time]).sort()).toEqual([
      ['Started container app', 5, '2026-06-01T11:00:00.000Z'],
      ['Started container side', 1, '2026-06-01T12:00:00.001Z'],
    ]);
  });

  it('keeps the times of one recorder in the order things happened', async () => {
    const store = new MemoryStore();
    await new EventRecorder({ store, component: 'agent/n1', log: silentLogger(), now: clock().now }).record(
      ['Pulling', 'Pulled', 'Created', 'Started'].map((reason) => ({ object: 'pod/default/web', reason, message: reason })),
    );
    const all = await events(store);
    expect(all.sort((a, b) => (a.time < b.time ? -1 : 1)).map((e) => e.reason)).toEqual(['Pulling', 'Pulled', 'Created', 'Started']);
  });

  it('prunes events older than the retention, and beyond its counts, when a prune is due', async () => {
    const store = new MemoryStore();
    const c = clock();
    const recorder = new EventRecorder({ store, component: 'agent/n1', log: silentLogger(), now: c.now, pruneEveryMs: 60_000, retention: { maxAgeMs: 3_600_000, maxPerObject: 3, maxTotal: 100 } });
    await recorder.record([started]);
    c.advance(3_600_001);
    // A prune is due in this call: the old event goes, and the busy pod keeps its newest three.
    await recorder.record(Array.from({ length: 5 }, (_, i) => ({ object: 'pod/default/busy', reason: 'BackOff', message: `m${i}` })));
    expect((await events(store)).map((e) => e.message).sort()).toEqual(['m2', 'm3', 'm4']);
    // The next one is not due for a minute: until then the count may pass the bound.
    c.advance(1000);
    await recorder.record(Array.from({ length: 2 }, (_, i) => ({ object: 'pod/default/busy', reason: 'BackOff', message: `n${i}` })));
    expect((await events(store)).length).toBe(5);
    c.advance(60_000);
    await recorder.record([]);
    expect((await events(store)).map((e) => e.message).sort()).toEqual(['m4', 'n0', 'n1']);
  });

  it('never throws: a failed write is logged once per streak and dropped', async () => {
    let down = true;
    const store = new (class extends MemoryStore {
      override async get(key: string): Promise<Entry | undefined> {
        if (down) throw new Error('etcd is down');
        return super.get(key);
      }
      override async commit(txn: Txn): Promise<{ ok: boolean; revision: number }> {
        if (down) throw new Error('etcd is down');
        return super.commit(txn);
      }
    })();
    const flaky = store;
    const lines: { msg?: string }[] = [];
    const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as { msg?: string }) });
    const recorder = new EventRecorder({ store: flaky, component: 'agent/n1', log, now: clock().now });
    await recorder.record([started]);
    await recorder.record([{ ...started, message: 'other' }]);
    expect(lines.map((l) => l.msg)).toEqual(['cannot write events; dropping them until etcd answers']);
    down = false;
    await recorder.record([{ ...started, message: 'third' }]);
    expect(lines.map((l) => l.msg)).toEqual(['cannot write events; dropping them until etcd answers', 'events are written again']);
    expect((await events(store)).map((e) => e.message)).toEqual(['third']);
  });

  it('writes a burst of new events in a few txns, and counts on where a record is already there', async () => {
    let commits = 0;
    let gets = 0;
    const store = new (class extends MemoryStore {
      override async commit(txn: Txn): Promise<{ ok: boolean; revision: number }> {
        commits++;
        return super.commit(txn);
      }
      override async get(key: string): Promise<Entry | undefined> {
        gets++;
        return super.get(key);
      }
    })();
    const scheduled = (i: number): typeof started => ({ object: `pod/default/web-${i}`, reason: 'Scheduled', message: `Successfully assigned default/web-${i} to n1` });
    // One of them was written before (by this scheduler before a restart).
    const id = eventId('scheduler', scheduled(7));
    await store.commit({ put: [{ key: eventKey(scheduled(7).object, id), value: encode({ type: 'event', time: '2026-06-01T11:00:00.000Z', lastTime: '2026-06-01T11:00:00.000Z', count: 1, severity: 'Normal', component: 'scheduler', ...scheduled(7) }) }] });
    commits = 0;
    await new EventRecorder({ store, component: 'scheduler', log: silentLogger(), now: clock().now }).record(Array.from({ length: 200 }, (_, i) => scheduled(i)));
    const all = await events(store);
    expect(all.length).toBe(200);
    expect(all.filter((e) => e.count === 2).map((e) => e.object)).toEqual(['pod/default/web-7']);
    // Two txns of up to 128 creates (etcd's max-txn-ops); the one holding web-7 fails, and its 128 are written one by one.
    expect(commits).toBe(2 + 128);
    expect(gets).toBe(128);
  });

  it('posts without waiting for the write, writes in the order posted, and makes the poster wait past the backlog', async () => {
    let release: () => void = () => undefined;
    let held: Promise<void> = Promise.resolve();
    const hold = (): void => void (held = new Promise<void>((r) => (release = r)));
    const store = new (class extends MemoryStore {
      override async commit(txn: Txn): Promise<{ ok: boolean; revision: number }> {
        await held;
        return super.commit(txn);
      }
    })();
    const recorder = new EventRecorder({ store, component: 'scheduler', log: silentLogger(), now: clock().now });
    const scheduled = (i: number): typeof started => ({ object: `pod/default/web-${i}`, reason: 'Scheduled', message: `Successfully assigned default/web-${i} to n1` });
    hold();
    const state = (p: Promise<void>): Promise<string> => Promise.race([p.then(() => 'resolved'), new Promise<string>((r) => setImmediate(() => r('waiting')))]);
    // Within the backlog: resolved while etcd holds every write.
    expect(await state(recorder.post([scheduled(0), scheduled(1)]))).toBe('resolved');
    expect(await state(recorder.post([scheduled(2)]))).toBe('resolved');
    // Past it: the poster waits until its events are written.
    const big = recorder.post(Array.from({ length: MAX_EVENT_BACKLOG }, (_, i) => scheduled(100 + i)));
    expect(await state(big)).toBe('waiting');
    expect(await events(store)).toEqual([]);
    release();
    await big;
    const all = await events(store);
    expect(all.length).toBe(3 + MAX_EVENT_BACKLOG);
    // In the order posted: each recorder's times strictly increase.
    const at = (i: number): string | undefined => all.find((e) => e.object === `pod/default/web-${i}`)?.time;
    expect([at(0), at(1), at(2), at(100)].map((t) => t ?? '')).toEqual([at(0), at(1), at(2), at(100)].map((t) => t ?? '').sort());
    expect(new Set([at(0), at(1), at(2), at(100)]).size).toBe(4);
  });
});
