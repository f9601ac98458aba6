import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { spawnBerth, waitWhileUp, type BerthProcess } from '../support/berth.js';
import { listContainers, removeContainers } from '../support/containers.js';
import { exited, run } from '../support/process.js';
import { createRepo } from '../support/repo.js';
import { uniqueName } from '../support/names.js';
import { deploymentYaml } from '../support/manifests.js';

// Nothing is remembered only in a process: a `berth up` killed outright comes back from etcd and
// Docker alone, adopts the containers it had started, and applies what was pushed meanwhile.
describe('berth up killed and started again', () => {
  const dockerHost = inject('dockerHost');
  const node = uniqueName('restart');
  let berth: BerthProcess | undefined;
  let dataDir = '';

  afterAll(async () => {
    await berth?.stop();
    await removeContainers(dockerHost, 'berth.node', node);
    if (dataDir) {
      // Should this test fail, an etcd orphaned by the kill may still run on the data dir.
      await run('pkill', ['-f', `--data-dir ${dataDir}/`]).catch(() => undefined);
      await fs.rm(dataDir, { recursive: true, force: true });
    }
  });

  const manifest = (replicas: number): string =>
    deploymentYaml({ name: 'app', namespace: 'restart', replicas, image: inject('testImage'), command: ['sleep', '3600'] });

  it('adopts its containers and catches up with the branch', async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-restart-'));
    const repo = await createRepo(inject('gitRoot'), uniqueName('restart'));
    await repo.write('app.yaml', manifest(2));
    await repo.commit('two replicas');
    const start = (): BerthProcess =>
      spawnBerth(['up', '--repo', repo.workDir, '--node', node, '--docker', dockerHost, '--interval', '1s', '--data-dir', dataDir]);
    const runningIds = async (): Promise<string[]> =>
      (await listContainers(dockerHost, 'berth.node', node)).filter((c) => c.state === 'running').map((c) => c.id).sort();
    const until = (proc: BerthProcess, check: () => Promise<boolean>, what: string): Promise<boolean> => waitWhileUp(proc, check, what);

    const first = start();
    berth = first;
    await until(first, async () => (await runningIds()).length === 2, '2 containers');
    const before = await runningIds();

    first.child.kill('SIGKILL'); // no clean-up at all: its etcd is orphaned, its lease left to expire
    await exited(first.child);
    await repo.write('app.yaml', manifest(3));
    await repo.commit('three replicas, pushed while berth is down');

    const second = start();
    berth = second;
    await until(second, async () => (await runningIds()).length === 3, '3 containers after the restart');
    const after = await runningIds();
    expect(after).toEqual(expect.arrayContaining(before)); // the two it had are adopted, not recreated
  }, 180_000);
});
