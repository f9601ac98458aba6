// large: repositories as large as users keep them, through sync on a real etcd (default
// --max-request-bytes, 1.5 MiB): a commit of 50 ConfigMaps of 100 KB, and a source of 10,000
// Deployments with a one-file commit after it; each against the bare etcd operations of the same size.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { silentLogger } from '../src/log.js';
import { EtcdStore, commitChunked, decode, desiredPrefix, sourceKey, type Store } from '../src/store/index.js';
import { GitSource, startSync, type Sync } from '../src/sync/index.js';
import { startEtcd } from '../test/support/etcd.js';
import { deploymentYaml } from '../test/support/manifests.js';
import { run } from '../test/support/process.js';
import { createRepo, type TestRepo } from '../test/support/repo.js';
import { waitFor } from '../test/support/wait.js';
import { result, type Bench, type Result } from './result.js';

const BENCH = 'large';
const SOURCE = 'main';

function configMap(name: string, bytes: number): string {
  const line = '{"type": "graph", "title": "requests", "targets": [{"expr": "rate(x[5m])"}]},';
  const lines = Array.from({ length: Math.ceil(bytes / (line.length + 1)) }, () => `    ${line}`);
  return `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata:\n  dashboard.json: |\n${lines.join('\n')}\n`;
}

function team(f: number, replicas = 1): string {
  return Array.from({ length: 100 }, (_, i) =>
    deploymentYaml({ name: `app-${f}-${i}`, namespace: 'default', replicas, image: 'registry.example.com/team/app:1.0.0', command: ['serve', '--port', '8080'] })).join('---\n');
}

/** Milliseconds from `commit()` to the seal of the commit it returns. */
async function timeToSeal(store: Store, commit: () => Promise<string>): Promise<number> {
  const started = performance.now();
  const sha = await commit();
  await waitFor(async () => {
    const e = await store.get(sourceKey(SOURCE));
    return e !== undefined && decode('seal', e.key, e.value).commit === sha;
  }, { timeoutMs: 120_000, intervalMs: 10, what: `the seal of ${sha.slice(0, 7)}` });
  return performance.now() - started;
}

export const large: Bench = {
  async run(say): Promise<Result[]> {
    const etcd = await startEtcd();
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-bench-large-'));
    const stops: (() => Promise<void>)[] = [() => fs.rm(root, { recursive: true, force: true }), etcd.stop];
    const results: Result[] = [];
    try {
      const sync = async (name: string): Promise<{ repo: TestRepo; store: Store; sync: Sync }> => {
        await fs.mkdir(path.join(root, name, 'git'), { recursive: true });
        const repo = await createRepo(path.join(root, name, 'git'), name);
        const store = await EtcdStore.connect([etcd.endpoint], `/${name}`);
        await repo.write('README.md', '# bench\n');
        await repo.commit('start');
        const git = new GitSource({ repo: repo.workDir, branch: 'main', path: '.', dataDir: path.join(root, name, 'data') });
        const s = await startSync({ store, log: silentLogger(), git, source: SOURCE, intervalMs: 60_000, reporter: { report: async () => undefined } });
        stops.unshift(async () => {
          await s.stop();
          await store.close();
        });
        return { repo, store, sync: s };
      };

      // 50 ConfigMaps of 100 KB: commit → seal, against the same 50 records written bare.
      const cm = await sync('configmaps');
      for (let i = 0; i < 50; i++) await cm.repo.write(`dashboards/d${i}.yaml`, configMap(`d${i}`, 100_000));
      const cmMs = await timeToSeal(cm.store, () => cm.repo.commit('50 dashboards'));
      const bare = await EtcdStore.connect([etcd.endpoint], '/bare');
      stops.unshift(() => bare.close());
      const records = (await cm.store.list(desiredPrefix(SOURCE))).entries;
      let started = performance.now();
      await commitChunked(bare, records.map((e) => ({ key: `cm/${e.key}`, value: e.value })), []);
      const bareMs = performance.now() - started;
      say(`50 × 100 KB ConfigMaps: sealed in ${cmMs.toFixed(0)} ms (${records.length} records)`);
      results.push(result(BENCH, 'apply_50x100kb_configmaps_ms', cmMs, 'ms', 'the same 50 records written bare in txns', bareMs));

      // 10,000 Deployments in 100 files: the first sync, then a one-file commit.
      const big = await sync('deployments');
      for (let f = 0; f < 100; f++) await big.repo.write(`apps/team-${f}.yaml`, team(f));
      const initialMs = await timeToSeal(big.store, () => big.repo.commit('10,000 deployments'));
      say(`10,000 Deployments: first sync sealed in ${initialMs.toFixed(0)} ms`);
      await big.repo.write('apps/team-7.yaml', team(7, 2));
      const oneFileMs = await timeToSeal(big.store, () => big.repo.commit('one team scales'));
      say(`10,000 Deployments: a one-file commit sealed in ${oneFileMs.toFixed(0)} ms`);

      started = performance.now();
      const listed = await big.store.list(desiredPrefix(SOURCE));
      const listMs = performance.now() - started;
      const bytes = listed.entries.reduce((n, e) => n + e.key.length + e.value.length, 0);
      started = performance.now();
      await run('etcdctl', ['--endpoints', etcd.endpoint, 'get', '--prefix', `/deployments/${desiredPrefix(SOURCE)}`, '--keys-only']);
      const etcdctlMs = performance.now() - started;
      say(`paged list of desired/: ${listed.entries.length} records, ${(bytes / 1e6).toFixed(1)} MB in ${listMs.toFixed(0)} ms`);
      started = performance.now();
      await commitChunked(bare, listed.entries.map((e) => ({ key: `10k/${e.key}`, value: e.value })), []);
      const bare10kMs = performance.now() - started;
      results.push(
        result(BENCH, 'sync_initial_10k_deployments_ms', initialMs, 'ms', 'the same 10,000 records written bare in txns', bare10kMs),
        result(BENCH, 'sync_one_file_10k_deployments_ms', oneFileMs, 'ms', 'the first sync of the 10,000', initialMs),
        result(BENCH, 'list_desired_10k_ms', listMs, 'ms', 'etcdctl get --prefix --keys-only of the same keys', etcdctlMs),
      );
    } finally {
      for (const stop of stops) await stop().catch(() => undefined);
    }
    return results;
  },
};
