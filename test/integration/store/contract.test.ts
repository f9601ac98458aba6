import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CompactedError, EtcdHttpStore, EtcdStore, MemoryStore, commitChunked, type Lease, type Store, type StoreEvent } from '../../../src/store/index.js';
import { startEtcd, type EtcdHandle } from '../../support/etcd.js';
import { uniqueName } from '../../support/names.js';
import { run } from '../../support/process.js';

// One suite, two stores: the in-memory twin must not drift from etcd. What happens to etcd from
// outside (a compaction, a lease expiring because its owner stopped keeping it alive) is done to the
// twin by its own controls, and to etcd with etcdctl. The etcd here is the suite's own: a compaction
// is etcd-wide, and must not reach the other test files' reads.
interface Subject {
  store: Store;
  compact(revision: number): Promise<void>;
  expire(lease: Lease): Promise<void>;
}

/** Pages of 100 keys, so the paging cases cross pages on etcd with few keys. */
const PAGE_KEYS = 100;

let etcd: EtcdHandle;
beforeAll(async () => {
  etcd = await startEtcd();
});
afterAll(async () => {
  await etcd.stop();
});

const etcdctl = async (...args: string[]): Promise<void> => {
  await run('etcdctl', ['--endpoints', etcd.endpoint, ...args]);
};

const subjects: [string, () => Promise<Subject>][] = [
  ['memory', async () => {
    const store = new MemoryStore();
    return { store, compact: (r) => store.compact(r), expire: (l) => store.expireLease(l.id) };
  }],
  ['etcd', async () => {
    const store = await EtcdStore.connect([etcd.endpoint], `/${uniqueName('contract')}`, { pageKeys: PAGE_KEYS });
    // etcdctl names leases in hex.
    return { store, compact: (r) => etcdctl('compact', String(r)), expire: (l) => etcdctl('lease', 'revoke', BigInt(l.id).toString(16)) };
  }],
  ['etcd over its JSON gateway', async () => {
    const store = await EtcdHttpStore.connect([etcd.endpoint], `/${uniqueName('contract-http')}`, { pageKeys: PAGE_KEYS });
    return { store, compact: (r) => etcdctl('compact', String(r)), expire: (l) => etcdctl('lease', 'revoke', BigInt(l.id).toString(16)) };
  }],
];

async function until<T>(fn: () => T | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.each(subjects)('Store contract: %s', (_name, make) => {
  const opened: Store[] = [];
  const subject = async (): Promise<Subject> => {
    const s = await make();
    opened.push(s.store);
    return s;
  };
  const open = async (): Promise<Store> => (await subject()).store;
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

  it('counts the keys under a prefix and names those written after a revision', async () => {
    const s = await open();
    const first = await s.commit({ put: [{ key: 'd/a', value: '1' }, { key: 'd/b', value: '2' }, { key: 'd/c', value: '3' }, { key: 'e/x', value: 'x' }] });
    expect(await s.changedSince('d/', first.revision)).toEqual({ count: 3, changed: [] });
    const edit = await s.commit({ put: [{ key: 'd/b', value: 'edited' }, { key: 'e/y', value: 'y' }], del: ['d/c'] });
    expect(await s.changedSince('d/', first.revision)).toEqual({ count: 2, changed: [{ key: 'd/b', modRevision: edit.revision }] });
    expect(await s.changedSince('d/', edit.revision)).toEqual({ count: 2, changed: [] });
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
    // Other suites of this file write to the same etcd: its revision may have moved on since.
    expect(await s.revision()).toBeGreaterThanOrEqual(revision);
  });

  it('refuses a transaction over its byte limit, and writes none of it', async () => {
    const s = await open();
    const put = [{ key: 'small', value: 'x' }, { key: 'large', value: 'x'.repeat(s.limits.maxTxnBytes) }];
    await expect(s.commit({ put })).rejects.toThrow(/exceeds the .* one etcd request may carry/);
    expect((await s.list('')).entries).toEqual([]);
  });

  it('lists more keys than one page in key order, at the latest and at a past revision', async () => {
    const s = await open();
    const keys = Array.from({ length: 2 * PAGE_KEYS + 50 }, (_, i) => `p/${String(i).padStart(4, '0')}`);
    const first = await commitChunked(s, keys.map((key) => ({ key, value: 'v1' })).reverse(), []);
    await commitChunked(s, keys.map((key) => ({ key, value: 'v2' })), ['p/0007']);
    const past = await s.list('p/', { revision: first });
    expect(past.entries.map((e) => `${e.key}=${e.value}`)).toEqual(keys.map((k) => `${k}=v1`));
    const latest = await s.list('p/');
    expect(latest.entries.map((e) => `${e.key}=${e.value}`)).toEqual(keys.filter((k) => k !== 'p/0007').map((k) => `${k}=v2`));
  });

  it('after a compaction, reads from before it fail with CompactedError; the state at it and after stays', async () => {
    const { store: s, compact } = await subject();
    const r1 = (await s.commit({ put: [{ key: 'c/k', value: 'v1' }, { key: 'c/gone', value: 'g' }] })).revision;
    const r2 = (await s.commit({ put: [{ key: 'c/k', value: 'v2' }], del: ['c/gone'] })).revision;
    await s.commit({ put: [{ key: 'c/k', value: 'v3' }] });
    await compact(r2);
    await expect(s.get('c/k', { revision: r1 })).rejects.toBeInstanceOf(CompactedError);
    await expect(s.list('c/', { revision: r1 })).rejects.toBeInstanceOf(CompactedError);
    expect((await s.list('c/', { revision: r2 })).entries.map((e) => `${e.key}=${e.value}`)).toEqual(['c/k=v2']);
    expect((await s.get('c/k', { revision: r2 }))?.value).toBe('v2');
    expect((await s.list('c/')).entries.map((e) => `${e.key}=${e.value}`)).toEqual(['c/k=v3']);
  });

  it('a watch from a compacted revision fails with CompactedError and sees no event; one from after it works', async () => {
    const { store: s, compact } = await subject();
    const r1 = (await s.commit({ put: [{ key: 'w/k', value: '1' }] })).revision;
    const r2 = (await s.commit({ put: [{ key: 'w/k', value: '2' }] })).revision;
    await compact(r2);
    const seen: StoreEvent[] = [];
    const errors: Error[] = [];
    const broken = s.watch('w/', r1, (e) => seen.push(e), (err) => errors.push(err));
    const error = await until(() => errors[0]);
    await broken.close();
    expect(error).toBeInstanceOf(CompactedError);
    expect(seen).toEqual([]);

    const fresh: StoreEvent[] = [];
    const w = s.watch('w/', r2 + 1, (e) => fresh.push(e));
    await s.commit({ put: [{ key: 'w/k', value: '3' }] });
    await until(() => (fresh.length > 0 ? true : undefined));
    await w.close();
    expect(fresh.map((e) => e.type === 'put' && e.value)).toEqual(['3']);
  });

  it('a lease that expires drops its keys (watchers see the deletes), tells its owner, and refuses puts, writing nothing', async () => {
    const { store: s, expire } = await subject();
    const lease = await s.lease(3);
    let lost = false;
    lease.onLost(() => (lost = true));
    const { revision } = await s.commit({ put: [{ key: 'l/a', value: '1', lease }, { key: 'l/b', value: '2', lease }, { key: 'l/kept', value: 'k' }] });
    const seen: StoreEvent[] = [];
    const w = s.watch('l/', revision + 1, (e) => seen.push(e));

    await expire(lease);
    await until(() => (lost ? true : undefined));
    await until(() => (seen.length >= 2 ? true : undefined));
    await w.close();
    expect(seen.map((e) => `${e.type} ${e.key}`).sort()).toEqual(['delete l/a', 'delete l/b']);
    expect((await s.list('l/')).entries.map((e) => e.key)).toEqual(['l/kept']);

    await expect(s.commit({ put: [{ key: 'l/other', value: 'x' }, { key: 'l/c', value: '3', lease }] })).rejects.toThrow(/lease not found/);
    expect((await s.list('l/')).entries.map((e) => e.key)).toEqual(['l/kept']);
  });

  it('revoking a lease drops all its keys at once, however many', async () => {
    const s = await open();
    const lease = await s.lease(10);
    const put = Array.from({ length: 200 }, (_, i) => ({ key: `many/${i}`, value: 'x', lease }));
    await commitChunked(s, put, []);
    expect((await s.list('many/')).entries).toHaveLength(200);
    const before = await s.revision();
    await lease.revoke();
    expect((await s.list('many/')).entries).toEqual([]);
    expect(await s.revision()).toBe(before + 1);
  });
});

describe('EtcdStore errors', () => {
  it('names the fix when etcd cannot be reached', async () => {
    await expect(EtcdStore.connect(['http://127.0.0.1:1'], '/x')).rejects.toThrow(/cannot reach etcd at http:\/\/127.0.0.1:1/);
  });
});
