import { afterAll, describe, expect, inject, it } from 'vitest';
import { EtcdStore, MemoryStore, type Store, type StoreEvent } from '../../../src/store/index.js';
import { uniqueName } from '../../support/names.js';

// One suite, two stores: the in-memory twin must not drift from etcd.
const stores: [string, () => Promise<Store>][] = [
  ['memory', async () => new MemoryStore()],
  ['etcd', async () => EtcdStore.connect([inject('etcdEndpoint')], `/${uniqueName('contract')}`)],
];

async function until<T>(fn: () => T | undefined, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.each(stores)('Store contract: %s', (_name, make) => {
  const opened: Store[] = [];
  const open = async (): Promise<Store> => {
    const s = await make();
    opened.push(s);
    return s;
  };
  afterAll(async () => {
    await Promise.all(opened.map((s) => s.close()));
  });

  it('puts, gets and lists in key order at one revision', async () => {
    const s = await open();
    const { ok, revision } = await s.commit({ put: [{ key: 'a/2', value: 'two' }, { key: 'a/1', value: 'one' }, { key: 'b/1', value: 'x' }] });
    expect(ok).toBe(true);
    const one = await s.get('a/1');
    expect(one).toMatchObject({ key: 'a/1', value: 'one', modRevision: revision, createRevision: revision });
    const listed = await s.list('a/');
    expect(listed.entries.map((e) => e.key)).toEqual(['a/1', 'a/2']);
    expect(listed.revision).toBeGreaterThanOrEqual(revision); // the harness etcd is shared
    expect(await s.get('missing')).toBeUndefined();
  });

  it('reads the past at a revision (MVCC)', async () => {
    const s = await open();
    const first = await s.commit({ put: [{ key: 'k', value: 'v1' }, { key: 'gone', value: 'g' }] });
    await s.commit({ put: [{ key: 'k', value: 'v2' }, { key: 'new', value: 'n' }], del: ['gone'] });
    expect((await s.get('k', { revision: first.revision }))?.value).toBe('v1');
    expect((await s.list('', { revision: first.revision })).entries.map((e) => `${e.key}=${e.value}`)).toEqual(['gone=g', 'k=v1']);
    expect((await s.list('')).entries.map((e) => `${e.key}=${e.value}`)).toEqual(['k=v2', 'new=n']);
  });

  it('compares and swaps on modRevision; 0 means absent', async () => {
    const s = await open();
    expect((await s.commit({ ifUnchanged: { c: 0 }, put: [{ key: 'c', value: '1' }] })).ok).toBe(true);
    expect((await s.commit({ ifUnchanged: { c: 0 }, put: [{ key: 'c', value: '2' }] })).ok).toBe(false);
    const c = await s.get('c');
    expect(c?.value).toBe('1');
    expect((await s.commit({ ifUnchanged: { c: c?.modRevision ?? -1 }, put: [{ key: 'c', value: '3' }] })).ok).toBe(true);
    expect((await s.commit({ ifUnchanged: { c: c?.modRevision ?? -1 }, del: ['c'] })).ok).toBe(false);
    expect((await s.get('c'))?.value).toBe('3');
  });

  it('refuses a transaction larger than etcd max-txn-ops', async () => {
    const s = await open();
    const put = Array.from({ length: 129 }, (_, i) => ({ key: `big/${i}`, value: 'x' }));
    await expect(s.commit({ put })).rejects.toThrow(/exceeds 128/);
    expect((await s.list('big/')).entries).toHaveLength(0);
  });

  it('watches from a revision: history first, then live, puts and deletes', async () => {
    const s = await open();
    const a = await s.commit({ put: [{ key: 'w/a', value: '1' }] });
    await s.commit({ put: [{ key: 'other', value: 'x' }] });
    const seen: StoreEvent[] = [];
    const w = s.watch('w/', a.revision, (e) => seen.push(e));
    await until(() => (seen.length >= 1 ? true : undefined));
    const del = await s.commit({ del: ['w/a'] });
    await s.commit({ put: [{ key: 'w/b', value: '2' }] });
    await until(() => (seen.length >= 3 ? true : undefined));
    await w.close();
    expect(seen.map((e) => `${e.type} ${e.key}`)).toEqual(['put w/a', 'delete w/a', 'put w/b']);
    expect(seen[0]).toMatchObject({ type: 'put', value: '1', revision: a.revision });
    expect(seen[1]).toMatchObject({ revision: del.revision });
  });

  it('drops keys of a revoked lease', async () => {
    const s = await open();
    const lease = await s.lease(10);
    await s.commit({ put: [{ key: 'leased', value: 'n', lease }, { key: 'kept', value: 'k' }] });
    expect((await s.get('leased'))?.value).toBe('n');
    await lease.revoke();
    expect(await s.get('leased')).toBeUndefined();
    expect((await s.get('kept'))?.value).toBe('k');
  });

  it('reports its current revision', async () => {
    const s = await open();
    const before = await s.revision();
    const { revision } = await s.commit({ put: [{ key: 'r', value: '1' }] });
    expect(revision).toBeGreaterThan(before);
    // Other test files write to the same etcd: its revision may have moved on since.
    expect(await s.revision()).toBeGreaterThanOrEqual(revision);
  });
});

describe('EtcdStore errors', () => {
  it('names the fix when etcd cannot be reached', async () => {
    await expect(EtcdStore.connect(['http://127.0.0.1:1'], '/x')).rejects.toThrow(/cannot reach etcd at http:\/\/127.0.0.1:1/);
  });
});
