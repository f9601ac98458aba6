import { describe, expect, inject, it } from 'vitest';
import { berthUpTestbed } from '../support/berth-up.js';
import { deploymentYaml } from '../support/manifests.js';

// A changed template rolls: with Kubernetes' default strategy (25%/25% of 3 replicas: surge 1,
// unavailable 0) Docker never runs fewer than 3 nor more than 4 containers of the Deployment.
describe('a rolling update', () => {
  const bed = berthUpTestbed('rolling');

  const manifest = (version: string): string =>
    deploymentYaml({ name: 'app', namespace: 'rolling', replicas: 3, image: inject('testImage'), command: ['sleep', '3600'], env: { VERSION: version } });

  it('keeps 3 to 4 containers running while every pod is replaced', async () => {
    const repo = await bed.repo();
    await repo.write('app.yaml', manifest('1'));
    await repo.commit('three replicas');
    const up = bed.up(repo);
    const until = <T>(check: () => Promise<T | undefined | false>, what: string, intervalMs?: number): Promise<T> =>
      up.until(check, what, intervalMs === undefined ? {} : { intervalMs });

    const before = await until(async () => {
      const cs = await bed.running();
      return cs.length === 3 ? cs : undefined;
    }, '3 containers of the first template');
    const oldHash = before[0]?.labels['berth.hash'];
    expect(before.every((c) => c.labels['berth.hash'] === oldHash)).toBe(true);

    await repo.write('app.yaml', manifest('2'));
    await repo.commit('change the environment');
    const started = Date.now();

    // Sample `docker ps` every ~50 ms until every running container is of the new template.
    const counts: number[] = [];
    const after = await until(async () => {
      const cs = await bed.running();
      counts.push(cs.length);
      return cs.length === 3 && cs.every((c) => c.labels['berth.hash'] !== oldHash) ? cs : undefined;
    }, '3 containers of the new template', 50);
    const took = Date.now() - started;

    expect(Math.min(...counts)).toBeGreaterThanOrEqual(3);
    expect(Math.max(...counts)).toBeLessThanOrEqual(4);
    expect(counts).toContain(4); // it did surge, rather than replace in place
    expect(new Set(after.map((c) => c.labels['berth.hash'])).size).toBe(1);
    expect(after.map((c) => c.labels['berth.pod']).sort()).toEqual([0, 1, 2].map((i) => `app-${after[0]?.labels['berth.hash'] ?? ''}-${i}`));
    console.log(`rolling update of 3 replicas: ${took} ms, ${counts.length} samples, running ${Math.min(...counts)}..${Math.max(...counts)}`);
  }, 180_000);
});
