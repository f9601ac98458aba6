import { pino } from 'pino';
import { afterEach } from 'vitest';
import type { Logger } from '../../../src/log.js';
import {
  BINDINGS, MAX_TXN_OPS, PODS, decode, encode, nodeKey, podKey,
  type StoredBinding, type Closer, type Entry, type Lease, type NodeRecord, type PodRecord, type Store, type StoreEvent, type Txn,
} from '../../../src/store/index.js';

/** Hooks around a shared store, to gate or count what a component does. */
export interface Hooks {
  /** Runs before each `list`; may hold it back, or throw in its place. */
  beforeList?: (prefix: string, opts?: { revision?: number }) => Promise<void> | void;
  /** Runs before each commit; may hold it back. */
  beforeCommit?: (txn: Txn) => Promise<void> | void;
  /** Hears each commit and its outcome. */
  committed?: (txn: Txn, result: { ok: boolean; revision: number }) => void;
}

/** A Store that passes everything to `inner`, calling the hooks on the way. */
export class HookedStore implements Store {
  constructor(
    private readonly inner: Store,
    private readonly hooks: Hooks,
  ) {}
  get limits(): Store['limits'] {
    return this.inner.limits;
  }
  revision(): Promise<number> {
    return this.inner.revision();
  }
  get(key: string, opts?: { revision?: number }): Promise<Entry | undefined> {
    return this.inner.get(key, opts);
  }
  async list(prefix: string, opts?: { revision?: number }): Promise<{ entries: Entry[]; revision: number }> {
    await this.hooks.beforeList?.(prefix, opts);
    return this.inner.list(prefix, opts);
  }
  changedSince(prefix: string, revision: number): Promise<{ count: number; changed: { key: string; modRevision: number }[] }> {
    return this.inner.changedSince(prefix, revision);
  }
  async commit(txn: Txn): Promise<{ ok: boolean; revision: number }> {
    await this.hooks.beforeCommit?.(txn);
    const result = await this.inner.commit(txn);
    this.hooks.committed?.(txn, result);
    return result;
  }
  watch(prefix: string, fromRevision: number, onEvent: (e: StoreEvent) => void, onError?: (err: Error) => void): Closer {
    return this.inner.watch(prefix, fromRevision, onEvent, onError);
  }
  lease(ttlSeconds: number): Promise<Lease> {
    return this.inner.lease(ttlSeconds);
  }
  async close(): Promise<void> {
    // The inner store belongs to the test, which closes it.
  }
}

/** A logger whose JSON lines land in `lines`, for asserting what was logged (and how often). */
export function captureLog(): { log: Logger; lines: { msg?: string; [k: string]: unknown }[] } {
  const lines: { msg?: string; [k: string]: unknown }[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s) as { msg?: string }) });
  return { log, lines };
}

/** Put pods as the controller would. */
export async function putPods(store: Store, pods: PodRecord[]): Promise<void> {
  await store.commit({ put: pods.map((p) => ({ key: podKey(p.namespace, p.name), value: encode(p) })) });
}

/** Register nodes as their agents would (without a lease: tests remove them by hand). */
export async function putNodes(store: Store, nodes: NodeRecord[]): Promise<void> {
  await store.commit({ put: nodes.map((n) => ({ key: nodeKey(n.name), value: encode(n) })) });
}

/** Every pod in the store, in key order. */
export async function readPods(store: Store): Promise<PodRecord[]> {
  return (await store.list(PODS)).entries.map((e) => decode('pod', e.key, e.value));
}

/** Every binding in the store, in key order. */
export async function readBindings(store: Store): Promise<StoredBinding[]> {
  return (await store.list(BINDINGS)).entries.map((e) => decode('binding', e.key, e.value));
}

/** Remove every key the test wrote under its store's prefix. */
export async function clearStore(store: Store): Promise<void> {
  const keys = (await store.list('')).entries.map((e) => e.key);
  for (let i = 0; i < keys.length; i += MAX_TXN_OPS) await store.commit({ del: keys.slice(i, i + MAX_TXN_OPS) });
}

/**
 * For a describe block run on any store: `defer(fn)` runs fn after the current test (last deferred
 * first), and `fresh()` opens a store from `open` that is emptied and closed then.
 */
export function storePerTest(open: () => Promise<Store>): { defer(fn: () => Promise<void>): void; fresh(): Promise<Store> } {
  let cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups = [];
  });
  const defer = (fn: () => Promise<void>): void => {
    cleanups.push(fn);
  };
  return {
    defer,
    fresh: async () => {
      const store = await open();
      defer(async () => {
        await clearStore(store);
        await store.close();
      });
      return store;
    },
  };
}
