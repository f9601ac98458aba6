// The git server down for a while under `berth up`: the source shows its error (the reason, never the
// credentials), what runs keeps running untouched, and once the server is back on the same port a
// commit pushed meanwhile is applied and its statuses reach the commit. The poll is 1 s instead of
// minutes, so the outage spans many failed fetches and the back-off between them.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { spawnBerth, waitWhileUp, type BerthProcess } from '../support/berth.js';
import { listContainers, removeContainers } from '../support/containers.js';
import { startGitServer, type GitServerHandle } from '../support/git-server.js';
import { deploymentYaml } from '../support/manifests.js';
import { uniqueName } from '../support/names.js';
import { createRepo, type TestRepo } from '../support/repo.js';
import { recordFaultRow } from './support/table.js';

const USER = { username: 'ops', password: 'outage-pw-5521' };
/** Failed fetches (sync passes that found the server unreachable) the outage lasts at least: past the back-off's cap of 10 s between them. */
const FAILED_FETCHES = 8;

interface SourceRow {
  commitSha?: string;
  error?: { code: string; message: string };
}

describe('the git server down', () => {
  const node = uniqueName('gitdown');
  const dockerHost = inject('dockerHost');
  let dir = '';
  let server: GitServerHandle | undefined;
  let repo: TestRepo | undefined;
  let berth: BerthProcess | undefined;
  afterAll(async () => {
    await berth?.stop();
    await removeContainers(dockerHost, 'berth.node', node);
    await server?.stop();
    await repo?.dispose();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('shows the source\'s error, leaves the pods alone, and catches up once it is back', async (context) => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-gitdown-'));
    const root = path.join(dir, 'git');
    await fs.mkdir(root);
    const r = await createRepo(root, 'deploy');
    repo = r;
    server = await startGitServer(root, { basicAuth: USER });
    const port = Number(new URL(server.url).port);
    const url = `${server.url}/deploy.git`;
    const credentials = path.join(dir, 'credentials');
    await fs.writeFile(credentials, `username: ${USER.username}\npassword: ${USER.password}\n`, { mode: 0o600 });
    const dataDir = path.join(dir, 'data');
    const app = (replicas: number): string => deploymentYaml({ name: 'app', namespace: 'gitdown', replicas, image: inject('testImage'), command: ['sleep', '3600'] });
    const note = (sha: string): Promise<string> => r.git(`--git-dir=${r.bareDir}`, 'notes', '--ref=berth', 'show', sha).catch(() => '');
    const running = async (): Promise<string[]> =>
      (await listContainers(dockerHost, 'berth.node', node)).filter((c) => c.state === 'running' && c.labels['berth.pod']?.startsWith('app-')).map((c) => c.id).sort();

    await r.write('app.yaml', app(2));
    const v1 = await r.commit('app, two replicas');
    await r.push();
    const b = spawnBerth(['up', '--repo', url, '--repo-credentials-file', credentials, '--node', node, '--docker', dockerHost, '--interval', '1s', '--data-dir', dataDir]);
    berth = b;
    await waitWhileUp(b, async () => (await note(v1)).includes('berth/health success 2/2'), 'v1 running, in its note', { timeoutMs: 180_000 });
    const api = (await fs.readFile(path.join(dataDir, 'api-endpoint'), 'utf8')).trim();
    const token = (await fs.readFile(path.join(dataDir, 'api-token'), 'utf8')).trim();
    const get = async (what: string): Promise<Response> => fetch(`${api}${what}`, { headers: { authorization: `Bearer ${token}` } });
    const source = async (): Promise<SourceRow | undefined> => ((await (await get('/api/v1/sources')).json()) as { items: SourceRow[] }).items[0];
    /** Sync passes that failed because something was unreachable, from berth's own metrics. */
    const failedPasses = async (): Promise<number> => {
      const text = await (await get('/metrics')).text();
      return Number(/^berth_reconcile_errors_total\{component="sync",kind="unavailable"\} (\d+)/m.exec(text)?.[1] ?? 0);
    };
    const before = await running();
    expect(before).toHaveLength(2);
    const failedBefore = await failedPasses();

    // The server goes away; a commit lands on the repository meanwhile (pushed to its storage).
    await server.stop();
    server = undefined;
    const downAt = Date.now();
    await r.write('app.yaml', app(3));
    const v2 = await r.commit('app, three replicas');
    await r.push();
    const shown = await waitWhileUp(b, async () => (await source())?.error, 'the source\'s error', { timeoutMs: 120_000 });
    await waitWhileUp(b, async () => (await failedPasses()) - failedBefore >= FAILED_FETCHES, `${FAILED_FETCHES} failed fetches`, { timeoutMs: 120_000 });
    // What runs is the last good commit's, untouched: the same two containers, v1 still in force.
    const during = await source();
    expect(await running()).toEqual(before);
    expect(during?.commitSha).toBe(v1);
    expect(during?.error).toBeDefined();

    // Back on the same port: the commit pushed during the outage is applied, and its statuses delivered.
    server = await startGitServer(root, { basicAuth: USER, port });
    const upAt = Date.now();
    let convergeMs: number | undefined;
    try {
      await waitWhileUp(b, async () => (await note(v2)).includes('berth/health success 3/3'), 'v2 applied and healthy, in its note', { timeoutMs: 180_000 });
      convergeMs = Date.now() - upAt;
    } finally {
      recordFaultRow(context, { scenario: 'git server down, a commit pushed meanwhile', trials: 1, faults: 1, failures: convergeMs === undefined ? 1 : 0, convergeMs: convergeMs === undefined ? [] : [convergeMs] });
    }
    expect(await note(v2)).toContain('berth/sync success applied');
    await waitWhileUp(b, async () => (await source())?.error === undefined, 'the error cleared');
    expect((await source())?.commitSha).toBe(v2);
    // The two containers that ran through the outage still run: only the third replica is new.
    const after = await running();
    expect(after).toHaveLength(3);
    expect(after.filter((id) => before.includes(id))).toEqual(before);

    // The reason names the repository (its URL without credentials) and never the password.
    expect(shown.message).toContain(url);
    expect(JSON.stringify(shown)).not.toContain(USER.password);
    expect(b.output.toString()).not.toContain(USER.password);
    await context.annotate(`outage ${Math.round((upAt - downAt) / 1000)} s; error shown: ${shown.code}: ${shown.message}`);
  }, 420_000);
});
