import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { berthCommandLine } from '../support/berth.js';
import { listContainers, removeContainers } from '../support/containers.js';
import { startGitServer, type GitServerHandle } from '../support/git-server.js';
import { uniqueName } from '../support/names.js';
import { isRunning, terminate } from '../support/process.js';
import { createRepo, type TestRepo } from '../support/repo.js';
import { GiveUp, waitFor } from '../support/wait.js';

// Every secret berth is given, used at --log-level debug through a day's work, and then looked for
// in everything berth printed: never there.
const PASSWORD = 'Repo-Passw0rd-7c1x';
const TOKEN = 'Api-T0ken-55qd9w';
const WRONG_TOKEN = 'Wrong-T0ken-02mm';
const WEBHOOK = 'Hook-S3cret-k9p2';
const ENV_VALUE = 'Env-Value-S3cret-4hh';
const SECRETS = [PASSWORD, TOKEN, WRONG_TOKEN, WEBHOOK, ENV_VALUE];

describe('secrets never reach the logs', () => {
  const dockerHost = inject('dockerHost');
  const node = uniqueName('redact');
  let server: GitServerHandle | undefined;
  let repo: TestRepo | undefined;
  let dir = '';
  afterAll(async () => {
    await removeContainers(dockerHost, 'berth.node', node);
    await repo?.dispose();
    await server?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('berth up at --log-level debug: repository credentials in the URL, the API token, a wrong token, the webhook secret, an env value', async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-redact-'));
    server = await startGitServer(inject('gitRoot'), { basicAuth: { username: 'deploy', password: PASSWORD } });
    repo = await createRepo(inject('gitRoot'), uniqueName('redact'));
    await repo.write('app.yaml', `apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: redact}
spec:
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
        - name: app
          image: ${inject('testImage')}
          command: ["sleep", "3600"]
          env: [{name: API_KEY, value: "${ENV_VALUE}"}]
`);
    await repo.commit('an app with a key in its environment');
    await repo.push();
    const tokenFile = path.join(dir, 'api-token');
    await fs.writeFile(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    const hookFile = path.join(dir, 'hook-secret');
    await fs.writeFile(hookFile, `${WEBHOOK}\n`, { mode: 0o600 });
    const withCredentials = repo.url(server.url).replace('http://', `http://deploy:${PASSWORD}@`);

    const argv = berthCommandLine(['up', '--repo', withCredentials, '--log-level', 'debug', '--token-file', tokenFile, '--webhook-secret-file', hookFile,
      '--node', node, '--docker', dockerHost, '--data-dir', dir, '--interval', '1s', '--listen', '127.0.0.1:0']);
    const child = spawn(argv[0] ?? process.execPath, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    // Everything it prints, not a tail.
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    try {
      const alive = (): void => {
        if (!isRunning(child)) throw new GiveUp(`berth up exited:\n${output}`);
      };
      const api = await waitFor(async () => (alive(), (await fs.readFile(path.join(dir, 'api-endpoint'), 'utf8').catch(() => '')).trim() || undefined), { timeoutMs: 60_000, what: 'the API server' });
      await waitFor(async () => (alive(), (await listContainers(dockerHost, 'berth.node', node)).some((c) => c.state === 'running' && c.labels['berth.container'] === 'app')), { timeoutMs: 90_000, what: 'the app running' });

      // A write with the token, one with a wrong token, a forged and a signed-by-nobody webhook.
      expect((await fetch(`${api}/api/v1/sources/default/sync`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(202);
      expect((await fetch(`${api}/api/v1/sources/default/sync`, { method: 'POST', headers: { authorization: `Bearer ${WRONG_TOKEN}` } })).status).toBe(401);
      expect((await fetch(`${api}/hooks/generic`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${WRONG_TOKEN}` }, body: '{}' })).status).toBeGreaterThanOrEqual(400);
      // A push syncs again: the credentials are used once more.
      await repo.write('app.yaml', (await fs.readFile(path.join(repo.workDir, 'app.yaml'), 'utf8')).replace('"3600"', '"3601"'));
      const second = await repo.commit('sleep a second longer');
      await repo.push();
      await waitFor(() => (alive(), output.includes(second)), { timeoutMs: 90_000, what: 'the second commit applied' });
    } finally {
      await terminate(child, 15_000);
    }
    // It did log at debug, and named the repository (without its password).
    expect(output).toMatch(/"level":20/);
    expect(output).toContain(repo.url(server.url));
    for (const secret of SECRETS) expect({ secret, found: output.includes(secret) }).toEqual({ secret, found: false });
  }, 240_000);
});
