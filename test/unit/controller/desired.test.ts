import { describe, expect, it } from 'vitest';
import { readSealedDeployments } from '../../../src/controller/desired.js';
import type { ConfigMapObject } from '../../../src/manifest/types.js';
import { MemoryStore, desiredKey, encode, sourceKey } from '../../../src/store/index.js';
import { applyCommit, deployment, writeDesired } from './fixtures.js';

const names = (v: { deployments: { source: string; object: { name: string; spec: { replicas: number } } }[] }): string[] =>
  v.deployments.map((d) => `${d.source}:${d.object.name}×${d.object.spec.replicas}`);

/** The store, compacted up to its current revision, as etcd's auto-compaction does: every seal's revision is gone. */
const compacted = async (store: MemoryStore): Promise<MemoryStore> => {
  await store.compact(await store.revision());
  return store;
};

describe('readSealedDeployments', () => {
  it('reads each source at its own seal, Deployments only', async () => {
    const store = new MemoryStore();
    const config: ConfigMapObject = { kind: 'ConfigMap', namespace: 'default', name: 'env', labels: {}, path: 'env.yaml', line: 1, hash: 'h', spec: { data: {} } };
    await applyCommit(store, 'a', 'c1', [deployment('web', { replicas: 2 })]);
    await store.commit({ put: [{ key: desiredKey('a', 'ConfigMap/default/env'), value: encode({ type: 'desired', object: config, commit: 'c1' }) }] });
    await applyCommit(store, 'b', 'c1', [deployment('db')]);
    await writeDesired(store, 'a', 'c2', [deployment('web', { replicas: 9 })]); // not sealed
    const view = await readSealedDeployments(store);
    expect(names(view)).toEqual(['a:web×2', 'b:db×1']);
    expect(view).toMatchObject({ read: ['a', 'b'], sealed: ['a', 'b'], skipped: [] });
  });

  it('skips a source whose seal or objects cannot be decoded, so its pods are left alone', async () => {
    const store = new MemoryStore();
    await applyCommit(store, 'a', 'c1', [deployment('web')]);
    await applyCommit(store, 'b', 'c1', [deployment('db'), deployment('cache')]);
    await store.commit({ put: [{ key: sourceKey('a'), value: 'not json' }] });
    const rev = (await store.commit({ put: [{ key: desiredKey('b', 'Deployment/default/db'), value: '{"type":"pod"}' }] })).revision;
    await store.commit({ put: [{ key: sourceKey('b'), value: encode({ type: 'seal', source: 'b', commit: 'c2', revision: rev, time: '', author: '', message: '', counts: { objects: 2, created: 0, updated: 0, deleted: 0 } }) }] });
    const view = await readSealedDeployments(store);
    expect(view.deployments).toEqual([]);
    expect(view.read).toEqual([]);
    expect(view.sealed).toEqual(['a', 'b']);
    expect(view.skipped.map((s) => s.source)).toEqual(['a', 'b']);
    expect(view.skipped[0]?.reason).toMatch(/sources\/a is not JSON/);
  });

  it('reads the latest objects when the seal revision was compacted and nothing newer was written', async () => {
    const store = new MemoryStore();
    await applyCommit(store, 'a', 'c1', [deployment('web', { replicas: 3 })]);
    const view = await readSealedDeployments(await compacted(store));
    expect(names(view)).toEqual(['a:web×3']);
    expect(view.read).toEqual(['a']);
  });

  it('skips a compacted source while a newer commit is half-written, rather than act on half of it', async () => {
    const store = new MemoryStore();
    await applyCommit(store, 'a', 'c1', [deployment('web', { replicas: 3 })]);
    await writeDesired(store, 'a', 'c2', [deployment('web', { replicas: 4 })]);
    const view = await readSealedDeployments(await compacted(store));
    expect(view.deployments).toEqual([]);
    expect(view.skipped).toEqual([{ source: 'a', reason: expect.stringMatching(/compacted and a newer commit is being applied/) as unknown }]);
  });
});
