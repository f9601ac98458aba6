import { describe, expect, inject, it } from 'vitest';
import { run } from '../support/process.js';
import { berthUpTestbed, noteLines } from '../support/berth-up.js';
import { deploymentYaml } from '../support/manifests.js';

// What berth sees goes back onto the commit: `berth/health` pending → success as it rolls out, then
// failure when a container is killed behind its back, and success again once the agent healed it.
describe('berth/health on the commit in force, as git notes', () => {
  const bed = berthUpTestbed('health');
  const { dockerHost } = bed;

  it('reports pending, success, failure on a killed container, then success once healed', async () => {
    const work = await bed.repo();
    await work.write('app.yaml', deploymentYaml({ name: 'app', namespace: 'health', replicas: 2, image: inject('testImage'), command: ['sleep', '3600'] }));
    const sha = await work.commit('two replicas');

    const started = Date.now();
    const proc = bed.up(work);
    /** The commit's note, one status per line, without the leading time. */
    const statuses = async (): Promise<string[]> => (await noteLines(work, sha)).map((l) => l.slice(l.indexOf(' ') + 1));
    // On a timeout, also show what the note held (read then, not now).
    const until = (check: (lines: string[]) => boolean, what: string): Promise<string[]> =>
      proc.until(async () => {
        const lines = await statuses();
        return check(lines) ? lines : undefined;
      }, what, { intervalMs: 100, context: async () => `note:\n${(await statuses()).join('\n')}` });
    const index = (lines: string[], prefix: string, after = -1): number => lines.findIndex((l, i) => i > after && l.startsWith(prefix));

    const rolledOut = await until((l) => index(l, 'berth/health success') >= 0, 'berth/health success on the commit');
    const toSuccess = Date.now() - started;
    const sync = index(rolledOut, 'berth/sync success');
    const pending = index(rolledOut, 'berth/health pending');
    const success = index(rolledOut, 'berth/health success');
    expect(sync).toBeGreaterThanOrEqual(0);
    expect(pending).toBeGreaterThan(sync);
    expect(success).toBeGreaterThan(pending);
    expect(rolledOut[success]).toBe(`berth/health success 2/2 replicas of 1 deployment running ${sha.slice(0, 7)}`);

    const [victim] = await bed.running();
    if (!victim) throw new Error('no running container to kill');
    const killed = Date.now();
    await run('docker', ['kill', victim.id], { env: { ...process.env, DOCKER_HOST: dockerHost } });

    const failing = await until((l) => index(l, 'berth/health failure', success) >= 0, 'berth/health failure after the kill');
    const toFailure = Date.now() - killed;
    const failure = index(failing, 'berth/health failure', success);
    expect(failing[failure]).toMatch(/^berth\/health failure drift: health\/app-[0-9a-f]+-[01] container app was stopped from outside \(exited with code 137\); healing$/);

    const healed = await until((l) => index(l, 'berth/health success', failure) >= 0, 'berth/health success once healed');
    const toHealed = Date.now() - killed;
    expect(healed[index(healed, 'berth/health success', failure)]).toMatch(/^berth\/health success healed: health\/app-.* container app was stopped from outside .*; 2\/2 replicas of 1 deployment running [0-9a-f]{7}$/);
    // Nothing more than that: one line per change, none per restart tick.
    expect(healed.filter((l) => l.startsWith('berth/health'))).toHaveLength(4);
    // A clean stop is no news either (its agent leaves the node first).
    await proc.stop();
    expect(await statuses()).toEqual(healed);

    console.info(`berth/health timings: start → success note ${toSuccess} ms; kill → failure note ${toFailure} ms; kill → healed note ${toHealed} ms`);
  }, 180_000);
});
