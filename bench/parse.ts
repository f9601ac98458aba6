// parse: a commit as large as the default limits allow (10 MiB of manifests, 20,000 objects), read and checked as
// sync reads a whole commit (file by file, one worker per core), against one worker reading it all
// (what sync did before) and against `git cat-file --batch` printing the same blobs (the floor of
// reading them). Two shapes: ConfigMaps of many small keys (the most YAML per byte) and
// Deployments (the most objects per byte).
import { spawn } from 'node:child_process';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { DEFAULT_LIMITS } from '../src/manifest/index.js';
import { GitSource } from '../src/sync/index.js';
import type * as Incremental from '../src/sync/incremental.js';
import type * as Isolate from '../src/sync/isolate.js';
import { deploymentYaml } from '../test/support/manifests.js';
import { createRepo } from '../test/support/repo.js';
import { result, type Bench, type Result } from './result.js';

const BENCH = 'parse';
const FILE = 1000 * 1000;

function configMaps(f: number): string {
  const lines: string[] = [];
  let bytes = 0;
  for (let k = 0; bytes < FILE - 100; k++) {
    const line = `  key-${String(k).padStart(6, '0')}: "value ${k} of file ${f}"`;
    lines.push(line);
    bytes += line.length + 1;
  }
  return `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: keys-${f}}\ndata:\n${lines.join('\n')}\n`;
}

function deployments(f: number): string {
  const docs: string[] = [];
  let bytes = 0;
  for (let i = 0; i < 1000 && bytes < FILE - 1000; i++) {
    const d = deploymentYaml({ name: `app-${f}-${i}`, namespace: 'default', replicas: 2, image: 'registry.example.com/team/app:1.0.0', command: ['serve', '--port', '8080'] });
    docs.push(d);
    bytes += d.length + 4;
  }
  return docs.join('---\n');
}

function catBatch(gitdir: string, oids: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', ['--git-dir', gitdir, 'cat-file', '--batch'], { stdio: ['pipe', 'pipe', 'inherit'] });
    child.stdout.resume();
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`git cat-file exit ${code}`))));
    child.stdin.end(`${oids.join('\n')}\n`);
  });
}

/** The built module at `path` under dist/ (what `berth` runs), typed as its source. */
async function built<T>(path: string): Promise<T> {
  return (await import(new URL(`../dist/${path}`, import.meta.url).href)) as T;
}

function build(): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '-s', 'build'], { stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`npm run build: exit ${code}`))));
  });
}

export const parse: Bench = {
  async run(say) {
    // Measured on the built code, as `berth` runs it (from source, each worker would first compile the TypeScript).
    await build();
    const { checkCommit, checkBlobsInParallel, holdCheckWorkers, prewarmCheckWorkers, stopIdleCheckWorkers } = await built<typeof Isolate>('sync/isolate.js');
    const { checkAgainst } = await built<typeof Incremental>('sync/incremental.js');
    const results: Result[] = [];
    const root = await import('node:fs/promises').then((fs) => fs.mkdtemp(`${os.tmpdir()}/berth-bench-parse-`));
    for (const shape of [{ name: 'configmaps', file: configMaps }, { name: 'deployments', file: deployments }]) {
      const repo = await createRepo(root, shape.name);
      let bytes = 0;
      // As much as the default limits let one commit hold: its bytes, and its objects (1,000 a file here).
      for (let f = 0; bytes + FILE <= DEFAULT_LIMITS.commitBytes && (f + 1) * 1000 <= DEFAULT_LIMITS.objects; f++) {
        const text = shape.file(f);
        await repo.write(`f-${String(f).padStart(3, '0')}.yaml`, text);
        bytes += Buffer.byteLength(text);
      }
      const commit = await repo.commit(shape.name);
      const git = new GitSource({ repo: repo.workDir, branch: 'main', path: '.', dataDir: repo.workDir });
      const tree = git.tree(commit);
      const leaves = await git.diff(undefined, await git.root(commit));
      const oids = leaves.flatMap((c) => (c.after?.kind === 'manifest' ? [c.after.oid] : []));
      const best = async (fn: () => Promise<void>, pauseMs = 0): Promise<number> => {
        let min = Infinity;
        for (let i = 0; i < 3; i++) {
          await new Promise((resolve) => setTimeout(resolve, pauseMs));
          const t = performance.now();
          await fn();
          min = Math.min(min, performance.now() - t);
        }
        return min;
      };
      let objects = 0;
      const readWhole = async (): Promise<void> => {
        let why = 'the read failed';
        const r = await checkAgainst(undefined, commit, {
          root: (c) => git.root(c), diff: (a, b) => git.diff(a, b),
          checkBlobs: async (c, blobs) => {
            const p = await checkBlobsInParallel(git.tree(c), blobs);
            if (p && 'refused' in p) why = p.refused;
            else if (p) why = `${p.files.filter((f) => !f.clean).length} files not clean`;
            return p && 'files' in p ? p.files : undefined;
          },
        });
        if (!r) throw new Error(`the parallel check did not pass the bench commit: ${why}`);
        objects = r.check.objects.length;
      };
      // Cold: no worker loaded yet (`berth validate`, or a sync's read in the first second after it
      // started). Warm: the pool a sync loop holds while it runs (holdCheckWorkers), as every later
      // read finds it however long the repository was quiet.
      await stopIdleCheckWorkers();
      const t = performance.now();
      await readWhole();
      const cold = performance.now() - t;
      // A worker that read megabytes is replaced by a fresh one as it answers; a sync's whole reads
      // are minutes apart, so the next finds the fresh ones loaded: a pause gives them that time here.
      prewarmCheckWorkers();
      const parallel = await best(readWhole, 1500);
      // CPU time of the process (every thread) for one warm read: what the read costs whatever else
      // runs on the machine; on idle cores the wall time is about this divided by the cores.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const cpu0 = process.cpuUsage();
      await readWhole();
      const cpuDelta = process.cpuUsage(cpu0);
      const cpu = (cpuDelta.user + cpuDelta.system) / 1000;
      const single = await best(async () => {
        const r = await checkCommit(tree);
        if (r.errors.length > 0) throw new Error(`bench commit invalid: ${r.errors[0]?.message}`);
      });
      const cat = await best(() => catBatch(`${repo.workDir}/.git`, oids));
      say(`${shape.name}: ${(bytes / 2 ** 20).toFixed(1)} MiB, ${oids.length} files, ${objects} objects; ${os.availableParallelism()} cores: one warm worker per core ${Math.round(parallel)} ms (CPU ${Math.round(cpu)} ms; started cold ${Math.round(cold)} ms), one worker ${Math.round(single)} ms, git cat-file ${Math.round(cat)} ms`);
      results.push(result(BENCH, `commit_limits_${shape.name}_ms`, parallel, 'ms', 'one worker (sync before)', single));
      results.push(result(BENCH, `commit_limits_${shape.name}_cpu_ms`, cpu, 'ms', `wall time of the same read (${os.availableParallelism()} cores)`, parallel));
      results.push(result(BENCH, `commit_limits_${shape.name}_cold_ms`, cold, 'ms', 'one worker (sync before)', single));
      results.push(result(BENCH, `commit_limits_${shape.name}_vs_cat_file`, parallel, 'ms', 'git cat-file --batch of the blobs', cat));
      await repo.dispose();
    }
    await import('node:fs/promises').then((fs) => fs.rm(root, { recursive: true, force: true }));
    // What the warm pool a sync holds costs while nothing happens: this process's RSS with it, against without.
    await stopIdleCheckWorkers();
    const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5000));
    await settle();
    const without = process.memoryUsage().rss / 2 ** 20;
    const release = holdCheckWorkers();
    await settle();
    const withPool = process.memoryUsage().rss / 2 ** 20;
    release();
    await stopIdleCheckWorkers();
    say(`the held pool of ${os.availableParallelism()} warm workers: RSS ${Math.round(withPool)} MB, without it ${Math.round(without)} MB`);
    results.push(result(BENCH, 'held_pool_rss_mb', withPool, 'MB', 'the same process without the pool', without));
    return results;
  },
};
