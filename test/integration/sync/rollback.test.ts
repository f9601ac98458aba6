import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { EtcdStore, decode, followedKey, historyPrefix, rollbackRequestKey, sourceKey, type HistoryRecord, type SealRecord, type Store } from '../../../src/store/index.js';
import { GitSource, startSync, type Sync } from '../../../src/sync/index.js';
import { requestRollback } from '../../../src/api/control.js';
import { historyViews } from '../../../src/api/views.js';
import { uniqueName } from '../../support/names.js';
import { createRepo, type TestRepo } from '../../support/repo.js';
import { waitFor } from '../../support/wait.js';
import { sshSigner } from '../../support/signing.js';
import { deploymentWith } from '../../unit/manifest/manifests.js';

// `berth rollback` as issue 9 defines it: a commit on the source branch, made by the source's sync
// in Git's objects and pushed to the remote over HTTP; compared with what `git revert` itself makes.
const SOURCE = 'main';
const web = (replicas: number, image = 'nginx:1.27'): string => deploymentWith('        image: nginx:1.27\n', `        image: ${image}\n`).replace('spec:\n  selector', `spec:\n  replicas: ${replicas}\n  selector`);
const api = deploymentWith('  name: web\n', '  name: api\n');

interface World {
  repo: TestRepo;
  store: Store;
  sync: Sync;
  seal(): Promise<SealRecord | undefined>;
  sealed(commit: string): Promise<SealRecord>;
  history(): Promise<HistoryRecord[]>;
  /** The remote branch head, as `git ls-remote` would say. */
  remoteHead(): Promise<string>;
  /** The commit's git note under refs/notes/berth in the remote. */
  note(commit: string): Promise<string>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function world(opts: { verifyCommits?: string; local?: boolean } = {}): Promise<World> {
  const repo = await createRepo(inject('gitRoot'), uniqueName('rollback'));
  cleanups.push(() => repo.dispose());
  const store = await EtcdStore.connect([inject('etcdEndpoint')], `/${uniqueName('rollback')}`);
  cleanups.push(async () => {
    const { entries } = await store.list('');
    for (const e of entries) await store.commit({ del: [e.key] });
    await store.close();
  });
  const dataDir = await mkdtemp(join(tmpdir(), 'berth-rollback-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  await repo.write('web.yaml', web(1));
  await repo.commit('web v1');
  await repo.push();
  const git = new GitSource({ repo: opts.local ? repo.workDir : repo.url(inject('gitBaseUrl')), branch: 'main', path: '.', dataDir });
  const sync = await startSync({ store, log: silentLogger(), git, source: SOURCE, intervalMs: 60_000, ...(opts.verifyCommits ? { verifyCommits: opts.verifyCommits } : {}) });
  cleanups.push(() => sync.stop());
  const seal = async (): Promise<SealRecord | undefined> => {
    const e = await store.get(sourceKey(SOURCE));
    return e && decode('seal', e.key, e.value);
  };
  const bare = (...args: string[]): Promise<string> => repo.git(`--git-dir=${repo.bareDir}`, ...args);
  return {
    repo, store, sync, seal,
    sealed: (commit) => {
      sync.kick();
      return waitFor(async () => ((await seal())?.commit === commit ? seal() : undefined), { timeoutMs: 30_000, what: `the seal of ${commit.slice(0, 7)}` });
    },
    history: async () => (await store.list(historyPrefix(SOURCE))).entries.map((e) => decode('history', e.key, e.value)),
    remoteHead: () => bare('rev-parse', 'main'),
    note: (commit) => bare('notes', '--ref=berth', 'show', commit).catch(() => ''),
  };
}

/** Three commits: web at 1 replica, then 3, then an api beside it. */
async function threeCommits(w: World): Promise<{ v2: string; v3: string }> {
  await w.repo.write('web.yaml', web(3));
  const v2 = await w.repo.commit('scale web to 3');
  await w.repo.push();
  await w.sealed(v2);
  await w.repo.write('api.yaml', api);
  const v3 = await w.repo.commit('add api');
  await w.repo.push();
  await w.sealed(v3);
  return { v2, v3 };
}

describe('berth rollback: a revert commit pushed to the branch', () => {
  it('reverts one commit three-way, exactly as git revert does, with Git\'s message; sync applies it and the reverted commit says so', async () => {
    const w = await world();
    const { v2, v3 } = await threeCommits(w);
    // What the sync follows is in etcd for the webhooks of any API server, without credentials.
    const followed = await w.store.get(followedKey(SOURCE));
    expect(followed && decode('followed', followed.key, followed.value)).toEqual({ type: 'followed', source: SOURCE, repo: w.repo.url(inject('gitBaseUrl')), branch: 'main' });

    const done = await requestRollback(w.store, SOURCE, { mode: 'revert', commit: v2.slice(0, 8) }, new Date());
    expect(done).toMatchObject({ source: SOURCE, mode: 'revert', target: v2, message: `Revert "scale web to 3"\n\nThis reverts commit ${v2}.\n` });
    expect(await w.remoteHead()).toBe(done.commit);
    // Git's own revert of v2 on v3 has the same tree (and the same message).
    await w.repo.git('fetch', '--quiet', 'origin');
    await w.repo.git('revert', '--no-edit', v2);
    expect(await w.repo.git('rev-parse', `${done.commit}^{tree}`)).toBe(await w.repo.git('rev-parse', 'HEAD^{tree}'));
    expect(await w.repo.git('log', '-1', '--format=%B', 'HEAD')).toBe(done.message.trim());
    expect(await w.repo.git('rev-parse', `${done.commit}^`)).toBe(v3);

    const seal = await w.sealed(done.commit);
    expect(seal.counts).toMatchObject({ objects: 2, updated: 1 });
    const history = await w.history();
    expect(history.at(-1)).toMatchObject({ commit: done.commit, outcome: 'applied', reverts: [v2] });
    expect(historyViews(history, new Date()).find((h) => h.commitSha === v2)?.rolledBackBy).toBe(done.commit.slice(0, 7));
    await waitFor(async () => (await w.note(v2)).includes(`berth/sync success rolled back by ${done.commit.slice(0, 7)}`), { timeoutMs: 30_000, what: 'the note on the reverted commit' });
  });

  it('--to commits the tree of an earlier commit on top of the branch, naming each commit it undoes', async () => {
    const w = await world();
    const v1 = await w.repo.git('rev-parse', 'HEAD');
    const { v2, v3 } = await threeCommits(w);
    const done = await requestRollback(w.store, SOURCE, { mode: 'to', commit: v1 }, new Date());
    expect(done.message).toBe(`Roll back to "web v1"\n\nThis restores the tree of commit ${v1}.\n\nThis reverts commit ${v3}.\nThis reverts commit ${v2}.\n`);
    expect(await w.repo.git('fetch', '--quiet', 'origin').then(() => w.repo.git('rev-parse', `${done.commit}^{tree}`))).toBe(await w.repo.git('rev-parse', `${v1}^{tree}`));
    const seal = await w.sealed(done.commit);
    expect(seal.counts).toMatchObject({ objects: 1, deleted: 1, updated: 1 });
    const views = historyViews(await w.history(), new Date());
    expect(views.filter((h) => h.rolledBackBy !== undefined).map((h) => h.commitSha).sort()).toEqual([v2, v3].sort());
    for (const c of [v2, v3]) await waitFor(async () => (await w.note(c)).includes(`rolled back by ${done.commit.slice(0, 7)}`), { timeoutMs: 30_000, what: 'the notes' });
  });

  it('a plain git revert pushed by a person is recorded the same way', async () => {
    const w = await world();
    const { v2 } = await threeCommits(w);
    await w.repo.git('revert', '--no-edit', v2);
    const revert = await w.repo.git('rev-parse', 'HEAD');
    await w.repo.push();
    await w.sealed(revert);
    expect((await w.history()).at(-1)?.reverts).toEqual([v2]);
    await waitFor(async () => (await w.note(v2)).includes(`rolled back by ${revert.slice(0, 7)}`), { timeoutMs: 30_000, what: 'the note on the reverted commit' });
  });

  it.each([
    ['a revert that conflicts with a later change, naming the file', 'conflict', 409, 'EREVERTCONFLICT', /^reverting [0-9a-f]{7} conflicts with later changes to web\.yaml$/],
    ['a commit that is not in the repository', 'missing', 400, 'ENOCOMMIT', /^commit "feedbeef" is not in http/],
    ['a revert of the first commit', 'root', 400, 'EREVERTMERGE', /is the first commit of the branch/],
  ] as const)('refuses %s, and pushes nothing', async (_what, kind, _status, code, message) => {
    const w = await world();
    const { v2 } = await threeCommits(w);
    await w.repo.write('web.yaml', web(5));
    const v4 = await w.repo.commit('scale web to 5');
    await w.repo.push();
    await w.sealed(v4);
    const target = kind === 'conflict' ? v2 : kind === 'missing' ? 'feedbeef' : await w.repo.git('rev-list', '--max-parents=0', 'HEAD');
    const err = await requestRollback(w.store, SOURCE, { mode: 'revert', commit: target }, new Date()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code });
    expect((err as Error).message).toMatch(message);
    expect(await w.remoteHead()).toBe(v4);
  });

  it('refuses when the source applies only signed commits, which berth cannot make', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-keys-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const signer = await sshSigner('ed25519');
    cleanups.push(() => signer.dispose());
    const keyring = join(dir, 'allowed_signers');
    await writeFile(keyring, `${signer.trusted}\n`);
    const w = await world({ verifyCommits: keyring });
    const head = await w.remoteHead();
    await waitFor(async () => (await w.history()).length > 0, { timeoutMs: 30_000, what: 'the unsigned head rejected' });
    const err = await requestRollback(w.store, SOURCE, { mode: 'revert', commit: head }, new Date()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'EUNSIGNABLE' });
    expect(await w.remoteHead()).toBe(head);
  });

  it('never writes into a work tree: a local repository with the branch checked out is refused', async () => {
    const w = await world({ local: true });
    const v1 = await w.repo.git('rev-parse', 'HEAD');
    await w.repo.write('web.yaml', web(3));
    const head = await w.repo.commit('scale web to 3');
    await w.sealed(head);
    const err = await requestRollback(w.store, SOURCE, { mode: 'to', commit: v1 }, new Date()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ECHECKEDOUT' });
    expect(await w.repo.git('rev-parse', 'HEAD')).toBe(head);
  });

  it('withdraws a request no sync answers in time, so it never lands later unseen', async () => {
    const w = await world();
    await w.sync.stop();
    const err = await requestRollback(w.store, SOURCE, { mode: 'revert', commit: 'abcd' }, new Date(), 500).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ESYNCTIMEOUT' });
    expect(await w.store.get(rollbackRequestKey(SOURCE))).toBeUndefined();
  });
});
