import { describe, expect, inject, it } from 'vitest';
import { berthUpTestbed, type BerthUp } from '../support/berth-up.js';
import { exited, run } from '../support/process.js';
import { deploymentYaml } from '../support/manifests.js';

// Nothing is remembered only in a process: a `berth up` killed outright comes back from etcd and
// Docker alone, adopts the containers it had started, and applies what was pushed meanwhile.
describe('berth up killed and started again', () => {
  const bed = berthUpTestbed('restart');
  // Should this test fail, an etcd orphaned by the kill may still run on the data dir.
  bed.cleanup(() => run('pkill', ['-f', `--data-dir ${bed.dataDir}/`]).catch(() => undefined));

  const manifest = (replicas: number): string =>
    deploymentYaml({ name: 'app', namespace: 'restart', replicas, image: inject('testImage'), command: ['sleep', '3600'] });

  it('adopts its containers and catches up with the branch', async () => {
    const repo = await bed.repo();
    await repo.write('app.yaml', manifest(2));
    await repo.commit('two replicas');
    const runningIds = async (): Promise<string[]> => (await bed.running()).map((c) => c.id).sort();
    const until = (up: BerthUp, check: () => Promise<boolean>, what: string): Promise<boolean> => up.until(check, what);

    const first = bed.up(repo);
    await until(first, async () => (await runningIds()).length === 2, '2 containers');
    const before = await runningIds();

    first.child.kill('SIGKILL'); // no clean-up at all: its etcd is orphaned, its lease left to expire
    await exited(first.child);
    await repo.write('app.yaml', manifest(3));
    await repo.commit('three replicas, pushed while berth is down');

    const second = bed.up(repo);
    await until(second, async () => (await runningIds()).length === 3, '3 containers after the restart');
    const after = await runningIds();
    expect(after).toEqual(expect.arrayContaining(before)); // the two it had are adopted, not recreated
  }, 180_000);
});
