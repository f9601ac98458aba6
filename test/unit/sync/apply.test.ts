import { describe, expect, it } from 'vitest';
import { ConflictError } from '../../../src/errors.js';
import type { DesiredObject } from '../../../src/manifest/types.js';
import { objectKey } from '../../../src/manifest/types.js';
import {
  MAX_TXN_OPS, MemoryStore, decode, desiredKey, desiredPrefix, encode, historyPrefix, sourceKey,
  type Entry, type HistoryRecord, type SealRecord, type StoreEvent, type Txn,
} from '../../../src/store/index.js';
import { applyCommit, recordRejected, sealedObjects, type HeadCommit } from '../../../src/sync/index.js';
import { waitFor } from '../../support/wait.js';
import { deployment } from '../controller/fixtures.js';

const SOURCE = 'main';
const NOW = new Date('2030-01-02T03:04:05.000Z');

/** A head commit whose sha is `name` padded to 40 hex-looking characters. */
function head(name: string, message = `commit ${name}`): HeadCommit {
  return { commit: name.padEnd(40, '0'), author: 'Ada <ada@example.org>', message, time: NOW.toISOString() };
}

/** `web-000` … : names that sort in the order they were made. */
function many(n: number): DesiredObject[] {
  return Array.from({ length: n }, (_, i) => deployment(`web-${String(i).padStart(3, '0')}`));
}

/** The same object with a different meaning (what an edited manifest becomes). */
function changed(o: DesiredObject): DesiredObject {
  return { ...o, hash: `${o.hash}-v2` };
}

const names = (objects: DesiredObject[]): string[] => objects.map((o) => o.name);

async function desiredEntries(store: MemoryStore, revision?: number): Promise<Entry[]> {
  return (await store.list(desiredPrefix(SOURCE), revision === undefined ? {} : { revision })).entries;
}

async function history(store: MemoryStore): Promise<HistoryRecord[]> {
  return (await store.list(historyPrefix(SOURCE))).entries.map((e) => decode('history', e.key, e.value));
}

async function sealOf(store: MemoryStore): Promise<SealRecord | undefined> {
  const e = await store.get(sourceKey(SOURCE));
  return e && decode('seal', e.key, e.value);
}

/** A MemoryStore that remembers every transaction it was asked to commit, in order. */
class RecordingStore extends MemoryStore {
  readonly txns: Txn[] = [];
  override async commit(txn: Txn): Promise<{ ok: boolean; revision: number }> {
    this.txns.push(txn);
    return super.commit(txn);
  }
}

/**
 * A MemoryStore on which another writer seals the source just before this one's seal txn lands. Its seal
 * names the store's first revision: an empty commit applied before this writer's objects were written.
 */
class RacingStore extends MemoryStore {
  private raced = false;
  override async commit(txn: Txn): Promise<{ ok: boolean; revision: number }> {
    if (!this.raced && txn.put?.some((p) => p.key === sourceKey(SOURCE))) {
      this.raced = true;
      const other: SealRecord = {
        type: 'seal', source: SOURCE, commit: head('other').commit, revision: 1, time: NOW.toISOString(),
        author: 'other', message: 'other', counts: { objects: 0, created: 0, updated: 0, deleted: 0 },
      };
      await super.commit({ put: [{ key: sourceKey(SOURCE), value: encode(other) }] });
    }
    return super.commit(txn);
  }
}

// A later commit whose object txns landed but whose seal did not (the sync died in between).
// It updates the first object, deletes the second and adds a stray one.
async function halfApplied(store: MemoryStore, [a, b]: readonly DesiredObject[]): Promise<void> {
  if (!a || !b) throw new Error('halfApplied needs two objects');
  await store.commit({
    put: [
      { key: desiredKey(SOURCE, objectKey(changed(a))), value: encode({ type: 'desired', object: changed(a), commit: head('half').commit }) },
      { key: desiredKey(SOURCE, 'Deployment/default/stray'), value: encode({ type: 'desired', object: deployment('stray'), commit: head('half').commit }) },
    ],
    del: [desiredKey(SOURCE, objectKey(b))],
  });
}

describe('applyCommit', () => {
  it('creates every object of a first commit, then seals it with a history record', async () => {
    const store = new MemoryStore();
    const objects = many(3);

    const { seal, plan } = await applyCommit(store, SOURCE, head('a'), objects, NOW);

    expect(names(plan.create)).toEqual(['web-000', 'web-001', 'web-002']);
    expect(plan.update).toEqual([]);
    expect(plan.delete).toEqual([]);
    expect(seal).toEqual({
      type: 'seal', source: SOURCE, commit: head('a').commit, revision: seal.revision, time: NOW.toISOString(),
      author: 'Ada <ada@example.org>', message: 'commit a', counts: { objects: 3, created: 3, updated: 0, deleted: 0 },
    });
    expect(await sealOf(store)).toEqual(seal);
    const stored = (await desiredEntries(store)).map((e) => decode('desired', e.key, e.value));
    expect(stored.map((r) => [r.object.name, r.commit])).toEqual(objects.map((o) => [o.name, head('a').commit]));
    expect(stored.map((r) => r.object)).toEqual(objects);
    expect(await history(store)).toEqual([
      {
        type: 'history', source: SOURCE, commit: head('a').commit, outcome: 'applied', time: NOW.toISOString(),
        author: 'Ada <ada@example.org>', message: 'commit a', errors: [], counts: seal.counts,
      },
    ]);
  });

  it(`splits 300 writes into txns of at most ${MAX_TXN_OPS} and writes the seal after all of them`, async () => {
    const store = new RecordingStore();
    const start = (await store.revision()) + 1;
    const events: StoreEvent[] = [];
    const watch = store.watch('', start, (e) => events.push(e));
    try {
      const { seal } = await applyCommit(store, SOURCE, head('big'), many(300), NOW);

      // Three object txns (128 + 128 + 44), then one txn with the seal, its history record and its status.
      expect(store.txns.map((t) => (t.put?.length ?? 0) + (t.del?.length ?? 0))).toEqual([128, 128, 44, 3]);
      await waitFor(() => events.length === 303, { what: '303 watch events' });
      const sealAt = events.findIndex((e) => e.key === sourceKey(SOURCE));
      const desiredAt = events.flatMap((e, i) => (e.key.startsWith(desiredPrefix(SOURCE)) ? [i] : []));
      expect(desiredAt).toHaveLength(300);
      expect(events.every((e) => e.type === 'put')).toBe(true);
      expect(Math.max(...desiredAt)).toBeLessThan(sealAt);
      expect(events[sealAt]?.revision).toBeGreaterThan(seal.revision);

      // The seal names a revision at which the whole commit is visible, and no earlier one is whole.
      expect(await desiredEntries(store, seal.revision)).toHaveLength(300);
      expect((await desiredEntries(store, seal.revision - 1)).length).toBeLessThan(300);
    } finally {
      await watch.close();
    }
  });

  it('updates changed objects, deletes removed ones and leaves the rest untouched', async () => {
    const store = new MemoryStore();
    const [a, b, c] = many(3) as [DesiredObject, DesiredObject, DesiredObject];
    await applyCommit(store, SOURCE, head('a'), [a, b, c], NOW);
    const before = new Map((await desiredEntries(store)).map((e) => [e.key, e.modRevision]));

    const d = deployment('web-new');
    const { seal, plan } = await applyCommit(store, SOURCE, head('b'), [a, changed(b), d], NOW);

    expect(names(plan.create)).toEqual(['web-new']);
    expect(plan.update.map((u) => [u.from.hash, u.to.hash])).toEqual([[b.hash, `${b.hash}-v2`]]);
    expect(names(plan.delete)).toEqual(['web-002']);
    expect(seal.counts).toEqual({ objects: 3, created: 1, updated: 1, deleted: 1 });
    const after = await desiredEntries(store);
    expect(after.map((e) => e.key)).toEqual([a, b, d].map((o) => desiredKey(SOURCE, objectKey(o))));
    expect(after.find((e) => e.key === desiredKey(SOURCE, objectKey(a)))?.modRevision).toBe(before.get(desiredKey(SOURCE, objectKey(a))));
    const updated = after.find((e) => e.key === desiredKey(SOURCE, objectKey(b)));
    expect(updated && decode('desired', updated.key, updated.value)).toEqual({ type: 'desired', object: changed(b), commit: head('b').commit });
    expect((await sealedObjects(store, SOURCE)).objects).toEqual([a, changed(b), d]);
    expect((await history(store)).map((h) => [h.commit, h.outcome])).toEqual([[head('a').commit, 'applied'], [head('b').commit, 'applied']]);
  });

  it('moves the seal to a commit that changed nothing but a README, writing no object', async () => {
    const store = new MemoryStore();
    const objects = many(2);
    const first = await applyCommit(store, SOURCE, head('a'), objects, NOW);
    const before = await desiredEntries(store);

    const { seal, plan } = await applyCommit(store, SOURCE, head('readme', 'docs: README'), objects, NOW);

    expect(plan).toEqual({ create: [], update: [], delete: [] });
    expect(seal.commit).toBe(head('readme').commit);
    expect(seal.message).toBe('docs: README');
    expect(seal.counts).toEqual({ objects: 2, created: 0, updated: 0, deleted: 0 });
    expect(seal.revision).toBeGreaterThanOrEqual(first.seal.revision);
    expect(await desiredEntries(store)).toEqual(before);
    expect((await sealOf(store))?.commit).toBe(head('readme').commit);
    expect((await sealedObjects(store, SOURCE)).objects).toEqual(objects);
  });

  it('throws ConflictError and writes no seal when another writer seals the source first', async () => {
    const store = new RacingStore();
    const err = await applyCommit(store, SOURCE, head('a'), many(2), NOW).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ConflictError);
    expect(err).toMatchObject({ code: 'ESEALRACE' });
    expect((await sealOf(store))?.commit).toBe(head('other').commit);
    expect(await history(store)).toEqual([]);
  });

  it.each([
    ['a revert to the sealed objects', (sealed: DesiredObject[]) => sealed],
    ['a commit that only adds an object', (sealed: DesiredObject[]) => [...sealed, deployment('web-new')]],
    ['a commit with the half-applied objects', (sealed: DesiredObject[]) => [deployment('stray'), changed(sealed[0] ?? deployment('x')), sealed[2] ?? deployment('y')]],
  ])('after a half-applied commit, %s leaves exactly its own objects visible at the new seal', async (_what, next) => {
    const store = new MemoryStore();
    const objects = many(3);
    await applyCommit(store, SOURCE, head('a'), objects, NOW);
    await halfApplied(store, objects);
    const want = next(objects); // in key order, as stored

    const { seal } = await applyCommit(store, SOURCE, head('c'), want, NOW);

    const visible = (await desiredEntries(store, seal.revision)).map((e) => decode('desired', e.key, e.value));
    expect(visible.map((r) => r.object)).toEqual(want);
    // Nothing at the seal still claims to come from the commit that never sealed.
    expect(visible.filter((r) => r.commit === head('half').commit)).toEqual([]);
    expect((await sealedObjects(store, SOURCE)).objects).toEqual(want);
  });

  it.each<[string, (store: MemoryStore, sealed: DesiredObject[]) => Promise<unknown>]>([
    ['nothing', () => Promise.resolve()],
    ['a key edited by hand', (store, [, b]) => store.commit({ put: [{ key: desiredKey(SOURCE, objectKey(b ?? deployment('x'))), value: encode({ type: 'desired', object: changed(b ?? deployment('x')), commit: 'hand' }) }] })],
    ['a key added by hand', (store) => store.commit({ put: [{ key: desiredKey(SOURCE, 'Deployment/default/stray'), value: encode({ type: 'desired', object: deployment('stray'), commit: 'hand' }) }] })],
    ['a half-applied commit', (store, sealed) => halfApplied(store, sealed)],
  ])('planned from the sealed objects kept in memory, after %s, leaves what planning from etcd leaves', async (_what, disturb) => {
    const outcomes = [];
    for (const known of [false, true]) {
      const store = new MemoryStore();
      const objects = many(3);
      const first = await applyCommit(store, SOURCE, head('a'), objects, NOW);
      const sealRevision = (await store.get(sourceKey(SOURCE)))?.modRevision ?? 0;
      await disturb(store, objects);
      const want = [deployment('web-new'), ...objects.slice(1)];
      const previous = known ? { seal: first.seal, sealRevision, objects } : undefined;
      const { seal, plan } = await applyCommit(store, SOURCE, head('c'), want, NOW, previous);
      const visible = (await desiredEntries(store, seal.revision)).map((e) => decode('desired', e.key, e.value));
      expect(visible.map((r) => r.object).sort((x, y) => (objectKey(x) < objectKey(y) ? -1 : 1))).toEqual([...want].sort((x, y) => (objectKey(x) < objectKey(y) ? -1 : 1)));
      expect(visible.filter((r) => r.commit !== head('c').commit && r.commit !== head('a').commit)).toEqual([]);
      outcomes.push({ plan, visible });
    }
    expect(outcomes[1]).toEqual(outcomes[0]);
  });

  it('applies over a seal whose revision etcd compacted away', async () => {
    const store = new MemoryStore();
    const [a, b] = many(2) as [DesiredObject, DesiredObject];
    await applyCommit(store, SOURCE, head('a'), [a, b], NOW);
    await store.compact(await store.revision());

    const { seal, plan } = await applyCommit(store, SOURCE, head('b'), [changed(a), deployment('web-new')], NOW);

    expect(seal.counts).toEqual({ objects: 2, created: 1, updated: 1, deleted: 1 });
    expect(plan.update.map((u) => u.to)).toEqual([changed(a)]);
    expect((await sealedObjects(store, SOURCE)).objects).toEqual([changed(a), deployment('web-new')]);
  });

  it('heals the writes of a lost seal race on the next apply', async () => {
    const store = new RacingStore();
    await expect(applyCommit(store, SOURCE, head('a'), many(2), NOW)).rejects.toThrow(ConflictError);

    // The other writer's seal holds no objects; the retry must not leave the loser's writes in it.
    const { seal } = await applyCommit(store, SOURCE, head('b'), [deployment('web-new')], NOW);
    expect((await desiredEntries(store, seal.revision)).map((e) => decode('desired', e.key, e.value))).toEqual([
      { type: 'desired', object: deployment('web-new'), commit: head('b').commit },
    ]);
  });
});

describe('sealedObjects', () => {
  it('is empty for a source that was never sealed', async () => {
    expect(await sealedObjects(new MemoryStore(), SOURCE)).toEqual({ seal: undefined, sealRevision: 0, objects: [] });
  });

  it('ignores objects written after the seal (a half-applied later commit)', async () => {
    const store = new MemoryStore();
    const objects = many(3) as [DesiredObject, DesiredObject, DesiredObject];
    const { seal } = await applyCommit(store, SOURCE, head('a'), objects, NOW);
    const sealEntry = await store.get(sourceKey(SOURCE));
    await halfApplied(store, objects);

    const read = await sealedObjects(store, SOURCE);

    expect(read.seal).toEqual(seal);
    expect(read.sealRevision).toBe(sealEntry?.modRevision);
    expect(read.objects).toEqual(objects);
    // …while the latest state does hold the half-applied writes.
    expect((await desiredEntries(store)).map((e) => e.key.slice(desiredPrefix(SOURCE).length))).toEqual([
      'Deployment/default/stray', 'Deployment/default/web-000', 'Deployment/default/web-002',
    ]);
  });
  it('reads the latest entries not written since the seal when the sealed revision was compacted', async () => {
    const store = new MemoryStore();
    const objects = many(3);
    const { seal } = await applyCommit(store, SOURCE, head('a'), objects, NOW);
    await halfApplied(store, objects);
    await store.compact(await store.revision());

    const read = await sealedObjects(store, SOURCE);

    expect(read.seal).toEqual(seal);
    // The stray and the updated object are newer than the seal; the unsealed delete cannot be seen.
    expect(names(read.objects)).toEqual(['web-002']);
  });
});

describe('recordRejected', () => {
  it.each([
    ['after an applied commit', true],
    ['on a source never sealed', false],
  ])('adds one history record and changes no desired key and no seal (%s)', async (_what, applied) => {
    const store = new MemoryStore();
    if (applied) await applyCommit(store, SOURCE, head('a'), many(2), NOW);
    const desiredBefore = await desiredEntries(store);
    const sealBefore = await store.get(sourceKey(SOURCE));
    const historyBefore = await history(store);
    const errors = ['apps/web.yaml:17:9: unknown field bogus', 'apps/web.yaml:20:3: another'];

    await recordRejected(store, SOURCE, head('bad', 'broken'), errors, NOW);

    expect(await desiredEntries(store)).toEqual(desiredBefore);
    expect(await store.get(sourceKey(SOURCE))).toEqual(sealBefore);
    expect(await history(store)).toEqual([
      ...historyBefore,
      {
        type: 'history', source: SOURCE, commit: head('bad').commit, outcome: 'rejected', time: NOW.toISOString(),
        author: 'Ada <ada@example.org>', message: 'broken', errors,
      },
    ]);
  });

  it('keeps history in the order commits were seen', async () => {
    const store = new MemoryStore();
    await applyCommit(store, SOURCE, head('a'), many(1), NOW);
    await recordRejected(store, SOURCE, head('bad1'), ['x.yaml:1:1: e'], NOW);
    await recordRejected(store, SOURCE, head('bad2'), ['x.yaml:1:1: e'], NOW);
    await applyCommit(store, SOURCE, head('b'), many(2), NOW);
    await recordRejected(store, SOURCE, head('bad3'), ['x.yaml:1:1: e'], NOW);

    expect((await history(store)).map((h) => `${h.commit.slice(0, 4)} ${h.outcome}`)).toEqual([
      'a000 applied', 'bad1 rejected', 'bad2 rejected', 'b000 applied', 'bad3 rejected',
    ]);
  });
});
