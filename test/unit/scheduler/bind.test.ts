import { describe, expect, it } from 'vitest';
import { BIND_TXNS_IN_FLIGHT, commitBinds } from '../../../src/scheduler/bind.js';
import type { Bind } from '../../../src/scheduler/schedule.js';
import { MemoryStore, PODS, bindingKey, commitChunked, encode, podKey, type Store } from '../../../src/store/index.js';
import { HookedStore, putNodes, readBindings, readPods } from './harness.js';
import { node, pod } from './fixtures.js';

/** A store holding `count` unbound pods and node n1; the binds of every pod onto n1, with their read revisions. */
async function setup(count: number): Promise<{ store: MemoryStore; binds: Bind[]; pods: Map<string, number>; nodes: Map<string, number> }> {
  const store = new MemoryStore();
  const all = Array.from({ length: count }, (_, i) => pod(`web-${String(i).padStart(3, '0')}`, { owner: `web-${i}` }));
  await putNodes(store, [node('n1')]);
  await commitChunked(store, all.map((p) => ({ key: podKey(p.namespace, p.name), value: encode(p) })), []);
  const pods = new Map((await store.list(PODS)).entries.map((e) => [e.key, e.modRevision]));
  const nodes = new Map((await store.list('nodes/')).entries.map((e) => [e.key.slice('nodes/'.length), e.modRevision]));
  return { store, binds: all.map((p) => ({ pod: p, node: 'n1' })), pods, nodes };
}

/** Wraps `store`, counting txns in flight at once (the inner commit is held one tick). */
function inFlight(store: Store): { store: Store; max: () => number; sent: () => number } {
  let now = 0;
  let max = 0;
  let sent = 0;
  const hooked = new HookedStore(store, {});
  const commit = hooked.commit.bind(hooked);
  hooked.commit = async (txn) => {
    sent++;
    max = Math.max(max, ++now);
    await new Promise((resolve) => setImmediate(resolve));
    try {
      return await commit(txn);
    } finally {
      now--;
    }
  };
  return { store: hooked, max: () => max, sent: () => sent };
}

describe('commitBinds', () => {
  it('binds every pod, as many per txn as etcd allows and several txns in flight', async () => {
    const { store, binds, pods, nodes } = await setup(1000);
    const counted = inFlight(store);
    const heard: number[] = [];
    const outcome = await commitBinds(counted.store, binds, { pods, nodes }, (batch) => void heard.push(batch.length));
    expect(outcome).toEqual({ bound: 1000, lost: false, lostBinds: [] });
    expect(counted.sent()).toBe(Math.ceil(1000 / 64));
    expect(counted.max()).toBe(BIND_TXNS_IN_FLIGHT);
    expect(heard.reduce((a, b) => a + b, 0)).toBe(1000);
    expect((await readPods(store)).every((p) => p.node === 'n1')).toBe(true);
    expect((await readBindings(store)).map((b) => b.pod)).toEqual(binds.map((b) => b.pod.name));
  });

  it('after a lost compare sends no new txn: the txns in flight finish, the rest wait for a re-plan', async () => {
    const { store, binds, pods, nodes } = await setup(1000);
    // The controller replaces one pod of the first txn after the scheduler read it.
    const first = binds[0]?.pod ?? pod('missing');
    await store.commit({ put: [{ key: podKey(first.namespace, first.name), value: encode({ ...first, commit: 'newer' }) }] });
    const counted = inFlight(store);
    const outcome = await commitBinds(counted.store, binds, { pods, nodes });
    expect(outcome.lost).toBe(true);
    expect(counted.sent()).toBe(BIND_TXNS_IN_FLIGHT);
    expect(outcome.bound).toBe((BIND_TXNS_IN_FLIGHT - 1) * 64);
    expect(await store.get(bindingKey('n1', first.namespace, first.name))).toBeUndefined();
  });

  it('a node that changed since the read fails its binds', async () => {
    const { store, binds, pods, nodes } = await setup(3);
    await putNodes(store, [node('n1', { cpu: 1 })]);
    expect(await commitBinds(store, binds, { pods, nodes })).toEqual({ bound: 0, lost: true, lostBinds: binds });
    expect(await readBindings(store)).toEqual([]);
  });

  it('an error stops the sending and reaches the caller', async () => {
    const { store, binds, pods, nodes } = await setup(1000);
    let sent = 0;
    const failing = new HookedStore(store, {});
    failing.commit = async () => {
      sent++;
      await new Promise((resolve) => setImmediate(resolve));
      throw new Error('etcd gone');
    };
    await expect(commitBinds(failing, binds, { pods, nodes })).rejects.toThrow('etcd gone');
    expect(sent).toBe(BIND_TXNS_IN_FLIGHT);
  });

  it('nothing to bind sends nothing', async () => {
    const { store, pods, nodes } = await setup(0);
    const counted = inFlight(store);
    expect(await commitBinds(counted.store, [], { pods, nodes })).toEqual({ bound: 0, lost: false, lostBinds: [] });
    expect(counted.sent()).toBe(0);
  });
});
