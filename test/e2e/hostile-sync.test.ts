import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { runBerth } from '../support/berth.js';
import * as h from '../support/hostile.js';
import { deploymentYaml } from '../support/manifests.js';
import { berthUpTestbed, noteLines } from '../support/berth-up.js';
import { run } from '../support/process.js';

// Hostile commits pushed to a running `berth up`: each is rejected with one short, escaped line on
// its berth/sync note, what runs keeps running and the other loops keep working (a container
// stopped meanwhile is healed), and `berth validate --rev` gives the same answer as sync.
describe('hostile commits to a running berth up', () => {
  const bed = berthUpTestbed('hostile');
  const { dockerHost } = bed;

  it('rejects each with a short escaped reason on the commit, and keeps everything else working', async () => {
    const work = await bed.repo();
    await work.write('app.yaml', deploymentYaml({ name: 'app', namespace: 'hostile', replicas: 1, image: inject('testImage'), command: ['sleep', '3600'] }));
    const good = await work.commit('one replica');

    // A file may be 2 MiB here (the operator's flag), still far below the 48 MiB one below.
    const proc = bed.up(work, ['--max-file-size', '2Mi']);
    const note = (sha: string): Promise<string[]> => noteLines(work, sha);
    const syncLine = (sha: string): Promise<string> =>
      proc.until(async () => (await note(sha)).find((l) => l.includes(' berth/sync ')), `the berth/sync status of ${sha.slice(0, 7)}`, {
        timeoutMs: 120_000,
        intervalMs: 200,
      });
    const running = (): Promise<{ id: string }[]> => bed.running();

    expect(await syncLine(good)).toMatch(/ berth\/sync success applied: 1 object/);
    const [first] = await proc.until(async () => ((await running()).length === 1 ? running() : undefined), 'the replica running');
    if (!first) throw new Error('no running container');

    // 1. A forged kind, and a link to a host file in the tree.
    await work.write('evil.yaml', h.FORGED_KIND);
    await fs.symlink('/etc/passwd', path.join(work.workDir, 'passwd.yaml'));
    const forged = await work.commit('a forged kind\u001b[2J and a link');
    const forgedLine = await syncLine(forged);

    // 2. Heavy and multiplying: a 48 MiB file, 10,000 aliases, aliases that multiply errors.
    await work.remove('evil.yaml');
    await work.write('big.yaml', Buffer.alloc(48 * 1024 * 1024, 'a').toString());
    await work.write('aliases.yaml', h.manyAliases(10_000));
    await work.write('laughs.yaml', h.billionLaughs(300));
    const heavy = await work.commit('heavy');
    // Meanwhile, behind berth's back: the agent must still heal it.
    await run('docker', ['stop', '-t', '0', first.id], { env: { ...process.env, DOCKER_HOST: dockerHost } });

    const forgedLines = await note(forged);
    expect(forgedLines).toEqual([forgedLine]);
    expect(forgedLines[0]).toMatch(/^\S+ berth\/sync failure rejected: 1 error; first: evil\.yaml:2:7: kind Evil\\n::error file=README\.md::forged is not supported by/);
    expect(forgedLines[0]?.length).toBeLessThan(200);
    expect(forgedLines.join('\n')).not.toMatch(/root:/);

    const heavyLine = await syncLine(heavy);
    expect(heavyLine).toMatch(/^\S+ berth\/sync failure rejected: \d{5} errors; first: aliases\.yaml:1007:10: more than 1000 alias uses in this file/);
    expect(heavyLine.length).toBeLessThan(200);
    expect(await note(heavy)).toHaveLength(1);

    // The other loops kept working: the replica stopped (`docker stop` returned once it had) runs again.
    await proc.until(async () => (await running()).length === 1, 'the stopped replica healed', { timeoutMs: 60_000 });
    // The link was reported, never read.
    expect(proc.output.toString()).toMatch(/passwd\.yaml: symbolic link, not followed/);
    expect(proc.output.toString()).not.toMatch(/root:x:0/);

    // `berth validate --rev` reads the commit as sync does: the same first error, the link reported.
    const validated = await runBerth(['validate', '--rev', forged, '--repo', work.workDir]);
    expect(validated.code).toBe(1);
    expect(validated.stdout.split('\n')[0]).toMatch(/^evil\.yaml:2:7: kind Evil\\n::error file=README\.md::forged is not supported by berth/);
    expect(validated.stderr).toMatch(/^passwd\.yaml: skipped: symbolic link, not followed$/m);
    const heavyValidated = await runBerth(['validate', '--rev', heavy, '--repo', work.workDir]);
    expect(heavyValidated.stdout.split('\n').slice(0, 2)).toEqual([
      'aliases.yaml:1007:10: more than 1000 alias uses in this file; berth bounds alias expansion (write the values out)',
      'big.yaml:1:1: file is 48 MiB; manifest files are at most 1 MiB',
    ]);

    // The commit's message comes from the repository too: escaped in `berth status` and `berth history`.
    for (const cmd of ['status', 'history']) {
      const shown = await runBerth([cmd, '--data-dir', bed.dataDir]);
      expect(shown.code).toBe(0);
      // eslint-disable-next-line no-control-regex -- no control character may reach the terminal
      expect(shown.stdout).not.toMatch(/\u001b/);
      if (cmd === 'history') expect(shown.stdout).toContain('a forged kind\\x1b[2J and a link');
      else expect(shown.stdout).toMatch(/^ {2}rejected: {2}\w+ heavy \(\d{5} errors; see/m);
    }

    // A fixing commit applies.
    for (const f of ['big.yaml', 'aliases.yaml', 'laughs.yaml', 'passwd.yaml']) await work.remove(f);
    const fixed = await work.commit('fixed');
    expect(await syncLine(fixed)).toMatch(/ berth\/sync success applied: 1 object, 0 created, 0 updated, 0 deleted$/);

    // A file over the default 1 MiB but within the operator's --max-file-size applies.
    await work.write('big.yaml', [0, 1].map((i) => h.bigConfigMap(600_000).replace('name: cfg', `name: cfg-${i}`)).join('---\n'));
    const big = await work.commit('a 1.2 MB file');
    expect(await syncLine(big)).toMatch(/ berth\/sync success applied: 3 objects, 2 created, 0 updated, 0 deleted$/);
  }, 300_000);
});
