import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { hashObject, parseFiles } from '../../../src/manifest/index.js';
import {
  decode, desiredPrefix, historyPrefix, sourceKey,
  type EtcdStoreOptions, type HistoryRecord, type OutboxRecord, type SealRecord, type Store,
} from '../../../src/store/index.js';
import { applyCommit, sealedObjects } from '../../../src/sync/apply.js';
import { GitSource, startSync } from '../../../src/sync/index.js';
import type { HeadCommit } from '../../../src/sync/source.js';
import { openTestStore, startEtcd } from '../../support/etcd.js';
import { deploymentYaml } from '../../support/manifests.js';
import { uniqueName } from '../../support/names.js';
import { createRepo, type TestRepo } from '../../support/repo.js';
import { waitFor } from '../../support/wait.js';

// Repositories as large as users keep them, on real etcd: they must apply, or be rejected at the
// file that is too large; never fail at the write and be retried for ever.
const SOURCE = 'main';
const PATIENTLY = { timeoutMs: 45_000 };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function openStore(endpoint = inject('etcdEndpoint'), opts: EtcdStoreOptions = {}): Promise<Store> {
  const { store, dispose } = await openTestStore(endpoint, 'large', opts);
  cleanups.push(dispose);
  return store;
}

/** A repository synced into `store`; `delivered` collects the commit statuses sync reports. */
async function syncing(store: Store): Promise<TestRepo & { delivered: OutboxRecord[] }> {
  const repo = await createRepo(inject('gitRoot'), uniqueName('large'));
  cleanups.push(() => repo.dispose());
  const dataDir = await mkdtemp(join(tmpdir(), 'berth-large-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const git = new GitSource({ repo: repo.workDir, branch: 'main', path: '.', dataDir });
  await repo.write('README.md', '# large\n');
  await repo.commit('start');
  const delivered: OutboxRecord[] = [];
  const sync = await startSync({ store, log: silentLogger(), git, source: SOURCE, intervalMs: 60_000, reporter: { report: async (e) => void delivered.push(...e) } });
  cleanups.push(() => sync.stop());
  return Object.assign(repo, { delivered });
}

async function sealOf(store: Store, commit: string): Promise<SealRecord> {
  return waitFor(async () => {
    const e = await store.get(sourceKey(SOURCE));
    const seal = e && decode('seal', e.key, e.value);
    return seal?.commit === commit ? seal : undefined;
  }, { ...PATIENTLY, what: `the seal of ${commit.slice(0, 7)}` });
}

async function historyOf(store: Store, commit: string): Promise<HistoryRecord> {
  return waitFor(async () => {
    const { entries } = await store.list(historyPrefix(SOURCE));
    return entries.map((e) => decode('history', e.key, e.value)).find((h) => h.commit === commit);
  }, { ...PATIENTLY, what: `the history record of ${commit.slice(0, 7)}` });
}

/** A ConfigMap of about `bytes` bytes of dashboard JSON, as a block scalar. */
function configMap(name: string, bytes: number, line = '{"type": "graph", "title": "requests", "targets": [{"expr": "rate(x[5m])"}]},'): string {
  const lines = Array.from({ length: Math.ceil(bytes / (line.length + 1)) }, () => `    ${line}`);
  return `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata:\n  dashboard.json: |\n${lines.join('\n')}\n`;
}

describe('sync of large repositories', () => {
  it('applies a commit of 50 ConfigMaps of 100 KB, and the commit after it', async () => {
    const store = await openStore();
    const repo = await syncing(store);
    for (let i = 0; i < 50; i++) await repo.write(`dashboards/d${i}.yaml`, configMap(`d${i}`, 100_000));
    const first = await repo.commit('50 dashboards');
    expect((await sealOf(store, first)).counts).toEqual({ objects: 50, created: 50, updated: 0, deleted: 0 });

    await repo.write('dashboards/d7.yaml', configMap('d7', 90_000));
    const second = await repo.commit('a smaller dashboard');
    expect((await sealOf(store, second)).counts).toEqual({ objects: 50, created: 0, updated: 1, deleted: 0 });
    expect((await store.list(desiredPrefix(SOURCE))).entries).toHaveLength(50);
  });

  it('rejects an object larger than one etcd request at its file:line:col; nothing changes, a fix applies', async () => {
    const store = await openStore();
    const repo = await syncing(store);
    await repo.write('small.yaml', configMap('small', 1_000));
    const good = await repo.commit('small');
    await sealOf(store, good);
    const before = await store.list(desiredPrefix(SOURCE));

    // Under the 1 MiB of a ConfigMap as written, but every quote doubles as stored (JSON).
    await repo.write('apps/big.yaml', `# the dashboard\n---\n${configMap('big', 900_000, '"""""""""""""""""""""""""""""""""""""""""""""""""""""""""""""""""')}`);
    const big = await repo.commit('big');
    const rejected = await historyOf(store, big);
    expect(rejected.outcome).toBe('rejected');
    expect(rejected.errors).toEqual([expect.stringMatching(/^apps\/big\.yaml:3:1: ConfigMap default\/big is 1\.\d MiB as stored, more than the 1\.3 MiB one etcd request may carry/)]);
    const status = await waitFor(() => repo.delivered.find((o) => o.commit === big), { what: 'the status of the rejected commit' });
    expect(status).toMatchObject({ context: 'berth/sync', state: 'failure', description: expect.stringMatching(/^rejected: 1 error; first: apps\/big\.yaml:3:1: /) });
    expect((await store.list(desiredPrefix(SOURCE))).entries).toEqual(before.entries);
    expect((await store.get(sourceKey(SOURCE)))?.value).toContain(good);

    await repo.write('apps/big.yaml', configMap('big', 100_000));
    await sealOf(store, await repo.commit('smaller'));
  });

  it('keeps to a small etcd --max-request-bytes the store is told about (64 KiB)', async () => {
    const etcd = await startEtcd({ args: ['--max-request-bytes', String(64 * 1024)] });
    cleanups.push(() => etcd.stop());
    const store = await openStore(etcd.endpoint, { maxRequestBytes: 64 * 1024 });
    const repo = await syncing(store);
    for (let i = 0; i < 20; i++) await repo.write(`d${i}.yaml`, configMap(`d${i}`, 20_000));
    const fits = await repo.commit('20 of 20 KB');
    expect((await sealOf(store, fits)).counts.objects).toBe(20);
    await repo.write('d3.yaml', configMap('d3', 70_000));
    const big = await repo.commit('one of 70 KB');
    expect((await historyOf(store, big)).errors).toEqual([expect.stringMatching(/^d3\.yaml:1:1: ConfigMap default\/d3 is \d+\.\d KiB as stored, more than the 57\.6 KiB one etcd request may carry/)]);
  });

  it('applies a source of 10,000 Deployments, and the next commit to it', async () => {
    const store = await openStore();
    const files = Array.from({ length: 100 }, (_, f) => ({
      path: `apps/team-${f}.yaml`,
      text: Array.from({ length: 100 }, (_, i) =>
        deploymentYaml({ name: `app-${f}-${i}`, namespace: 'default', replicas: 1, image: 'registry.example.com/team/app:1.0.0', command: ['serve', '--port', '8080'] })).join('---\n'),
    }));
    const parsed = parseFiles(files);
    expect(parsed.errors).toEqual([]);
    expect(parsed.objects).toHaveLength(10_000);
    const head = (commit: string): HeadCommit => ({ commit, author: 'Berth Test <test@berth.invalid>', message: commit, time: new Date().toISOString() });
    const first = await applyCommit(store, SOURCE, head('a'.repeat(40)), parsed.objects, new Date());
    expect(first.seal.counts.created).toBe(10_000);

    const changed = parsed.objects.map((o, i) => {
      if (i !== 7 || o.kind !== 'Deployment') return o;
      const spec = { ...o.spec, replicas: 2 };
      return { ...o, spec, hash: hashObject({ ...o, spec }) };
    });
    const second = await applyCommit(store, SOURCE, head('b'.repeat(40)), changed, new Date());
    expect(second.seal.counts).toEqual({ objects: 10_000, created: 0, updated: 1, deleted: 0 });
    expect((await sealedObjects(store, SOURCE)).objects).toHaveLength(10_000);
  });
});
