import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { berthUpTestbed } from '../support/berth-up.js';
import { startGitServer, type GitServerHandle } from '../support/git-server.js';
import { deploymentYaml } from '../support/manifests.js';

// Every secret berth is given, used at --log-level debug through a day's work, and then looked for
// in everything berth printed: never there.
const PASSWORD = 'Repo-Passw0rd-7c1x';
const TOKEN = 'Api-T0ken-55qd9w';
const WRONG_TOKEN = 'Wrong-T0ken-02mm';
const WEBHOOK = 'Hook-S3cret-k9p2';
const ENV_VALUE = 'Env-Value-S3cret-4hh';
const SECRETS = [PASSWORD, TOKEN, WRONG_TOKEN, WEBHOOK, ENV_VALUE];

describe('secrets never reach the logs', () => {
  const bed = berthUpTestbed('redact');
  let server: GitServerHandle | undefined;
  afterAll(async () => {
    await server?.stop();
  });

  it('berth up at --log-level debug: repository credentials in the URL, the API token, a wrong token, the webhook secret, an env value', async () => {
    server = await startGitServer(inject('gitRoot'), { basicAuth: { username: 'deploy', password: PASSWORD } });
    const repo = await bed.repo();
    await repo.write('app.yaml', deploymentYaml({ name: 'app', namespace: 'redact', replicas: 1, image: inject('testImage'), command: ['sleep', '3600'], env: { API_KEY: ENV_VALUE } }));
    await repo.commit('an app with a key in its environment');
    await repo.push();
    const tokenFile = path.join(bed.dataDir, 'api-token');
    await fs.writeFile(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    const hookFile = path.join(bed.dataDir, 'hook-secret');
    await fs.writeFile(hookFile, `${WEBHOOK}\n`, { mode: 0o600 });
    const withCredentials = repo.url(server.url).replace('http://', `http://deploy:${PASSWORD}@`);

    // Everything it prints is kept, not a tail.
    const up = bed.up(withCredentials, ['--log-level', 'debug', '--token-file', tokenFile, '--webhook-secret-file', hookFile], { outputLimit: Infinity });
    const output = (): string => up.output.toString();
    try {
      const api = await up.api();
      await up.until(async () => (await bed.running('app')).length > 0, 'the app running');

      // A write with the token, one with a wrong token, a forged and a signed-by-nobody webhook.
      expect((await fetch(`${api}/api/v1/sources/default/sync`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(202);
      expect((await fetch(`${api}/api/v1/sources/default/sync`, { method: 'POST', headers: { authorization: `Bearer ${WRONG_TOKEN}` } })).status).toBe(401);
      expect((await fetch(`${api}/hooks/generic`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${WRONG_TOKEN}` }, body: '{}' })).status).toBeGreaterThanOrEqual(400);
      // A push syncs again: the credentials are used once more.
      await repo.write('app.yaml', (await fs.readFile(path.join(repo.workDir, 'app.yaml'), 'utf8')).replace('"3600"', '"3601"'));
      const second = await repo.commit('sleep a second longer');
      await repo.push();
      await up.until(() => output().includes(second), 'the second commit applied');
    } finally {
      await up.stop();
    }
    // It did log at debug, and named the repository (without its password).
    expect(output()).toMatch(/"level":20/);
    expect(output()).toContain(repo.url(server.url));
    for (const secret of SECRETS) expect({ secret, found: output().includes(secret) }).toEqual({ secret, found: false });
  }, 240_000);
});
