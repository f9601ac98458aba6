import { createHmac } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { runBerth } from '../support/berth.js';
import { berthUpTestbed, type BerthUp } from '../support/berth-up.js';
import { startFakeForge, type FakeForge } from '../support/forge.js';
import { startGitServer, type GitServerHandle } from '../support/git-server.js';
import { deploymentYaml } from '../support/manifests.js';
import { createRepo, type TestRepo } from '../support/repo.js';
import { sshSigner, type Signer } from '../support/signing.js';

// Issue 9's "done when": a day of a team on a private repository served over HTTP with basic auth.
// Push v1 → statuses on a contract-test GitHub and in git notes; scale through a webhook (a forged
// one first: 401, nothing synced); `berth rollback` → back, statuses on the revert commit; with
// verification on, an unsigned commit is rejected and nothing changes.
const USER = { username: 'team', password: 'day-pw-7731' };
const SECRET = 'team-day-webhook-secret-0412';
const TOKEN = 'ghp_teamdaytoken0123456789';

describe('a day of a team on a private repository', () => {
  const bed = berthUpTestbed('teamday');
  let dir = '';
  let server: GitServerHandle | undefined;
  let forge: FakeForge | undefined;
  let repo: TestRepo | undefined;
  let signer: Signer | undefined;
  bed.cleanup(async () => {
    await server?.stop();
    await forge?.stop();
    await signer?.dispose();
    await repo?.dispose();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('push, statuses, scale by webhook, roll back, and an unsigned commit refused', async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-teamday-'));
    const root = path.join(dir, 'git');
    await fs.mkdir(path.join(root, 'team'), { recursive: true });
    const r = await createRepo(path.join(root, 'team'), 'deploy');
    repo = r;
    server = await startGitServer(root, { basicAuth: USER });
    const url = `${server.url}/team/deploy.git`;
    forge = await startFakeForge();
    const f = forge;
    const file = async (name: string, text: string): Promise<string> => {
      const p = path.join(dir, name);
      await fs.writeFile(p, text, { mode: 0o600 });
      return p;
    };
    const credentials = await file('credentials', `username: ${USER.username}\npassword: ${USER.password}\n`);
    const tokenFile = await file('forge-token', `${TOKEN}\n`);
    const secretFile = await file('webhook-secret', `${SECRET}\n`);
    const { dataDir } = bed;
    const up = (extra: string[] = []): BerthUp => bed.up(url, [
      '--repo-credentials-file', credentials, '--status', 'git-notes', '--status', 'github',
      '--forge-url', `${f.url}/api/v3`, '--forge-token-file', tokenFile, '--webhook-secret-file', secretFile, '--interval', '10m', ...extra,
    ]);
    const app = (replicas: number): string => deploymentYaml({ name: 'app', namespace: 'teamday', replicas, image: inject('testImage'), command: ['sleep', '3600'] });
    const note = (sha: string): Promise<string> => r.git(`--git-dir=${r.bareDir}`, 'notes', '--ref=berth', 'show', sha).catch(() => '');
    const forgeSays = (sha: string): string[] => f.calls
      .filter((c) => c.method === 'POST' && c.path === `/api/v3/repos/team/deploy/statuses/${sha}`)
      .map((c) => { const b = c.body as { context: string; state: string; description: string }; return `${b.context} ${b.state} ${b.description}`; });
    const running = async (): Promise<number> => (await bed.running()).filter((c) => c.labels['berth.pod']?.startsWith('app-')).length;
    const body = JSON.stringify({ ref: 'refs/heads/main', repository: { clone_url: url } });
    const hook = async (secret: string): Promise<number> => {
      const api = (await fs.readFile(path.join(dataDir, 'api-endpoint'), 'utf8')).trim();
      const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
      return (await fetch(`${api}/hooks/github`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': signature }, body })).status;
    };

    // 9:00 — v1 is pushed; berth reads the private repository with the team's credentials.
    await r.write('app.yaml', app(1));
    const v1 = await r.commit('app v1');
    await r.push();
    let b = up();
    await b.until(async () => (await note(v1)).includes('berth/health success'), 'v1 running, in its note', { timeoutMs: 180_000 });
    await b.until(() => forgeSays(v1).some((s) => s.startsWith('berth/health success')), 'v1 running, on the forge');
    expect(forgeSays(v1)[0]).toMatch(/^berth\/sync success applied: 1 object, 1 created/);
    expect(f.calls[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);

    // 10:00 — scale to 3; a forged webhook syncs nothing, the signed one runs it at once.
    await r.write('app.yaml', app(3));
    const v2 = await r.commit('scale app to 3');
    await r.push();
    expect(await hook('not-the-secret')).toBe(401);
    expect(await hook(SECRET)).toBe(202);
    await b.until(async () => (await running()) === 3, 'three replicas running', { timeoutMs: 120_000 });
    await b.until(async () => (await note(v2)).includes('berth/health success 3/3'), 'v2 running, in its note', { timeoutMs: 120_000 });
    // The forged webhook came first and the poll is 10 minutes: only the signed one explains v2.
    expect(forgeSays(v2)[0]).toMatch(/^berth\/sync success/);

    // 14:00 — scaling was a mistake: berth rollback pushes the revert, with the source's credentials.
    const back = await runBerth(['rollback', v2.slice(0, 8), '--data-dir', dataDir], { timeoutMs: 120_000 });
    expect(back.stderr).toBe('');
    const revert = /^pushed ([0-9a-f]{7}) to the branch of source default: it reverts [0-9a-f]{7}/.exec(back.stdout)?.[1];
    expect(revert).toBeDefined();
    const revertSha = await r.git(`--git-dir=${r.bareDir}`, 'rev-parse', 'main');
    expect(revertSha.startsWith(revert ?? '-')).toBe(true);
    expect(await r.git(`--git-dir=${r.bareDir}`, 'log', '-1', '--format=%s', revertSha)).toBe('Revert "scale app to 3"');
    await b.until(async () => (await running()) === 1, 'back to one replica', { timeoutMs: 120_000 });
    await b.until(() => forgeSays(revertSha).some((s) => s.startsWith('berth/health success 1/1')), 'the revert running, on the forge', { timeoutMs: 120_000 });
    expect(await note(revertSha)).toContain('berth/sync success applied');
    await b.until(async () => (await note(v2)).includes(`rolled back by ${revertSha.slice(0, 7)}`), 'the rolled-back note on v2');

    // 16:00 — the team turns commit verification on; an unsigned push is refused and nothing changes.
    await b.stop();
    signer = await sshSigner('ed25519');
    const keyring = await file('allowed_signers', `${signer.trusted}\n`);
    b = up(['--verify-commits', keyring]);
    await r.git('pull', '--quiet', '--no-rebase', 'origin', 'main');
    await r.write('app.yaml', app(5));
    const unsigned = await r.commit('scale app to 5, unsigned');
    await r.push();
    await b.until(async () => (await hook(SECRET).catch(() => 0)) === 202, 'the webhook answered by the restarted berth');
    await b.until(async () => /berth\/sync failure unsigned commit [0-9a-f]{7}: no signature/.test(await note(unsigned)), 'the unsigned commit rejected', { timeoutMs: 120_000 });
    await b.until(() => forgeSays(unsigned).length > 0, 'the unsigned commit\'s status on the forge');
    expect(forgeSays(unsigned)).toEqual([expect.stringMatching(/^berth\/sync failure unsigned commit/)]);
    expect(await running()).toBe(1);
    const status = await runBerth(['status', '--data-dir', dataDir]);
    expect(status.stdout).toContain(`commit:    ${revertSha.slice(0, 7)} Revert "scale app to 3"`);
    expect(b.output.toString()).not.toContain(USER.password);
    expect(b.output.toString()).not.toContain(TOKEN);
  }, 600_000);
});
