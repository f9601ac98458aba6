import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { commitChunked, opBytes, txnBytes, type EtcdStoreOptions, type PutOp, type Store } from '../../../src/store/index.js';
import { STORE_CLIENTS, openTestStore, startEtcd, type ConnectStore, type EtcdHandle } from '../../support/etcd.js';

// etcd's size limits, on real etcd: the harness etcd runs with the default --max-request-bytes
// (1.5 MiB); a dedicated one here runs with 64 KiB, so the same limits are reached with small data.
const KiB = 1024;
const SMALL_LIMIT = 64 * KiB;

let small: EtcdHandle;
beforeAll(async () => {
  small = await startEtcd({ args: ['--max-request-bytes', String(SMALL_LIMIT)] });
});

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await small.stop();
});

/** The client the suite runs on (each of berth's two, by turns). */
let connect: ConnectStore;

async function open(opts: EtcdStoreOptions = {}, endpoint = inject('etcdEndpoint')): Promise<Store> {
  const { store, dispose } = await openTestStore(endpoint, 'limits', opts, connect);
  cleanups.push(dispose);
  return store;
}

const puts = (n: number, bytes: number, prefix = 'k/'): PutOp[] =>
  Array.from({ length: n }, (_, i) => ({ key: `${prefix}${String(i).padStart(5, '0')}`, value: `${i}:`.padEnd(bytes, 'x') }));

describe.each(STORE_CLIENTS)('etcd limits with %s', (_name, client) => {
  beforeAll(() => {
    connect = client;
  });

  describe('writes within etcd --max-request-bytes', () => {
    it('writes 50 values of 100 KB (5 MB) in txns under the default 1.5 MiB, and lists them back', async () => {
      const store = await open();
      await commitChunked(store, puts(50, 100_000), []);
      const { entries } = await store.list('k/');
      expect(entries).toHaveLength(50);
      expect(entries.every((e) => e.value.length === 100_000)).toBe(true);
    });

    it('writes txns four at a time when asked, and returns a revision no key was written after', async () => {
      const store = await open();
      const revision = await commitChunked(store, puts(1000, 10), ['gone'], 4);
      const { entries } = await store.list('k/');
      expect(entries).toHaveLength(1000);
      expect(Math.max(...entries.map((e) => e.modRevision))).toBe(revision);
    });

    it('a txn of exactly limits.maxTxnBytes is accepted by a real etcd (the estimate has headroom)', async () => {
      for (const [endpoint, opts] of [[inject('etcdEndpoint'), {}], [small.endpoint, { maxRequestBytes: SMALL_LIMIT }]] as const) {
        const store = await open(opts, endpoint);
        const n = 100;
        const each = Math.floor(store.limits.maxTxnBytes / n) - opBytes('k/00000', '') - 1;
        const put = puts(n, each);
        put.push({ key: 'k/fill', value: 'x'.repeat(store.limits.maxTxnBytes - txnBytes({ put }) - opBytes('k/fill', '')) });
        expect(txnBytes({ put })).toBe(store.limits.maxTxnBytes);
        expect((await store.commit({ put })).ok).toBe(true);
        // One byte more is refused before it is sent.
        put.push({ key: 'k/one', value: '' });
        await expect(store.commit({ put })).rejects.toThrow(/exceeds the .* one etcd request may carry/);
      }
    });

    it('keeps every txn under a small --max-request-bytes (64 KiB) when told so', async () => {
      const store = await open({ maxRequestBytes: SMALL_LIMIT }, small.endpoint);
      await commitChunked(store, puts(40, 8_000), []);
      expect((await store.list('k/')).entries).toHaveLength(40);
      await expect(commitChunked(store, [{ key: 'big', value: 'x'.repeat(70 * KiB) }], [])).rejects.toThrow(/big is \d+(\.\d)? KiB .*more than one etcd request may carry/);
    });

    it('an oversized request fails alone: the calls after it still reach etcd (no open circuit breaker)', async () => {
      // A store that believes the default limit, on an etcd that takes 64 KiB: etcd refuses the txn.
      const store = await open({}, small.endpoint);
      const errors: unknown[] = [];
      for (let i = 0; i < 3; i++) errors.push(await store.commit({ put: [{ key: 'big', value: 'x'.repeat(1024 * KiB) }] }).catch((e: unknown) => e));
      await store.commit({ put: [{ key: 'after', value: 'ok' }] });
      expect((await store.get('after'))?.value).toBe('ok');
      expect(errors.map(String)).toEqual(Array(3).fill(expect.stringMatching(/a request or response over the size limit/)));
    });
  });

  describe('lists in pages', () => {
    it('lists 10,000 records of ~700 bytes (7 MB, over the client 4 MiB response limit)', async () => {
      const store = await open();
      await commitChunked(store, puts(10_000, 700), []);
      const { entries } = await store.list('k/');
      expect(entries).toHaveLength(10_000);
      expect(entries.map((e) => e.key)).toEqual(puts(10_000, 1).map((p) => p.key));
    });

    it('reads every page at the revision of the first, while writes go on between pages', async () => {
      const store = await open({ pageKeys: 2 });
      const keys = puts(20, 1).map((p) => p.key);
      const written: { key: string; value: string; revision: number }[] = [];
      for (const key of keys) written.push({ key, value: '0', revision: (await store.commit({ put: [{ key, value: '0' }] })).revision });
      let done = false;
      const writer = (async () => {
        for (let round = 1; !done; round++) {
          // Backwards, so a page read at the latest revision would mix old and new values.
          for (const key of [...keys].reverse()) {
            if (done) break;
            written.push({ key, value: String(round), revision: (await store.commit({ put: [{ key, value: String(round) }] })).revision });
          }
        }
      })();
      const listed = await store.list('k/');
      done = true;
      await writer;
      expect(written.some((w) => w.revision > listed.revision)).toBe(true);
      const expected = keys.map((key) => {
        const last = written.filter((w) => w.key === key && w.revision <= listed.revision).at(-1);
        return `${key}=${last?.value}`;
      });
      expect(listed.entries.map((e) => `${e.key}=${e.value}`)).toEqual(expected);
    });

    it('pages a list at a given revision at that revision', async () => {
      const store = await open({ pageKeys: 3 });
      const { revision } = await store.commit({ put: puts(10, 4) });
      await store.commit({ put: puts(10, 8).slice(0, 5), del: ['k/00009'] });
      const past = await store.list('k/', { revision });
      expect(past.entries.map((e) => e.value)).toEqual(puts(10, 4).map((p) => p.value));
      expect(past.revision).toBeGreaterThan(revision);
    });

    it('halves a page that the client refuses as too large', async () => {
      // 30 values of 1 MiB in one page would be a 30 MiB response, and the store is told to aim at 64 MiB pages.
      const store = await open({ pageBytes: 64 * 1024 * 1024 });
      await commitChunked(store, puts(30, 1024 * KiB), []);
      const { entries } = await store.list('k/');
      expect(entries).toHaveLength(30);
    });
  });
});
