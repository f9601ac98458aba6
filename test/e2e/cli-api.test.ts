import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBerth, spawnBerth, waitWhileUp } from '../support/berth.js';
import { berthUpTestbed } from '../support/berth-up.js';
import { freePorts } from '../support/ports.js';
import { exited } from '../support/process.js';
import { waitFor } from '../support/wait.js';

const configMap = (value: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {value: "${value}"}\n`;
/** Lines of a run's stderr, without pino's JSON log lines. */
const errorLines = (stderr: string): string[] => stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));

// The CLI through the API server of a real `berth up`, found through --data-dir alone (its api-endpoint
// and api-token files): reads, --watch, and the verbs sync, suspend, rollback, resume.
describe('the CLI through the API server of `berth up`', () => {
  const bed = berthUpTestbed('cli-api');

  it('reads, watches and writes through the API found in the data dir; the token rules hold', async () => {
    const work = await bed.repo();
    await work.write('app.yaml', configMap('one'));
    const first = await work.commit('first');
    const up = bed.up(work);
    const dataDir = ['--data-dir', bed.dataDir];
    const berth = (...args: string[]): ReturnType<typeof runBerth> => runBerth([...args, ...dataDir]);
    const status = async (): Promise<{ commitSha?: string; suspended?: { commitSha?: string } }> =>
      ((JSON.parse((await berth('status', '-o', 'json')).stdout) as { sources: object[] }).sources[0] ?? {});
    await up.until(async () => (await status()).commitSha === first, 'the first commit, read through the API');
    const url = (await fs.readFile(path.join(bed.dataDir, 'api-endpoint'), 'utf8')).trim();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    // A read through the API prints the table as a read from etcd does (golden columns).
    const history = await berth('history');
    expect(history.code).toBe(0);
    expect(history.stdout.split('\n')[0]).toBe('TIME                   SOURCE    COMMIT    OUTCOME   ERRORS   AUTHOR                            MESSAGE');
    expect(history.stdout).toContain(`default   ${first.slice(0, 7)}   applied   0        Berth Test <test@berth.invalid>   first`);

    // --watch: the node, then (after Ctrl-C) exit 0.
    const watching = spawnBerth(['get', 'nodes', '--watch', ...dataDir]);
    await waitWhileUp(watching, () => watching.output.toString().includes(bed.node), 'the node in `get nodes --watch`');
    expect(watching.output.toString().split('\n')[0]).toMatch(/^NAME +STATUS +PODS +CPU +MEMORY +ADDRESS +VERSION +AGE +LABELS$/);
    const gone = exited(watching.child);
    watching.child.kill('SIGINT');
    await gone;
    expect(watching.child.exitCode).toBe(0);

    await work.write('app.yaml', configMap('two'));
    const second = await work.commit('second');
    expect((await berth('sync', 'default')).stdout).toBe('sync of source default requested; `berth status` shows the commit in force\n');
    await up.until(async () => (await status()).commitSha === second, 'the second commit');

    // Writes: refused without the token (a --server given by hand gets no token from the data dir), taken with it.
    const refused = await runBerth(['suspend', 'default', '--server', url, '--data-dir', bed.dataDir]);
    expect(refused.code).toBe(1);
    expect(errorLines(refused.stderr)).toEqual([
      'berth: writes need the API token: Authorization: Bearer <the token in --token-file>; pass --token-file <file> or set BERTH_TOKEN (`berth up` keeps its token in <data-dir>/api-token)',
    ]);
    const token = (await fs.readFile(path.join(bed.dataDir, 'api-token'), 'utf8')).trim();
    const suspended = await runBerth(['suspend', 'default', '--server', url], { env: { ...process.env, BERTH_TOKEN: token } });
    expect(suspended).toMatchObject({ code: 0, stdout: 'source default suspended: new commits wait for `berth resume default`\n' });
    const shown = await berth('status');
    expect(shown.stdout).toMatch(/\n {2}suspended: suspended \d+s ago; new commits wait for `berth resume default`\n/);

    await work.write('app.yaml', configMap('three'));
    const third = await work.commit('third');
    const back = await berth('suspend', 'default', '--at', first.slice(0, 7));
    expect(back.code).toBe(0);
    expect(back.stdout).toMatch(new RegExp(`^source default suspended at ${first.slice(0, 7)}: sync applies it and keeps it until \`berth resume default\`;\n`));
    await up.until(async () => (await status()).commitSha === first, 'the pinned commit in force');
    expect((await status()).suspended?.commitSha).toBe(first);
    expect((await berth('status')).stdout).toMatch(new RegExp(`\n {2}suspended: pinned to ${first.slice(0, 7)} \\d+s ago;`));

    expect((await berth('resume', 'default')).stdout).toBe('source default resumed: sync follows its branch head again\n');
    await up.until(async () => (await status()).commitSha === third, 'the branch head again after resume');
    const last = JSON.parse((await berth('history', '-o', 'json', '--limit', '2')).stdout) as { items: { commitSha: string; pinned?: boolean }[] };
    expect(last.items.map((h) => [h.commitSha, h.pinned ?? false])).toEqual([[first, true], [third, false]]);
  }, 240_000);

  it.each([
    [['suspend', 'nope'], /^berth: source "nope" not found; list the sources with `berth status`$/, 1],
    [['suspend', 'default', '--at', 'feedbeef'], /^berth: commit "feedbeef" was never applied to source default; pick one `berth history --source default` shows as applied$/, 1],
    [['rollback', 'feedbeef'], /^berth: commit "feedbeef" is not in \S+; pick a commit `git log main` lists$/, 1],
    [['rollback', '--source', 'default'], /^berth: no commit to roll back; berth rollback <commit> reverts one commit; berth rollback --to <commit> goes back to its files$/, 2],
    [['status', '--server', 'http://127.0.0.1:PORT'], /^berth: cannot reach the berth API at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED; check --server \(or BERTH_SERVER\)$/, 1],
    [['get', 'pods', '--server', 'ftp://x'], /^berth: --server must be http\(s\):\/\/host:port, not "ftp:\/\/x"; e\.g\. http:\/\/127\.0\.0\.1:7420$/, 2],
    [['sync'], /^berth: no source: --repo is missing; pass --repo <url\|path>, or --config <file> for several sources$/, 2],
  ])('berth %j: one line, exit %i', async (args, line, code) => {
    await waitFor(async () => (await fs.stat(path.join(bed.dataDir, 'api-endpoint'))).isFile(), { what: 'the API of the first test' });
    const [closed] = await freePorts(1);
    const res = await runBerth([...args.map((a) => a.replace('PORT', String(closed))), '--data-dir', bed.dataDir]);
    expect(errorLines(res.stderr)).toEqual([expect.stringMatching(line)]);
    expect(res.code).toBe(code);
  });
});
