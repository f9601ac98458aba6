import { describe, expect, inject, it } from 'vitest';
import { berthUpTestbed } from '../support/berth-up.js';
import { deploymentYaml } from '../support/manifests.js';

// --auto-revert end to end: a push whose pods crash-loop is reverted by berth itself, on the branch
// of a repository served over HTTP, and the system converges to the revert like any push.
describe('berth up --auto-revert', () => {
  const bed = berthUpTestbed('autorevert');

  it('reverts a commit whose rollout crash-loops, says why on both commits, and leaves its own revert alone', async () => {
    const work = await bed.repo();
    const app = (command: string[]): string => deploymentYaml({ name: 'app', namespace: 'autorevert', replicas: 1, image: inject('testImage'), command });
    await work.write('app.yaml', app(['sleep', '3600']));
    const v1 = await work.commit('app v1');
    await work.push();
    const bare = (...args: string[]): Promise<string> => work.git(`--git-dir=${work.bareDir}`, ...args);
    const note = (sha: string): Promise<string> => bare('notes', '--ref=berth', 'show', sha).catch(() => '');
    const proc = bed.up(work.url(inject('gitBaseUrl')), ['--auto-revert']);
    await proc.until(async () => (await note(v1)).includes('berth/health success'), 'v1 running', { timeoutMs: 120_000 });

    await work.write('app.yaml', app(['sh', '-c', 'echo broken; exit 1']));
    const v2 = await work.commit('app v2 crashes');
    await work.push();
    const revert = await proc.until(async () => {
      const head = await bare('rev-parse', 'main');
      return head !== v2 && head !== v1 ? head : undefined;
    }, 'the revert commit berth pushes', { timeoutMs: 180_000, context: async () => `v2 note:\n${await note(v2)}` });

    const message = await bare('log', '-1', '--format=%B', revert);
    expect(message).toMatch(new RegExp(`^Revert "app v2 crashes"\n\nThis reverts commit ${v2}\\.\n\nberth reverted it automatically: crash loop: autorevert/app-[0-9a-f]+-0 container app exited with code 1`));
    expect(await bare('rev-parse', `${revert}^`)).toBe(v2);
    expect(await bare('rev-parse', `${revert}^{tree}`)).toBe(await bare('rev-parse', `${v1}^{tree}`));
    // The revert is applied and runs v1's pods again; its statuses land on it.
    await proc.until(async () => (await note(revert)).includes('berth/health success'), 'the revert running', { timeoutMs: 180_000 });
    await proc.until(async () => /berth\/sync success rolled back automatically by [0-9a-f]{7}: crash loop: /.test(await note(v2)), 'the note on the reverted commit');
    expect(await note(v2)).toContain(`rolled back automatically by ${revert.slice(0, 7)}: crash loop:`);
    // Nothing reverts the revert: the branch head stays.
    expect(await bare('rev-parse', 'main')).toBe(revert);
  }, 420_000);
});
