import { symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { formatError } from '../../../src/manifest/index.js';
import { GitSource, checkCommit, checkTree } from '../../../src/sync/index.js';
import { IDLE_MS, checkBlobsInParallel, checkWorkersStarted, holdCheckWorkers, idleCheckWorkers, prewarmCheckWorkers, stopIdleCheckWorkers } from '../../../src/sync/isolate.js';
import { readTreeFiles } from '../../../src/sync/tree.js';
import * as h from '../../support/hostile.js';
import { uniqueName } from '../../support/names.js';
import { createRepo, type TestRepo } from '../../support/repo.js';
import { waitFor } from '../../support/wait.js';

// checkCommit: a commit's tree is read and checked in a worker thread, bounded in time and memory,
// while this thread's event loop keeps turning.

const CM = (name: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {k: v}\n`;

let repo: TestRepo;
beforeAll(async () => {
  repo = await createRepo(inject('gitRoot'), uniqueName('isolate'));
});
afterAll(async () => {
  await repo.dispose();
});

const source = (): GitSource => new GitSource({ repo: repo.workDir, branch: 'main', path: '.', dataDir: repo.workDir });

describe('checkCommit', () => {
  it('reports symbolic links and submodules of the tree by path and never follows them', async () => {
    await repo.write('ok.yaml', CM('ok'));
    await symlink('/etc/passwd', join(repo.workDir, 'passwd.yaml'));
    await symlink('ok.yaml', join(repo.workDir, 'again.yaml'));
    // A submodule entry (a gitlink), added straight to the index (it has no work tree here).
    await repo.git('add', '--all');
    await repo.git('update-index', '--add', '--cacheinfo', `160000,${'1'.repeat(40)},vendor/sub`);
    await repo.git('commit', '--quiet', '--message', 'links');
    const commit = await repo.git('rev-parse', 'HEAD');
    const result = await checkCommit(source().tree(commit));
    expect(result.entries).toEqual([
      { path: 'again.yaml', reason: 'symbolic link, not followed' },
      { path: 'passwd.yaml', reason: 'symbolic link, not followed' },
      { path: 'vendor/sub', reason: 'submodule, not followed' },
    ]);
    expect(result.errors).toEqual([]);
    expect(result.objects.map((o) => o.name)).toEqual(['ok']);
  });

  it('gives up on a commit past its time limit, with one error saying so', async () => {
    await repo.write('laughs.yaml', h.billionLaughs(300));
    const commit = await repo.commit('slow');
    const result = await checkCommit(source().tree(commit), { timeoutMs: 1 });
    expect(result.errors.map(formatError)).toEqual(['.:1:1: reading and checking this commit took longer than 0 s; berth stopped (see the limits on manifests)']);
    expect(result.objects).toEqual([]);
  });

  it('gives up on a commit past its memory limit, with one error saying so', async () => {
    for (let i = 0; i < 8; i++) await repo.write(`big-${i}.yaml`, h.bigConfigMap(1_000_000).replace('name: cfg', `name: big-${i}`));
    const commit = await repo.commit('big');
    const result = await checkCommit(source().tree(commit), { memoryMb: 24, timeoutMs: 120_000 });
    expect(result.errors.map(formatError)).toEqual(['.:1:1: reading and checking this commit needed more than 24 MiB of memory; berth stopped (see the limits on manifests)']);
  });

  it('keeps the event loop turning while a heavy commit is parsed', async () => {
    for (let i = 0; i < 8; i++) await repo.remove(`big-${i}.yaml`);
    for (let i = 0; i < 2; i++) await repo.write(`heavy-${i}.yaml`, h.bigConfigMap(1_000_000).replace('name: cfg', `name: heavy-${i}`));
    await repo.write('laughs.yaml', h.billionLaughs(300));
    const commit = await repo.commit('heavy');
    const tree = source().tree(commit);
    // The same check on this thread blocks its loop for as long as it runs: that is the baseline.
    const read = await readTreeFiles(tree);
    const blocking = performance.now();
    checkTree(read);
    const baseline = performance.now() - blocking;

    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const started = performance.now();
    const result = await checkCommit(tree, { timeoutMs: 120_000 });
    const took = performance.now() - started;
    lag.disable();
    const max = lag.max / 1e6;
    console.info(`heavy commit: ${Math.round(baseline)} ms on the main thread; in a worker ${Math.round(took)} ms, event loop delay max ${Math.round(max)} ms, p99 ${Math.round(lag.percentile(99) / 1e6)} ms`);
    expect(result.errors.length).toBeGreaterThan(0); // the laughs
    expect(baseline).toBeGreaterThan(300);
    expect(max).toBeLessThan(baseline / 2);
  });
});

describe('checkBlobsInParallel', () => {
  it('checks many files in several workers and gives what one worker gives, file by file', async () => {
    const blobs: { path: string; oid: string }[] = [];
    for (let i = 0; i < 40; i++) await repo.write(`many/cm-${String(i).padStart(2, '0')}.yaml`, CM(`many-${i}`));
    const commit = await repo.commit('many');
    for (const line of (await repo.git('ls-tree', '-r', commit, 'many')).split('\n')) {
      const [meta, p] = line.split('\t');
      blobs.push({ path: p ?? '', oid: meta?.split(' ')[2] ?? '' });
    }
    const tree = source().tree(commit);
    const one = await checkBlobsInParallel(tree, blobs, { parallelism: 1 });
    const four = await checkBlobsInParallel(tree, blobs, { parallelism: 4 });
    const byPath = (r: typeof one): unknown[] => (r && 'files' in r ? [...r.files].sort((a, b) => a.path.localeCompare(b.path)) : []);
    expect(byPath(one)).toHaveLength(40);
    expect(byPath(four)).toEqual(byPath(one));
    expect(byPath(four).every((f) => (f as { clean: boolean }).clean)).toBe(true);
  });

  it('reuses warm workers, each request read with its own kinds and limits', async () => {
    await repo.write('warm/cm.yaml', CM('warm'));
    const commit = await repo.commit('warm');
    const oid = (await repo.git('rev-parse', `${commit}:warm/cm.yaml`)).trim();
    const blobs = [{ path: 'warm/cm.yaml', oid }];
    const tree = source().tree(commit);
    const files = async (opts: Parameters<typeof checkBlobsInParallel>[2]): Promise<unknown> => {
      const r = await checkBlobsInParallel(tree, blobs, opts);
      return r && 'files' in r ? r.files.map((f) => ({ clean: f.clean, objects: f.objects.map((o) => o.name), skipped: f.skipped.map((k) => k.kind) })) : r;
    };
    prewarmCheckWorkers();
    // Each in turn, so the same warm worker answers them all.
    expect(await files({ skipKinds: ['ConfigMap'] })).toEqual([{ clean: true, objects: [], skipped: ['ConfigMap'] }]);
    expect(await files({})).toEqual([{ clean: true, objects: ['warm'], skipped: [] }]);
    expect(await files({ limits: { fileBytes: 10, commitBytes: 10 } })).toEqual([{ clean: false, objects: [], skipped: [] }]);
    await stopIdleCheckWorkers();
    expect(await files({})).toEqual([{ clean: true, objects: ['warm'], skipped: [] }]);
  });

  it('keeps a held pool warm however long it idles, refills it when a worker stops, and lets it go when released', async () => {
    // A heap size of its own, so no other check shares this pool.
    const memoryMb = 200;
    const cores = os.availableParallelism();
    await repo.write('held/laughs.yaml', h.billionLaughs(301));
    const commit = await repo.commit('held');
    const oid = (await repo.git('rev-parse', `${commit}:held/laughs.yaml`)).trim();
    // Fake timers from the start, so the pool's idle timers are ones the test can run out.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const release = holdCheckWorkers(memoryMb);
    try {
      expect(idleCheckWorkers(memoryMb)).toBe(cores);
      // A worker that passes a bound is stopped; the held pool gets a fresh one in its place.
      const refusal = checkBlobsInParallel(source().tree(commit), [{ path: 'held/laughs.yaml', oid }], { timeoutMs: 1, memoryMb });
      vi.advanceTimersByTime(10);
      expect(await refusal).toHaveProperty('refused');
      await waitFor(() => idleCheckWorkers(memoryMb) === cores, { what: 'the held pool refilled' });
      vi.advanceTimersByTime(IDLE_MS * 3);
      // Nothing stops a held worker for idleness (an exit, which takes a moment, would take it off the list).
      await sleep(300);
      expect(idleCheckWorkers(memoryMb)).toBe(cores);
      release();
      vi.advanceTimersByTime(IDLE_MS + 1);
    } finally {
      vi.useRealTimers();
      release();
    }
    await waitFor(() => idleCheckWorkers(memoryMb) === 0, { what: 'the released pool stopped' });
  });

  it('keeps a warmed worker that read a small file, rather than starting another in its place', async () => {
    const memoryMb = 300;
    await repo.write('kept/cm.yaml', CM('kept'));
    const commit = await repo.commit('kept');
    const oid = (await repo.git('rev-parse', `${commit}:kept/cm.yaml`)).trim();
    const release = holdCheckWorkers(memoryMb);
    try {
      const started = checkWorkersStarted();
      for (let i = 0; i < 3; i++) {
        const r = await checkBlobsInParallel(source().tree(commit), [{ path: 'kept/cm.yaml', oid }], { memoryMb });
        expect(r && 'files' in r && r.files.map((f) => f.clean)).toEqual([true]);
      }
      // The warm-up grows the young generation, which stays committed: it is not what a read left behind.
      expect(checkWorkersStarted()).toBe(started);
    } finally {
      release();
      await stopIdleCheckWorkers();
    }
  });

  it('refuses a commit past its time limit once, with the bound it passed', async () => {
    await repo.write('laughs-again.yaml', h.billionLaughs(301));
    const commit = await repo.commit('slow, in parallel');
    const oid = (await repo.git('rev-parse', `${commit}:laughs-again.yaml`)).trim();
    const r = await checkBlobsInParallel(source().tree(commit), [{ path: 'laughs-again.yaml', oid }], { timeoutMs: 1 });
    expect(r).toEqual({ refused: 'reading and checking this commit took longer than 0 s; berth stopped (see the limits on manifests)' });
  });
});
