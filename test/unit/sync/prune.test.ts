import { describe, expect, it } from 'vitest';
import { MemoryStore, encode, historyKey, noteKey, sourceKey, type HistoryRecord, type SealRecord, type Store } from '../../../src/store/index.js';
import { HistoryPruner } from '../../../src/sync/prune.js';

// The pruner keeps the history in memory after its first pass: each later pass must delete what a
// whole pass (every record and note listed, expiredPast) deletes, while reading only what is new.

const SOURCE = 's';

/** A small deterministic generator (mulberry32), so a failing seed can be run again. */
function random(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  };
}

const history = (commit: string): HistoryRecord => ({ type: 'history', source: SOURCE, commit, outcome: 'applied', time: '', author: '', message: '', errors: [] });
const seal = (commit: string): SealRecord => ({ type: 'seal', source: SOURCE, commit, revision: 1, time: '', author: '', message: '', counts: { objects: 0, created: 0, updated: 0, deleted: 0 } });

/** The store, counting the entries each list returns by the prefix it was asked for. */
function counted(store: Store, reads: Map<string, number>): Store {
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'list') {
        return async (prefix: string, opts?: { revision?: number }) => {
          const out = await target.list(prefix, opts);
          reads.set(prefix, (reads.get(prefix) ?? 0) + out.entries.length);
          return out;
        };
      }
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** One commit recorded: its history record, a few delivered notes, and now and then the seal. */
async function record(stores: Store[], seq: number, commit: string, notes: number, sealed: boolean): Promise<void> {
  for (const store of stores) {
    await store.commit({ put: [{ key: historyKey(SOURCE, seq), value: encode(history(commit)) }] });
    for (let n = 0; n < notes; n++) await store.commit({ put: [{ key: noteKey(SOURCE, commit, `${String(seq).padStart(12, '0')}-${n}`), value: '{}' }] });
    if (sealed) await store.commit({ put: [{ key: sourceKey(SOURCE), value: encode(seal(commit)) }] });
  }
}

describe('HistoryPruner', () => {
  it.each([
    [1, 5, 60],
    [2, 1, 40],
    [3, 20, 80],
    [4, 3, 50],
    [5, 2, 120],
    [6, 10, 150],
    [7, 1, 100],
  ])('seed %i, limit %i: each pass deletes what a whole pass deletes (%i commits, some seen twice, some in force)', async (seed, limit, commits) => {
    const int = random(seed);
    const kept = new MemoryStore();
    const whole = new MemoryStore();
    const pruner = new HistoryPruner(kept, SOURCE);
    for (let seq = 1; seq <= commits; seq++) {
      const commit = `c${int(commits / 2)}`;
      await record([kept, whole], seq, commit, int(3), int(4) === 0);
      // Now and then a record deleted by hand: the count no longer adds up, and the pruner lists again.
      if (int(15) === 0) {
        const victim = (await kept.list('history/')).entries[0]?.key;
        if (victim) for (const s of [kept, whole]) await s.commit({ del: [victim] });
      }
      const a = await pruner.prune(limit);
      const b = await new HistoryPruner(whole, SOURCE).prune(limit);
      expect(a).toBe(b);
      expect((await kept.list('')).entries.map((e) => e.key)).toEqual((await whole.list('')).entries.map((e) => e.key));
    }
  });

  it('reads no more after its first pass than the new record and the notes of the commits that go', async () => {
    const reads = new Map<string, number>();
    const mem = new MemoryStore();
    const store = counted(mem, reads);
    const pruner = new HistoryPruner(store, SOURCE);
    for (let seq = 1; seq <= 300; seq++) await record([mem], seq, `c${seq}`, 2, seq === 1);
    await pruner.prune(50);
    expect(reads.get('history/s/')).toBe(300);
    reads.clear();
    for (let seq = 301; seq <= 400; seq++) {
      await record([mem], seq, `c${seq}`, 2, false);
      expect(await pruner.prune(50)).toBe(3);
    }
    // No list of the history or of every note: only each gone commit's notes (two a commit).
    expect([...reads.keys()].every((prefix) => /^notes\/s\/c\d+\/$/.test(prefix))).toBe(true);
    expect([...reads.values()].reduce((n, v) => n + v, 0)).toBe(200);
    // The commit in force (c1) stays however old.
    expect((await mem.list('history/')).entries).toHaveLength(51);
  });
});
