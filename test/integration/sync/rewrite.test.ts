import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { EtcdStore, decode, desiredPrefix, historyPrefix, sourceKey, type Store } from '../../../src/store/index.js';
import { GitSource, startSync } from '../../../src/sync/index.js';
import { uniqueName } from '../../support/names.js';
import { createRepo } from '../../support/repo.js';
import { waitFor } from '../../support/wait.js';

const configMap = (name: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {a: b}\n`;
const PROMPTLY = { timeoutMs: 20_000 };
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

// Git is the truth: a force-push is applied like any push, and recorded as a rewrite of history.
describe('a force-pushed branch on a remote', () => {
  it('applies the new head and records that it replaced a commit no longer in the branch; a fast-forward records nothing of the kind', async () => {
    const repo = await createRepo(inject('gitRoot'), uniqueName('rewrite'));
    const dataDir = await mkdtemp(join(tmpdir(), 'berth-rewrite-'));
    const store: Store = await EtcdStore.connect([inject('etcdEndpoint')], `/${uniqueName('rewrite')}`);
    cleanups.push(async () => {
      for (const e of (await store.list('')).entries) await store.commit({ del: [e.key] });
      await store.close();
      await repo.dispose();
      await rm(dataDir, { recursive: true, force: true });
    });
    const seal = async (): Promise<string | undefined> => {
      const e = await store.get(sourceKey('r'));
      return e && decode('seal', e.key, e.value).commit;
    };

    await repo.write('a.yaml', configMap('a'));
    const first = await repo.commit('a');
    await repo.push();
    const git = new GitSource({ repo: repo.url(inject('gitBaseUrl')), branch: 'main', path: '.', dataDir });
    const sync = await startSync({ store, log: silentLogger(), git, source: 'r', intervalMs: 60_000 });
    cleanups.unshift(() => sync.stop());
    await waitFor(async () => (await seal()) === first, { ...PROMPTLY, what: 'the first commit' });

    await repo.write('b.yaml', configMap('b'));
    const second = await repo.commit('b');
    await repo.push();
    sync.kick();
    await waitFor(async () => (await seal()) === second, { ...PROMPTLY, what: 'the fast-forward' });

    // Rewrite: the second commit is dropped and another takes its place.
    await repo.git('reset', '--quiet', '--hard', first);
    await repo.write('c.yaml', configMap('c'));
    const rewritten = await repo.commit('c instead of b');
    await repo.git('push', '--quiet', '--force', 'origin', 'main');
    sync.kick();
    await waitFor(async () => (await seal()) === rewritten, { ...PROMPTLY, what: 'the force-pushed head' });

    const history = (await store.list(historyPrefix('r'))).entries.map((e) => decode('history', e.key, e.value));
    expect(history.map((h) => [h.commit, h.outcome, h.rewrote])).toEqual([[first, 'applied', undefined], [second, 'applied', undefined], [rewritten, 'applied', second]]);
    expect((await store.list(desiredPrefix('r'))).entries.map((e) => e.key.slice(desiredPrefix('r').length))).toEqual(['ConfigMap/default/a', 'ConfigMap/default/c']);
    const note = await waitFor(async () => (await repo.git('--git-dir', repo.bareDir, 'notes', '--ref=berth', 'show', rewritten).catch(() => '')) || undefined, { ...PROMPTLY, what: 'the note' });
    expect(note).toMatch(new RegExp(`berth/sync success applied: 2 objects, 1 created, 0 updated, 1 deleted; history rewritten: replaces ${second.slice(0, 7)}, no longer in the branch$`));
  });
});
