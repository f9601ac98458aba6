import { describe, expect, it } from 'vitest';
import { applyPodPlan } from '../../../src/controller/apply.js';
import { MemoryStore, bindingKey, encode, podKey, type PodRecord, type Txn } from '../../../src/store/index.js';
import { pod } from '../scheduler/fixtures.js';
import { HookedStore, putPods, readBindings, readPods } from '../scheduler/harness.js';

const key = (p: PodRecord): string => podKey(p.namespace, p.name);

/** Bind `p` to `node` the way the scheduler does: the pod gets its node, the node a binding. */
async function bind(store: MemoryStore, p: PodRecord, node: string): Promise<void> {
  await store.commit({
    put: [
      { key: key(p), value: encode({ ...p, node }) },
      { key: bindingKey(node, p.namespace, p.name), value: encode({ type: 'binding', node, namespace: p.namespace, pod: p.name, templateHash: p.templateHash, template: p.template, commit: p.commit }) },
    ],
  });
}

async function revisions(store: MemoryStore): Promise<Map<string, number>> {
  return new Map((await store.list('pods/')).entries.map((e) => [e.key, e.modRevision]));
}

describe('applyPodPlan', () => {
  it('deletes a bound pod together with its binding', async () => {
    const store = new MemoryStore();
    const p = pod('web-0');
    await putPods(store, [p]);
    await bind(store, p, 'n1');
    const result = await applyPodPlan(store, { create: [], delete: [{ ...p, node: 'n1' }], conflicts: [] }, await revisions(store));
    expect(result).toEqual({ created: 0, deleted: 1, conflicts: 0 });
    expect(await readPods(store)).toEqual([]);
    expect(await readBindings(store)).toEqual([]);
  });

  it('loses the race to a bind that came after the read, so the binding is not orphaned', async () => {
    const store = new MemoryStore();
    const p = pod('web-0');
    await putPods(store, [p]);
    const planned = await revisions(store);
    await bind(store, p, 'n1'); // the scheduler wins between the controller's read and its delete
    const result = await applyPodPlan(store, { create: [], delete: [p], conflicts: [] }, planned);
    expect(result).toEqual({ created: 0, deleted: 0, conflicts: 1 });
    expect((await readPods(store)).map((x) => x.node)).toEqual(['n1']);
    expect((await readBindings(store)).map((b) => b.pod)).toEqual(['web-0']);
  });

  it('creates only where the key is absent, never overwriting a pod', async () => {
    const store = new MemoryStore();
    await putPods(store, [pod('web-0', { node: 'n1' })]);
    const result = await applyPodPlan(store, { create: [pod('web-0')], delete: [], conflicts: [] }, new Map());
    expect(result).toEqual({ created: 0, deleted: 0, conflicts: 1 });
    expect((await readPods(store)).map((x) => x.node)).toEqual(['n1']);
  });

  it('splits large plans into txns within MAX_TXN_OPS', async () => {
    const inner = new MemoryStore();
    const txns: Txn[] = [];
    const store = new HookedStore(inner, { committed: (t) => txns.push(t) });
    const many = Array.from({ length: 300 }, (_, i) => pod(`web-${String(i).padStart(3, '0')}`));
    expect(await applyPodPlan(store, { create: many, delete: [], conflicts: [] }, new Map())).toEqual({ created: 300, deleted: 0, conflicts: 0 });
    expect(txns.map((t) => t.put?.length)).toEqual([128, 128, 44]);

    for (const p of many.slice(0, 100)) await bind(inner, p, 'n1');
    txns.length = 0;
    const bound = many.slice(0, 100).map((p) => ({ ...p, node: 'n1' }));
    expect(await applyPodPlan(store, { create: [], delete: bound, conflicts: [] }, await revisions(inner))).toEqual({ created: 0, deleted: 100, conflicts: 0 });
    expect(txns.map((t) => [Object.keys(t.ifUnchanged ?? {}).length, t.del?.length])).toEqual([[64, 128], [36, 72]]);
    expect((await readPods(inner)).length).toBe(200);
    expect(await readBindings(inner)).toEqual([]);
  });
});
