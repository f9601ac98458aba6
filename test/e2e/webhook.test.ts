import { createHmac } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { spawnBerth, type BerthProcess } from '../support/berth.js';
import { removeContainers } from '../support/containers.js';
import { uniqueName } from '../support/names.js';
import { isRunning } from '../support/process.js';
import { createRepo, type TestRepo } from '../support/repo.js';
import { GiveUp, waitFor } from '../support/wait.js';

const SECRET = 'e2e-webhook-secret-5531';
const configMap = (name: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {a: b}\n`;

// A push to a repository served over HTTP, announced by a GitHub webhook, is applied at once by
// `berth up`, whose poll interval (10 minutes) cannot explain it; a forged webhook syncs nothing.
describe('berth up --webhook-secret-file', () => {
  const node = uniqueName('hook');
  let berth: BerthProcess | undefined;
  let repo: TestRepo | undefined;
  let dir = '';
  afterAll(async () => {
    await berth?.stop();
    await removeContainers(inject('dockerHost'), 'berth.node', node);
    await repo?.dispose();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('syncs at once on a signed push webhook, and not on a forged one', async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-hook-'));
    const r = await createRepo(inject('gitRoot'), uniqueName('hook'));
    repo = r;
    const url = r.url(inject('gitBaseUrl'));
    await r.write('a.yaml', configMap('a'));
    const first = await r.commit('a');
    await r.push();
    const secretFile = path.join(dir, 'webhook-secret');
    await fs.writeFile(secretFile, `${SECRET}\n`, { mode: 0o600 });
    const dataDir = path.join(dir, 'data');
    const b = spawnBerth(['up', '--repo', url, '--node', node, '--docker', inject('dockerHost'), '--interval', '10m', '--data-dir', dataDir, '--webhook-secret-file', secretFile]);
    berth = b;
    const alive = (): void => {
      if (!isRunning(b.child)) throw new GiveUp(`berth up exited:\n${b.output.toString()}`);
    };
    const note = async (sha: string): Promise<string> => r.git('--git-dir', r.bareDir, 'notes', '--ref=berth', 'show', sha).catch(() => '');
    await waitFor(async () => (alive(), (await note(first)).includes('berth/sync success')), { timeoutMs: 60_000, what: 'the first commit applied' });
    const api = (await fs.readFile(path.join(dataDir, 'api-endpoint'), 'utf8')).trim();

    await r.write('b.yaml', configMap('b'));
    const second = await r.commit('b');
    await r.push();
    const body = JSON.stringify({ ref: 'refs/heads/main', repository: { clone_url: url } });
    const post = (signature: string): Promise<Response> =>
      fetch(`${api}/hooks/github`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': signature }, body });

    const forged = await post(`sha256=${createHmac('sha256', 'guess').update(body).digest('hex')}`);
    expect(forged.status).toBe(401);
    const good = await post(`sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`);
    expect(good.status).toBe(202);
    expect(await good.json()).toMatchObject({ sources: ['default'] });
    await waitFor(async () => (alive(), (await note(second)).includes('berth/sync success')), { timeoutMs: 30_000, what: 'the pushed commit applied through the webhook' });
    expect(b.output.toString()).not.toContain(SECRET);
  });
});
