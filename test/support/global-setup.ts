import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { dockerRequest, ensureDocker } from './docker.js';
import { startEtcd } from './etcd.js';
import { startGitServer } from './git-server.js';
import { ensureBusyboxImage, sandboxImage } from './image.js';
import { cleanupAfterExit } from './process.js';
import { startRegistry } from './registry.js';

/**
 * Vitest globalSetup for integration tests: one etcd, one Docker engine (found
 * or started), the busybox test image, a git smart-HTTP server over a temp
 * root and a Docker registry on loopback, shared by every test file of the run. Tests read them with
 * `inject('etcdEndpoint')` etc. (typed in provided.d.ts) and keep to their own
 * key prefix / label values (see names.ts).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stops: (() => Promise<void>)[] = [];
  const teardown = async (): Promise<void> => {
    const errors: unknown[] = [];
    for (const stop of stops.reverse()) await stop().catch((error: unknown) => errors.push(error));
    if (errors.length > 0) throw new AggregateError(errors, 'test harness teardown failed');
  };
  try {
    const root = await mkdtemp(join(tmpdir(), 'berth-test-'));
    // vitest skips teardowns when interrupted (Ctrl-C); the watchdog removes the dir then.
    const cancelWatchdog = cleanupAfterExit('rm -rf "$1"', [root]);
    stops.push(async () => {
      cancelWatchdog();
      await rm(root, { recursive: true, force: true });
    });
    const gitRoot = join(root, 'git');
    await mkdir(gitRoot);

    const timings: string[] = [];
    const timed = async <T>(label: string, start: () => Promise<T>): Promise<T> => {
      const begin = performance.now();
      const value = await start();
      timings.push(`${label} ${((performance.now() - begin) / 1000).toFixed(2)}s`);
      return value;
    };
    // etcd and Docker start independently; settle both so neither leaks if the other fails.
    const [etcd, docker] = await Promise.allSettled([timed('etcd', () => startEtcd()), timed('docker', () => ensureDocker())]);
    if (etcd.status === 'fulfilled') stops.push(etcd.value.stop);
    if (docker.status === 'fulfilled') stops.push(docker.value.stop);
    if (etcd.status === 'rejected') throw etcd.reason;
    if (docker.status === 'rejected') throw docker.reason;

    const testImage = await timed('image', () => ensureBusyboxImage(docker.value.host));
    // The pod networks the agents of this run made (unused ones: another run's may still be in use).
    stops.push(async () => {
      const listed = await dockerRequest(docker.value.host, 'GET', `/networks?filters=${encodeURIComponent(JSON.stringify({ label: ['berth.pod-network'] }))}`);
      for (const n of JSON.parse(listed.body) as { Name: string }[]) await dockerRequest(docker.value.host, 'DELETE', `/networks/${n.Name}`).catch(() => undefined);
    });
    // The pod sandbox image every agent of the tests runs (its default --sandbox-image).
    await timed('sandbox image', () => ensureBusyboxImage(docker.value.host, sandboxImage, ['sleep', '2147483647']));
    const git = await timed('git', () => startGitServer(gitRoot));
    stops.push(git.stop);
    const registry = await timed('registry', () => startRegistry());
    stops.push(registry.stop);

    project.provide('etcdEndpoint', etcd.value.endpoint);
    project.provide('dockerHost', docker.value.host);
    project.provide('testImage', testImage);
    project.provide('gitRoot', gitRoot);
    project.provide('gitBaseUrl', git.url);
    project.provide('registry', registry.host);
    const engine = docker.value.started ? `started ${docker.value.host}` : `using ${docker.value.host}`;
    process.stderr.write(`test harness ready: ${timings.join(', ')} (docker: ${engine})\n`);
  } catch (error) {
    await teardown().catch(() => undefined);
    throw error;
  }
  return teardown;
}
