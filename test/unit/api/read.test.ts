import { describe, expect, it } from 'vitest';
import { readCluster, readEvents, readHistory, readSealed } from '../../../src/api/read.js';
import {
  MemoryStore, bindingKey, desiredKey, encode, eventKey, historyKey, nodeKey, podKey, statusKey, type Store,
} from '../../../src/store/index.js';
import { applyCommit, deployment, writeDesired } from '../controller/fixtures.js';
import { node, pod } from '../scheduler/fixtures.js';
import { NOW, event, history, status } from './fixtures.js';

const put = async (store: Store, key: string, value: string): Promise<void> => {
  await store.commit({ put: [{ key, value }] });
};
const replicas = (s: Awaited<ReturnType<typeof readSealed>>): string[] => s.deployments.map((d) => `${d.source}:${d.object.name}×${d.object.spec.replicas}@${d.commit}`);

describe('readSealed', () => {
  it('reads each source at its seal: a half-written next commit does not show', async () => {
    const store = new MemoryStore();
    await applyCommit(store, 'a', 'c1', [deployment('web', { replicas: 2 })]);
    await applyCommit(store, 'b', 'c1', [deployment('db')]);
    await writeDesired(store, 'a', 'c2', [deployment('web', { replicas: 9 })]);
    const sealed = await readSealed(store);
    expect(replicas(sealed)).toEqual(['a:web×2@c1', 'b:db×1@c1']);
    expect(sealed.seals.map((s) => `${s.source}@${s.commit}`)).toEqual(['a@c1', 'b@c1']);
  });

  it('shows the latest entries not written since the seal when the sealed revision was compacted away', async () => {
    const store = new MemoryStore();
    await applyCommit(store, 'a', 'c1', [deployment('web', { replicas: 2 }), deployment('db')]);
    await store.compact(await store.revision());
    expect(replicas(await readSealed(store))).toEqual(['a:db×1@c1', 'a:web×2@c1']);
    expect((await readSealed(store)).skipped).toEqual([]);

    // A newer commit half-written: what it overwrote is not shown, and the output says so; never its objects.
    await put(store, desiredKey('a', 'Deployment/default/web'), encode({ type: 'desired', object: deployment('web', { replicas: 3 }), commit: 'c2' }));
    const sealed = await readSealed(store);
    expect(replicas(sealed)).toEqual(['a:db×1@c1']);
    expect(sealed.skipped).toEqual([expect.stringMatching(/^source a: the revision of its seal was compacted while a newer commit is being applied/)]);
  });
});

describe('readCluster, readHistory, readEvents', () => {
  it('reads pods, statuses and nodes, and skips (names) values that do not decode', async () => {
    const store = new MemoryStore();
    const p = pod('web-0', { node: 'n1' });
    await put(store, podKey('default', 'web-0'), encode(p));
    await put(store, podKey('default', 'broken'), '{not json');
    await put(store, statusKey('n1', 'default', 'web-0'), encode(status(p)));
    await put(store, nodeKey('n1'), encode(node('n1')));
    await put(store, bindingKey('n1', 'default', 'web-0'), 'ignored here');
    const cluster = await readCluster(store);
    expect(cluster.pods.map((x) => x.name)).toEqual(['web-0']);
    expect(cluster.statuses.map((x) => x.pod)).toEqual(['web-0']);
    expect(cluster.nodes.map((x) => x.name)).toEqual(['n1']);
    expect(cluster.skipped).toEqual([expect.stringMatching(/^stored value at pods\/default\/broken is not JSON/)]);
  });

  it('reads the history of one source or of all', async () => {
    const store = new MemoryStore();
    await put(store, historyKey('a', 1), encode(history('a', 'a1', NOW.toISOString())));
    await put(store, historyKey('ab', 2), encode(history('ab', 'ab1', NOW.toISOString())));
    await put(store, historyKey('a', 3), encode(history('a', 'a2', NOW.toISOString())));
    expect((await readHistory(store, 'a')).records.map((r) => r.commit)).toEqual(['a1', 'a2']);
    expect((await readHistory(store)).records.map((r) => r.commit)).toEqual(['a1', 'a2', 'ab1']);
  });

  it('reads every event, skipping what does not decode', async () => {
    const store = new MemoryStore();
    const later = new Date(NOW.getTime() + 1000);
    await put(store, eventKey('pod/default/web-1', 'Healed.x'), encode(event(later.toISOString(), 'Healed')));
    await put(store, eventKey('pod/default/web-1', 'Drifted.y'), encode(event(NOW.toISOString(), 'Drifted')));
    await put(store, eventKey('pod/default/web-1', 'Broken.z'), '{');
    const read = await readEvents(store);
    expect(read.records.map((e) => e.reason).sort()).toEqual(['Drifted', 'Healed']);
    expect(read.skipped).toHaveLength(1);
  });
});
