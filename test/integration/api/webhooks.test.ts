import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startApi, type ApiServer } from '../../../src/api/server.js';
import { silentLogger } from '../../../src/log.js';
import { EtcdStore, SYNC_REQUESTS, encode, followedKey, type FollowedRecord, type Store } from '../../../src/store/index.js';
import { uniqueName } from '../../support/names.js';

const SECRET = 'Hook-S3cret-for-tests';
const REPO = 'http://git.example.com/team/deploy.git';
const push = (ref = 'refs/heads/main', url = REPO): Buffer => Buffer.from(JSON.stringify({ ref, repository: { clone_url: url } }));
const sign = (body: Buffer, secret = SECRET): string => createHmac('sha256', secret).update(body).digest('hex');

// The webhook endpoints of a real API server over real etcd: what they answer, and which sync
// requests (requests/sync/<source>) they leave.
describe('POST /hooks/<forge>', () => {
  let store: Store;
  let api: ApiServer;

  beforeAll(async () => {
    store = await EtcdStore.connect([inject('etcdEndpoint')], `/${uniqueName('hooks')}`);
    api = await startApi({
      store, log: silentLogger(), listen: { host: '127.0.0.1', port: 0 }, token: 'api-token-not-used-by-hooks',
      hooks: { secret: SECRET, sources: [{ name: 'web', repo: REPO, branch: 'main' }, { name: 'ops', repo: REPO, branch: 'ops' }] },
    });
  });
  afterAll(async () => {
    await api.stop();
    for (const e of (await store.list('')).entries) await store.commit({ del: [e.key] });
    await store.close();
  });

  /** POST a webhook; returns the status, the body and the sources whose sync was requested by it. */
  const hook = async (forge: string, headers: Record<string, string>, body: Buffer): Promise<{ status: number; body: unknown; requested: string[] }> => {
    for (const e of (await store.list(SYNC_REQUESTS)).entries) await store.commit({ del: [e.key] });
    const res = await fetch(`${api.url}/hooks/${forge}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const text = await res.text();
    const requested = (await store.list(SYNC_REQUESTS)).entries.map((e) => e.key.slice(SYNC_REQUESTS.length));
    return { status: res.status, body: text === '' ? undefined : JSON.parse(text), requested };
  };

  it.each([
    ['github', (b: Buffer) => ({ 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${sign(b)}` })],
    ['gitea', (b: Buffer) => ({ 'x-gitea-event': 'push', 'x-gitea-signature': sign(b) })],
    ['gitlab', () => ({ 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': SECRET })],
    ['generic', (b: Buffer) => ({ 'x-berth-signature-256': `sha256=${sign(b)}` })],
  ])('a signed %s push requests the sync of the source on that branch, without the API token', async (forge, headers) => {
    const body = forge === 'gitlab' ? Buffer.from(JSON.stringify({ ref: 'refs/heads/main', project: { git_http_url: REPO } })) : push();
    const res = await hook(forge, headers(body), body);
    expect(res).toMatchObject({ status: 202, body: { sources: ['web'] }, requested: ['web'] });
  });

  it.each([
    ['a wrong signature', 'github', { 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${sign(push(), 'guess')}` }, push(), 401],
    ['no signature', 'github', { 'x-github-event': 'push' }, push(), 401],
    ['a wrong GitLab token', 'gitlab', { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': 'guess' }, push(), 401],
    ['the API token instead of a signature', 'generic', { authorization: 'Bearer api-token-not-used-by-hooks' }, push(), 401],
    ['an unknown sender', 'bitbucket', {}, push(), 404],
  ])('refuses %s, and syncs nothing', async (_name, forge, headers, body, status) => {
    const res = await hook(forge, headers, body);
    expect(res.status).toBe(status);
    expect(res.requested).toEqual([]);
  });

  it('answers a ping with 200, and a push to another branch or repository with 202 ignored', async () => {
    const ping = Buffer.from('{"zen":"Keep it logically awesome."}');
    expect(await hook('github', { 'x-github-event': 'ping', 'x-hub-signature-256': `sha256=${sign(ping)}` }, ping)).toMatchObject({ status: 200, requested: [] });
    for (const body of [push('refs/heads/feature'), push('refs/heads/main', 'https://git.example.com/team/other.git')]) {
      expect(await hook('github', { 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${sign(body)}` }, body)).toMatchObject({ status: 202, body: { ignored: 'no source follows this repository and branch' }, requested: [] });
    }
  });

  it('refuses a body over 1 MiB with 413, and syncs nothing', async () => {
    const big = Buffer.alloc(1024 * 1024 + 1, 32);
    const res = await hook('github', { 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${sign(big)}` }, big);
    expect(res.status).toBe(413);
    expect(res.requested).toEqual([]);
  });
});

// A `berth api` of its own has no sources in memory: it matches pushes to what each sync wrote under followed/.
describe('POST /hooks/<forge> on a berth api of its own', () => {
  it('requests the sync of the sources whose sync follows the pushed repository and branch', async () => {
    const store = await EtcdStore.connect([inject('etcdEndpoint')], `/${uniqueName('hooks-api')}`);
    const api = await startApi({ store, log: silentLogger(), listen: { host: '127.0.0.1', port: 0 }, token: 'api-token-not-used-by-hooks', hooks: { secret: SECRET } });
    try {
      const followed = (source: string, branch: string): FollowedRecord => ({ type: 'followed', source, repo: REPO, branch });
      await store.commit({ put: [{ key: followedKey('web'), value: encode(followed('web', 'main')) }, { key: followedKey('ops'), value: encode(followed('ops', 'ops')) }] });
      const body = push();
      const res = await fetch(`${api.url}/hooks/github`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${sign(body)}` }, body });
      expect(res.status).toBe(202);
      expect(await res.json()).toMatchObject({ sources: ['web'] });
      expect((await store.list(SYNC_REQUESTS)).entries.map((e) => e.key.slice(SYNC_REQUESTS.length))).toEqual(['web']);
    } finally {
      await api.stop();
      for (const e of (await store.list('')).entries) await store.commit({ del: [e.key] });
      await store.close();
    }
  });
});
