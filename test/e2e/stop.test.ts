import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { spawnBerth, waitWhileUp, type BerthProcess } from '../support/berth.js';
import { listContainers, removeContainers } from '../support/containers.js';
import { startEtcd, type EtcdHandle } from '../support/etcd.js';
import { deploymentYaml } from '../support/manifests.js';
import { uniqueName } from '../support/names.js';
import { exited, isRunning } from '../support/process.js';
import { createRepo } from '../support/repo.js';
import { waitFor } from '../support/wait.js';

/** The promise to a user: every berth process is gone within 5 s of SIGINT or SIGTERM. */
const STOP_WITHIN_MS = 5_000;

interface Case {
  name: string;
  signal: 'SIGINT' | 'SIGTERM';
  /** berth's own etcd (no --etcd), or one started for this test and passed with --etcd. */
  etcd: 'own' | 'outside';
  /** Kill that etcd before the signal. */
  killEtcd: boolean;
  /** Signal the whole process group, as a terminal's Ctrl-C does; else the berth process alone. */
  group: boolean;
}

const cases: Case[] = [
  { name: 'SIGTERM after its own etcd was killed', signal: 'SIGTERM', etcd: 'own', killEtcd: true, group: false },
  { name: 'Ctrl-C (SIGINT to the group) after its own etcd was killed', signal: 'SIGINT', etcd: 'own', killEtcd: true, group: true },
  { name: 'SIGTERM after the etcd of --etcd went away', signal: 'SIGTERM', etcd: 'outside', killEtcd: true, group: false },
  { name: 'Ctrl-C with its own etcd alive: the etcd is stopped too, last', signal: 'SIGINT', etcd: 'own', killEtcd: false, group: true },
];

/** True while pid names a live (not zombie) process. */
async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

describe('berth up stops within 5 s of a signal, whatever state its etcd is in', () => {
  const dockerHost = inject('dockerHost');
  const cleanups: (() => Promise<void>)[] = [];

  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });

  it.each(cases)('$name', async ({ signal, etcd, killEtcd, group }) => {
    const node = uniqueName('stop');
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-stop-'));
    cleanups.push(() => fs.rm(dataDir, { recursive: true, force: true }));
    cleanups.push(() => removeContainers(dockerHost, 'berth.node', node));
    let outside: EtcdHandle | undefined;
    if (etcd === 'outside') {
      outside = await startEtcd();
      cleanups.push(outside.stop);
    }
    const repo = await createRepo(inject('gitRoot'), uniqueName('stop'));
    const manifest = (replicas: number): string =>
      deploymentYaml({ name: 'app', namespace: 'stop', replicas, image: inject('testImage'), command: ['sleep', '3600'] });
    await repo.write('app.yaml', manifest(1));
    await repo.commit('one replica');

    const args = ['up', '--repo', repo.workDir, '--node', node, '--docker', dockerHost, '--interval', '1s', '--data-dir', dataDir];
    const berth: BerthProcess = spawnBerth(outside ? [...args, '--etcd', outside.endpoint] : args, process.env, { detached: group });
    cleanups.push(async () => {
      if (isRunning(berth.child)) await berth.stop();
    });
    const running = async (n: number): Promise<boolean> =>
      (await listContainers(dockerHost, 'berth.node', node)).filter((c) => c.state === 'running').length === n;
    await waitWhileUp(berth, () => running(1), '1 running container');
    // A few commits, so the components have been through some work before the stop.
    for (const replicas of [2, 1]) {
      await repo.write('app.yaml', manifest(replicas));
      await repo.commit(`${replicas} replica(s)`);
      await waitWhileUp(berth, () => running(replicas), `${replicas} running container(s)`);
    }

    const ownEtcdPid = etcd === 'own' ? Number((await fs.readFile(path.join(dataDir, 'etcd', 'etcd.pid'), 'utf8')).trim()) : undefined;
    if (ownEtcdPid !== undefined) {
      cleanups.push(async () => {
        if (await alive(ownEtcdPid)) process.kill(ownEtcdPid, 'SIGKILL');
      });
    }
    if (killEtcd) {
      if (ownEtcdPid !== undefined) process.kill(ownEtcdPid, 'SIGKILL');
      else await outside?.stop();
      // Stop after a while of failing against the dead etcd (berth says so once, after 10 s), the
      // state that hung it before: etcd3 retries a broken watch with a backoff that grows to 30 s
      // while etcd is down, and a pending retry timer kept the process alive that long after `stopping`.
      await waitWhileUp(berth, () => berth.output.toString().includes('reconcile keeps failing'), 'berth to say that etcd is gone', { timeoutMs: 40_000 });
    }

    const pid = berth.child.pid ?? 0;
    const began = Date.now();
    process.kill(group ? -pid : pid, signal);
    const stopped = await Promise.race([
      exited(berth.child).then(() => true),
      new Promise<false>((resolve) => setTimeout(() => resolve(false), 30_000).unref()),
    ]);
    const took = Date.now() - began;
    expect(stopped, `berth still running 30 s after ${signal}; output:\n${berth.output.toString()}`).toBe(true);
    expect(took, `berth took ${took} ms to stop; output:\n${berth.output.toString()}`).toBeLessThan(STOP_WITHIN_MS);
    if (ownEtcdPid !== undefined) {
      // Its own etcd is stopped by berth itself (a terminal's Ctrl-C does not reach it: own process group).
      await waitFor(async () => !(await alive(ownEtcdPid)), { timeoutMs: 2_000, what: `berth's etcd (pid ${ownEtcdPid}) to be gone` });
    }
  }, 180_000);
});
