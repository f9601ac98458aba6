// berth up on a three-member etcd (--etcd with the three endpoints): the leading member killed → a
// commit pushed meanwhile is applied and `berth get` answers, with no pod made again; every member
// killed → berth waits, and once they are back on their data it reconnects and resumes, nothing lost
// (the agent fences itself meanwhile: its pods stop while its node lease cannot be held, then run again).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { berthUpTestbed, noteLines } from '../support/berth-up.js';
import { runBerth, waitWhileUp, type BerthProcess } from '../support/berth.js';
import { listContainers } from '../support/containers.js';
import { startEtcdCluster, type EtcdCluster } from '../support/etcd-cluster.js';
import { deploymentYaml } from '../support/manifests.js';
import { waitFor } from '../support/wait.js';
import { recordFaultRow } from './support/table.js';

describe('a three-member etcd', () => {
  const bed = berthUpTestbed('members');
  let cluster: EtcdCluster | undefined;
  afterAll(async () => {
    await cluster?.stop();
  });

  it('loses one member with no interruption, and all of them with nothing lost', async (context) => {
    const c = await startEtcdCluster();
    cluster = c;
    const etcd = c.endpoints.join(',');
    const repo = await bed.repo();
    const app = (replicas: number): string => deploymentYaml({ name: 'app', namespace: 'members', replicas, image: inject('testImage'), command: ['sleep', '3600'] });
    const running = async (): Promise<string[]> =>
      (await listContainers(bed.dockerHost, 'berth.node', bed.node)).filter((x) => x.state === 'running' && x.labels['berth.pod']?.startsWith('app-')).map((x) => x.id).sort();
    const healthy = (b: BerthProcess, sha: string, replicas: number, what: string): Promise<unknown> =>
      waitWhileUp(b, async () => (await noteLines(repo, sha)).some((l) => l.includes('berth/health success') && l.includes(`${replicas}/${replicas} replicas`)), what, { timeoutMs: 180_000 });
    const get = (): Promise<{ code: number | null; stdout: string; stderr: string }> => runBerth(['get', 'pods', '-n', 'members', '--etcd', etcd, '-o', 'json'], { timeoutMs: 60_000 });
    const podNames = (out: string): string[] => (JSON.parse(out) as { items: { name: string }[] }).items.map((p) => p.name).sort();
    interface Row { scenario: string; faults: number; convergeMs?: number }
    const rows: Row[] = [];
    const record = (): void => {
      for (const r of rows) recordFaultRow(context, { scenario: r.scenario, trials: 1, faults: r.faults, failures: r.convergeMs === undefined ? 1 : 0, convergeMs: r.convergeMs === undefined ? [] : [r.convergeMs] });
    };

    try {
      await repo.write('app.yaml', app(1));
      const v1 = await repo.commit('app, one replica');
      const b = bed.up(repo, ['--etcd', etcd]);
      await healthy(b, v1, 1, 'v1 running, in its note');
      const first = await running();
      expect(first).toHaveLength(1);

      // The leader goes; a commit lands meanwhile.
      const leader = await waitFor(() => c.leader(), { timeoutMs: 30_000, what: 'the etcd leader' });
      await c.kill(leader);
      const oneDown: Row = { scenario: 'kill -9 the leading etcd member (of three), a commit pushed meanwhile', faults: 1 };
      rows.push(oneDown);
      const killedAt = Date.now();
      await repo.write('app.yaml', app(2));
      const v2 = await repo.commit('app, two replicas');
      await healthy(b, v2, 2, 'v2 applied and running with a member down');
      oneDown.convergeMs = Date.now() - killedAt;
      const got = await get();
      expect(got.stderr).toBe('');
      expect(got.code).toBe(0);
      expect(podNames(got.stdout)).toHaveLength(2);
      const second = await running();
      expect(second.filter((id) => first.includes(id))).toEqual(first);
      await c.start(leader);
      await c.healthy();

      // Every member goes; a commit lands while none answers.
      for (let i = 0; i < c.endpoints.length; i++) await c.kill(i);
      const allDown: Row = { scenario: 'kill -9 every etcd member, a commit pushed meanwhile, all started again', faults: c.endpoints.length };
      rows.push(allDown);
      await repo.write('app.yaml', app(3));
      const v3 = await repo.commit('app, three replicas');
      // berth waits: its API says etcd is not ready, and the process stays up.
      const api = (await readFile(path.join(bed.dataDir, 'api-endpoint'), 'utf8')).trim();
      await waitWhileUp(b, async () => (await fetch(`${api}/readyz`).catch(() => undefined))?.status === 503, 'readyz to say etcd is gone', { timeoutMs: 60_000 });
      for (let i = 0; i < c.endpoints.length; i++) await c.start(i);
      const restartedAt = Date.now();
      await c.healthy();
      await healthy(b, v3, 3, 'v3 applied and running after every member came back');
      allDown.convergeMs = Date.now() - restartedAt;

      // Nothing lost: every commit in the history, every status on its commit, the old pods kept.
      const history = await runBerth(['history', '--etcd', etcd, '-o', 'json'], { timeoutMs: 60_000 });
      expect(history.code).toBe(0);
      const commits = (JSON.parse(history.stdout) as { items: { commit: string; result: string }[] }).items.map((h) => h.commit);
      for (const sha of [v1, v2, v3]) expect(commits.some((h) => sha.startsWith(h) || h.startsWith(sha))).toBe(true);
      for (const sha of [v1, v2]) expect((await noteLines(repo, sha)).filter((l) => l.includes('berth/sync success'))).toHaveLength(1);
      // The agent fenced itself while no member answered (its node lease lost: README, --no-self-fence),
      // so its pods were stopped and then healed: three run again.
      expect(await running()).toHaveLength(3);
      expect(podNames((await get()).stdout)).toHaveLength(3);
    } finally {
      record();
    }
  }, 600_000);
});
