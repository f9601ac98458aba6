import { createHmac } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { berthUpTestbed } from '../support/berth-up.js';

const SECRET = 'e2e-webhook-secret-5531';
const configMap = (name: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {a: b}\n`;

// A push to a repository served over HTTP, announced by a GitHub webhook, is applied at once by
// `berth up`, whose poll interval (10 minutes) cannot explain it; a forged webhook syncs nothing.
describe('berth up --webhook-secret-file', () => {
  const bed = berthUpTestbed('hook');

  it('syncs at once on a signed push webhook, and not on a forged one', async () => {
    const r = await bed.repo();
    const url = r.url(inject('gitBaseUrl'));
    await r.write('a.yaml', configMap('a'));
    const first = await r.commit('a');
    await r.push();
    const secretFile = path.join(bed.dataDir, 'webhook-secret');
    await fs.writeFile(secretFile, `${SECRET}\n`, { mode: 0o600 });
    const b = bed.up(url, ['--interval', '10m', '--webhook-secret-file', secretFile]);
    const note = async (sha: string): Promise<string> => r.git('--git-dir', r.bareDir, 'notes', '--ref=berth', 'show', sha).catch(() => '');
    await b.until(async () => (await note(first)).includes('berth/sync success'), 'the first commit applied', { timeoutMs: 60_000 });
    const api = await b.api();

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
    await b.until(async () => (await note(second)).includes('berth/sync success'), 'the pushed commit applied through the webhook', { timeoutMs: 30_000 });
    expect(b.output.toString()).not.toContain(SECRET);
  });
});
