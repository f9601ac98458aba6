import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConflictError, InvalidInputError, UnavailableError, kindOf, type ErrorKind } from '../../../src/errors.js';
import {
  IMMEDIATE_CONFLICT_RETRIES, MemoryStore, reactionTo, retryDelay, startLoop, type Closer, type Loop, type LoopOptions, type StoreEvent,
} from '../../../src/store/index.js';
import { captureLog } from '../scheduler/harness.js';

describe('the loops’ error policy', () => {
  it.each<[string, ErrorKind, unknown]>([
    ['a manifest or path error', 'input', new InvalidInputError('ENOPATH', 'no such path')],
    ['a lost compare-and-swap', 'conflict', new ConflictError('ESEALRACE', 'lost')],
    ['etcd or Docker unreachable', 'unavailable', new UnavailableError('EETCDUNREACHABLE', 'down')],
    ['anything else', 'unexpected', new Error('boom')],
    ['a thrown string', 'unexpected', 'boom'],
  ])('%s is of kind %s', (_what, kind, err) => {
    expect(kindOf(err)).toBe(kind);
  });

  it.each<[ErrorKind, number, string]>([
    ['input', 1, 'on-change'],
    ['conflict', 1, 'now'],
    ['conflict', IMMEDIATE_CONFLICT_RETRIES, 'now'],
    ['conflict', IMMEDIATE_CONFLICT_RETRIES + 1, 'backoff'],
    ['unavailable', 0, 'backoff'],
    ['unexpected', 0, 'backoff'],
  ])('%s (conflict number %s in a row) is retried %s', (kind, conflicts, retry) => {
    expect(reactionTo(kind, conflicts)).toEqual({ retry });
  });

  const bounds = { minMs: 100, maxMs: 10_000 };
  it.each([
    [1, 50, 100],
    [2, 100, 200],
    [5, 800, 1600],
    [8, 5_000, 10_000],
    [50, 5_000, 10_000],
  ])('retry %s waits between %s and %s ms (capped, jittered)', (failures, low, high) => {
    expect(retryDelay(failures, bounds, 0)).toBe(low);
    expect(retryDelay(failures, bounds, 0.999_999)).toBe(high);
    expect(retryDelay(failures, bounds, 0.5)).toBeGreaterThan(low);
  });
});

describe('startLoop', () => {
  let loop: Loop | undefined;
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  });
  afterEach(async () => {
    await loop?.stop();
    loop = undefined;
    vi.useRealTimers();
  });

  /** A loop whose reconcile throws what `fail()` says (nothing once it says undefined). */
  const start = async (fail: () => unknown, over: Partial<LoopOptions> = {}) => {
    const { log, lines } = captureLog();
    let calls = 0;
    const events: string[] = [];
    loop = await startLoop({
      store: new MemoryStore(),
      log,
      watch: [],
      resyncMs: 3_600_000,
      troubleAfterMs: 10_000,
      random: () => 0.5,
      onTrouble: async (err) => void events.push(`trouble: ${err instanceof Error ? err.message : String(err)}`),
      onRecovered: async () => void events.push('recovered'),
      reconcile: async () => {
        calls++;
        const err = fail();
        if (err !== undefined) throw err;
      },
      ...over,
    });
    await vi.advanceTimersByTimeAsync(0);
    const said = (level: number): string[] => lines.filter((l) => l.level === level).map((l) => String(l.msg));
    return { calls: () => calls, events, said, lines };
  };

  it('keeps a jittered resync of 2^31 ms below what a timer holds (a longer one would fire at once)', async () => {
    const run = await start(() => undefined, { resyncMs: 2 ** 31 - 1, random: () => 0.999 });
    const first = run.calls();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(run.calls()).toBe(first);
  });

  it.each([
    ['at the low end', 0, 900],
    ['at the high end', 0.995, 1_099],
  ])('resyncs with jitter (±10%%) %s: after %s of the draw, at %s ms', async (_what, draw, at) => {
    const run = await start(() => undefined, { resyncMs: 1_000, random: () => draw });
    const first = run.calls();
    await vi.advanceTimersByTimeAsync(at - 2);
    expect(run.calls()).toBe(first);
    await vi.advanceTimersByTimeAsync(2);
    expect(run.calls()).toBe(first + 1);
  });

  it('does not retry an input error: it waits for the next change, and logs it once', async () => {
    const l = await start(() => new InvalidInputError('ENOPATH', "path 'apps' does not exist"));
    await vi.advanceTimersByTimeAsync(120_000);
    expect(l.calls()).toBe(1);
    loop?.kick(); // a watch event or a resync meets the same input
    await vi.advanceTimersByTimeAsync(1_000);
    expect(l.calls()).toBe(2);
    expect(l.said(50)).toEqual(['input rejected; waiting for it to change']);
    expect(l.events).toEqual(["trouble: path 'apps' does not exist"]); // shown at once: only a person can fix it
  });

  it('shows an input error again only when it changes, and clears it when a reconcile succeeds', async () => {
    let err: unknown = new InvalidInputError('ENOBRANCH', "branch 'main' not found");
    const l = await start(() => err);
    loop?.kick();
    await vi.advanceTimersByTimeAsync(0);
    err = new InvalidInputError('ENOBRANCH', "branch 'release' not found");
    loop?.kick();
    await vi.advanceTimersByTimeAsync(0);
    err = undefined;
    loop?.kick();
    await vi.advanceTimersByTimeAsync(0);
    expect(l.calls()).toBe(4);
    expect(l.events).toEqual(["trouble: branch 'main' not found", "trouble: branch 'release' not found", 'recovered']);
  });

  it('re-runs at once after a conflict, and backs off when conflicts go on', async () => {
    let conflicts = 0;
    const l = await start(() => (++conflicts <= 2 ? new ConflictError('ESEALRACE', 'lost') : undefined));
    expect(l.calls()).toBe(3); // no timer between them
    conflicts = -100;
    loop?.kick();
    await vi.advanceTimersByTimeAsync(0);
    expect(l.calls()).toBe(4 + IMMEDIATE_CONFLICT_RETRIES);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(l.calls()).toBeGreaterThan(4 + IMMEDIATE_CONFLICT_RETRIES);
  });

  it('retries an unavailable dependency with capped backoff, and says so once after a while, and once when it is back', async () => {
    let down = true;
    const l = await start(() => (down ? new UnavailableError('EETCDUNREACHABLE', 'cannot reach etcd') : undefined));
    await vi.advanceTimersByTimeAsync(5_000);
    const early = l.calls();
    expect(early).toBeGreaterThan(3); // 75 ms, 150 ms, 300 ms, … (random 0.5)
    expect(l.said(40)).toEqual([]); // not yet "a while"
    expect(l.events).toEqual([]);
    await vi.advanceTimersByTimeAsync(115_000);
    // Capped at 10 s: 2 minutes down is about a dozen retries more, not hundreds.
    expect(l.calls() - early).toBeGreaterThan(8);
    expect(l.calls() - early).toBeLessThan(30);
    expect(l.said(40)).toEqual(['reconcile keeps failing; retrying with backoff']);
    expect(l.events).toEqual(['trouble: cannot reach etcd']);
    down = false;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(l.said(30)).toContain('reconcile recovered');
    expect(l.events).toEqual(['trouble: cannot reach etcd', 'recovered']);
  });

  it('says nothing of a short outage', async () => {
    let failures = 0;
    const l = await start(() => (++failures <= 3 ? new UnavailableError('EETCDUNREACHABLE', 'down') : undefined));
    await vi.advanceTimersByTimeAsync(30_000);
    expect(l.calls()).toBe(4);
    expect(l.said(40)).toEqual([]);
    expect(l.said(30)).toEqual([]);
    expect(l.events).toEqual([]);
  });

  it('reopens a broken watch with backoff through an outage, and says so once after a while, not per retry', async () => {
    /** The twin, with a switch for etcd being down (revision() fails) and a way to break its watches. */
    class FlakyStore extends MemoryStore {
      down = false;
      breaks: ((err: Error) => void)[] = [];
      override async revision(): Promise<number> {
        if (this.down) throw new UnavailableError('EETCDUNREACHABLE', 'cannot reach etcd');
        return super.revision();
      }
      override watch(prefix: string, from: number, onEvent: (e: StoreEvent) => void, onError?: (err: Error) => void): Closer {
        if (onError) this.breaks.push(onError);
        return super.watch(prefix, from, onEvent);
      }
    }
    const store = new FlakyStore();
    const l = await start(() => undefined, { store, watch: ['x/'] });
    store.down = true;
    for (const b of store.breaks.splice(0)) b(new Error('watch stream ended'));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(l.said(40)).toEqual([]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(l.said(40)).toEqual(['cannot reopen watch; retrying with backoff']);
    const retries = l.lines.filter((x) => x.msg === 'cannot reopen watch; retrying').length;
    expect(retries).toBeGreaterThan(5);
    expect(retries).toBeLessThan(25); // capped at 10 s: a minute is a dozen tries, not hundreds
    store.down = false;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(l.said(30)).toContain('watch reopened');
    const before = l.calls();
    await store.commit({ put: [{ key: 'x/a', value: '1' }] });
    await vi.advanceTimersByTimeAsync(0);
    expect(l.calls()).toBe(before + 1); // the reopened watch wakes the loop again
  });
});
