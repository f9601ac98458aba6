// sync: a generated repository of 10,000 Deployments (one file each, in nested folders) served over
// smart HTTP, synced into a real etcd: the first sync, a pass with nothing new, a one-file commit
// (fetch done → seal written) against `git diff-tree -r` of the same two commits plus one etcd txn
// of the same size, the same one-file commit on 10- and 1,000-file repositories, a restart on the sealed
// 10,000 (from etcd's file records, against reading the commit whole), and the peak RSS of a built
// `berth sync` making the first sync of the 10,000.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { silentLogger } from '../src/log.js';
import { EtcdStore, commitChunked, decode, desiredPrefix, encode, sealedFilesPrefix, sourceKey, type Store, type Txn } from '../src/store/index.js';
import { GitSource, startSync, type HeadCommit, type Sync } from '../src/sync/index.js';
import { startEtcd } from '../test/support/etcd.js';
import { startGitServer } from '../test/support/git-server.js';
import { deploymentYaml } from '../test/support/manifests.js';
import { run } from '../test/support/process.js';
import { createRepo, type TestRepo } from '../test/support/repo.js';
import { waitFor } from '../test/support/wait.js';
import { buildBerth } from './agent-rss.js';
import { memMb } from './control-plane.js';
import { quantile, result, type Bench, type Result } from './result.js';
import { WRITES_IN_FLIGHT } from '../src/sync/apply.js';

const BENCH = 'sync';
const SOURCE = 'main';
const ROUNDS = Number(process.env.SYNC_BENCH_ROUNDS ?? 5);

const deployment = (i: number, replicas = 1): string =>
  deploymentYaml({ name: `app-${i}`, namespace: 'default', replicas, image: 'registry.example.com/team/app:1.0.0', command: ['serve', '--port', '8080'] });

/** Nested folders: 10 teams × 10 groups × up to 100 files. */
const fileOf = (i: number): string => `teams/t${Math.floor(i / 1000)}/g${Math.floor(i / 100) % 10}/app-${i}.yaml`;

/** A source whose fetches are timed: when head() first answered each commit (its objects are here). */
class TimedSource extends GitSource {
  readonly fetched = new Map<string, number>();
  override async head(): Promise<HeadCommit> {
    const h = await super.head();
    if (!this.fetched.has(h.commit)) this.fetched.set(h.commit, performance.now());
    return h;
  }
}

/** The store, with the time each seal of SOURCE was written (the txn that puts its seal key returned). */
function timedStore(store: Store, sealed: Map<string, number>): Store {
  const commit = async (txn: Txn): Promise<{ ok: boolean; revision: number }> => {
    const out = await store.commit(txn);
    const put = txn.put?.find((p) => p.key === sourceKey(SOURCE));
    if (out.ok && put) sealed.set(decode('seal', put.key, put.value).commit, performance.now());
    return out;
  };
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === 'commit') return commit;
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/**
 * A built `berth sync` (child process) of `repo` into a fresh prefix: the time from its start to the
 * seal of `commit` (seen on an etcd watch), its peak RSS (VmHWM) then, and its RSS 5 s later.
 */
async function childSync(repo: string, endpoint: string, dir: string, commit: string): Promise<{ sealMs: number; peakMb: number; idleMb: number }> {
  const main = await buildBerth();
  const prefix = '/child';
  const store = await EtcdStore.connect([endpoint], prefix);
  const sealed = new Promise<number>((resolve) => {
    void store.revision().then((rev) => store.watch(sourceKey(SOURCE), rev + 1, (e) => {
      if (e.type === 'put' && decode('seal', e.key, e.value).commit === commit) resolve(performance.now());
    }));
  });
  const started = performance.now();
  // As `berth sync` runs once installed: through bin/berth, the launcher that gives it its V8 flags.
  const env = { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}` };
  const child = spawn(path.resolve(path.dirname(main), '../../bin/berth'), ['sync', '--etcd', endpoint, '--prefix', prefix, '--repo', repo, '--source', SOURCE, '--data-dir', dir, '--interval', '10m', '--status', 'none', '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  try {
    const pid = child.pid;
    if (pid === undefined) throw new Error('berth sync did not start');
    const at = await Promise.race([sealed, new Promise<number>((_, reject) => setTimeout(() => reject(new Error('berth sync: no seal after 5 min')), 300_000).unref())]);
    const peakMb = await memMb(pid, 'VmHWM');
    await new Promise((r) => setTimeout(r, 5000));
    return { sealMs: at - started, peakMb, idleMb: await memMb(pid, 'VmRSS') };
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    await store.close();
  }
}

export const sync: Bench = {
  async run(say): Promise<Result[]> {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-bench-sync-'));
    const gitRoot = path.join(root, 'git');
    await fs.mkdir(gitRoot);
    const etcd = await startEtcd();
    const server = await startGitServer(gitRoot);
    const stops: (() => Promise<void>)[] = [() => fs.rm(root, { recursive: true, force: true }), etcd.stop, server.stop];
    let peakRss = process.memoryUsage().rss;
    const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage.rss()); }, 20);
    const results: Result[] = [];
    try {
      const bare = await EtcdStore.connect([etcd.endpoint], '/bare');
      stops.unshift(() => bare.close());

      const setup = async (name: string): Promise<{ repo: TestRepo; store: Store; sync: Sync; git: TimedSource; sealed: Map<string, number>; stop: () => Promise<void> }> => {
        const repo = await createRepo(gitRoot, name);
        await repo.write('README.md', '# bench\n');
        await repo.commit('start');
        await repo.push();
        const store = await EtcdStore.connect([etcd.endpoint], `/${name}`);
        const sealed = new Map<string, number>();
        const git = new TimedSource({ repo: repo.url(server.url), branch: 'main', path: '.', dataDir: path.join(root, name, 'data') });
        const s = await startSync({ store: timedStore(store, sealed), log: silentLogger(), git, source: SOURCE, intervalMs: 600_000, reporter: { report: async () => undefined } });
        let stopped = false;
        const stop = async (): Promise<void> => {
          if (!stopped) await s.stop();
          stopped = true;
        };
        stops.unshift(async () => {
          await stop();
          await store.close();
        });
        return { repo, store, sync: s, git, sealed, stop };
      };
      const sealOf = async (s: { sync: Sync; sealed: Map<string, number> }, sha: string): Promise<number> => {
        s.sync.kick();
        return waitFor(() => s.sealed.get(sha), { timeoutMs: 300_000, intervalMs: 2, what: `the seal of ${sha.slice(0, 7)}` });
      };

      /** One-file commits: fetch done → seal written, and the peer: diff-tree of the same commits plus one txn of the record. */
      const oneFile = async (s: Awaited<ReturnType<typeof setup>>, count: number): Promise<{ ms: number; peer: number }> => {
        const ms: number[] = [];
        const peer: number[] = [];
        for (let r = 0; r < ROUNDS; r++) {
          const i = (r * 7919) % count;
          const before = await s.repo.git('rev-parse', 'HEAD');
          await s.repo.write(fileOf(i), deployment(i, 2 + r));
          const sha = await s.repo.commit(`app-${i} scales`);
          await s.repo.push();
          await s.sync.idle();
          const sealedAt = await sealOf(s, sha);
          const fetchedAt = s.git.fetched.get(sha) ?? Number.NaN;
          ms.push(sealedAt - fetchedAt);
          let started = performance.now();
          await run('git', ['-C', s.repo.bareDir, 'diff-tree', '-r', before, sha]);
          const diffMs = performance.now() - started;
          const record = (await s.store.list(desiredPrefix(SOURCE))).entries.find((e) => e.key.endsWith(`/app-${i}`));
          started = performance.now();
          await bare.commit({ put: [{ key: `one/${r}`, value: record?.value ?? '' }] });
          peer.push(diffMs + performance.now() - started);
          await s.sync.idle();
        }
        return { ms: quantile(ms, 0.5), peer: quantile(peer, 0.5) };
      };

      // 10,000 Deployments: the first sync.
      const big = await setup('big');
      for (let i = 0; i < 10_000; i++) await big.repo.write(fileOf(i), deployment(i));
      const sha = await big.repo.commit('10,000 deployments');
      await big.repo.push();
      const kicked = performance.now();
      const initialMs = (await sealOf(big, sha)) - kicked;
      await big.sync.idle();
      let started = performance.now();
      await run('git', ['clone', '--quiet', '--bare', big.repo.url(server.url), path.join(root, 'clone.git')]);
      const cloneMs = performance.now() - started;
      const records = (await big.store.list(desiredPrefix(SOURCE))).entries;
      started = performance.now();
      // As many txns at a time as sync's apply writes.
      await commitChunked(bare, records.map((e) => ({ key: `10k/${e.key}`, value: e.value })), [], WRITES_IN_FLIGHT);
      const writeMs = performance.now() - started;
      say(`initial sync of 10,000: ${initialMs.toFixed(0)} ms (git clone --bare ${cloneMs.toFixed(0)} ms + bare etcd writes ${writeMs.toFixed(0)} ms)`);
      results.push(result(BENCH, 'initial_sync_10k_ms', initialMs, 'ms', 'git clone --bare + the same records written bare in etcd txns', cloneMs + writeMs));

      // A pass with nothing new: look at the remote, read the seal, check desired/ for hand edits.
      const noop: number[] = [];
      const lsRemote: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        started = performance.now();
        big.sync.kick();
        await big.sync.idle();
        noop.push(performance.now() - started);
        started = performance.now();
        await run('git', ['ls-remote', big.repo.url(server.url), 'refs/heads/main']);
        lsRemote.push(performance.now() - started);
      }
      say(`no-op pass on 10,000: ${quantile(noop, 0.5).toFixed(0)} ms (git ls-remote ${quantile(lsRemote, 0.5).toFixed(0)} ms)`);
      results.push(result(BENCH, 'noop_sync_10k_ms', quantile(noop, 0.5), 'ms', 'git ls-remote of the branch', quantile(lsRemote, 0.5)));

      const one10k = await oneFile(big, 10_000);
      say(`one-file commit on 10,000: ${one10k.ms.toFixed(1)} ms (diff-tree + one txn ${one10k.peer.toFixed(1)} ms)`);
      results.push(result(BENCH, 'one_file_sync_10k_ms', one10k.ms, 'ms', 'git diff-tree -r of the same commits + one etcd txn of the record', one10k.peer));

      // A restart on the sealed 10,000: start → ready for the next commit (its first pass done, the
      // sealed commit kept), rebuilt from etcd's file records; its peer, the same restart reading the
      // commit whole from Git (the seal's file records taken away, as an older berth's seal has none).
      await big.stop();
      const restart = async (): Promise<number> => {
        const t0 = performance.now();
        const s = await startSync({ store: big.store, log: silentLogger(), git: new GitSource({ repo: big.repo.url(server.url), branch: 'main', path: '.', dataDir: path.join(root, 'big', 'data') }), source: SOURCE, intervalMs: 600_000, reporter: { report: async () => undefined } });
        try {
          await s.idle();
          return performance.now() - t0;
        } finally {
          await s.stop();
        }
      };
      const fromEtcd: number[] = [];
      const fromGit: number[] = [];
      const sealEntry = await big.store.get(sourceKey(SOURCE));
      const { files: _marked, ...unmarked } = decode('seal', sourceKey(SOURCE), sealEntry?.value ?? '');
      const kept = (await big.store.list(sealedFilesPrefix(SOURCE))).entries;
      const keptBytes = kept.reduce((n, e) => n + Buffer.byteLength(e.key) + Buffer.byteLength(e.value), 0) / kept.length;
      const desiredBytes = records.reduce((n, e) => n + Buffer.byteLength(e.key) + Buffer.byteLength(e.value), 0) / records.length;
      for (let r = 0; r < 3; r++) {
        fromEtcd.push(await restart());
        const marked = await big.store.get(sourceKey(SOURCE));
        await big.store.commit({ put: [{ key: sourceKey(SOURCE), value: encode({ ...unmarked, revision: decode('seal', sourceKey(SOURCE), marked?.value ?? '').revision }) }] });
        fromGit.push(await restart());
        await big.store.commit({ put: [{ key: sourceKey(SOURCE), value: marked?.value ?? '' }] });
      }
      say(`restart on 10,000: ready for the next commit in ${quantile(fromEtcd, 0.5).toFixed(0)} ms from etcd's file records (${keptBytes.toFixed(0)} bytes a file, key and value; a desired/ record ${desiredBytes.toFixed(0)}), ${quantile(fromGit, 0.5).toFixed(0)} ms reading the commit whole from Git`);
      results.push(result(BENCH, 'restart_sync_10k_ms', quantile(fromEtcd, 0.5), 'ms', 'the same restart reading the sealed commit whole from Git', quantile(fromGit, 0.5)));
      results.push(result(BENCH, 'kept_file_record_bytes', keptBytes, 'bytes', "a desired/ record's bytes (key and value)", desiredBytes));

      // The same one-file commit on smaller repositories: its cost must not follow the repository's size.
      for (const [name, count] of [['10', 10], ['1k', 1000]] as const) {
        const s = await setup(`files-${name}`);
        for (let i = 0; i < count; i++) await s.repo.write(fileOf(i), deployment(i));
        await sealOf(s, await (async () => { const c = await s.repo.commit(`${count} deployments`); await s.repo.push(); return c; })());
        await s.sync.idle();
        const one = await oneFile(s, count);
        say(`one-file commit on ${count}: ${one.ms.toFixed(1)} ms (diff-tree + one txn ${one.peer.toFixed(1)} ms)`);
        results.push(result(BENCH, `one_file_sync_${name}_ms`, one.ms, 'ms', 'git diff-tree -r of the same commits + one etcd txn of the record', one.peer));
      }

      // Memory in a process of its own: a built `berth sync` making the first sync of the same 10,000 files (the branch head).
      const child = await childSync(big.repo.url(server.url), etcd.endpoint, path.join(root, 'child'), await big.repo.git('rev-parse', 'HEAD'));
      say(`berth sync (a child process) first sync of 10,000: seal ${child.sealMs.toFixed(0)} ms after its start, peak RSS ${child.peakMb.toFixed(0)} MB (idle after ${child.idleMb.toFixed(0)} MB); this process ${(peakRss / 2 ** 20).toFixed(0)} MB`);
      results.push(result(BENCH, 'sync_peak_rss_mb', child.peakMb, 'MB', 'the same process idle after the sync', child.idleMb));
    } finally {
      clearInterval(sampler);
      for (const stop of stops) await stop().catch(() => undefined);
    }
    return results;
  },
};
