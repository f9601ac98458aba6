import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startApi, type ApiServer } from '../../../src/api/server.js';
import { silentLogger } from '../../../src/log.js';
import { EtcdStore, encode, healthKey, outboxKey, rollbackRequestKey, suspensionKey, type OutboxRecord, type Store } from '../../../src/store/index.js';
import { applyCommit, discardReporter, drainOutbox, recordRejected, type HeadCommit } from '../../../src/sync/index.js';
import { deployment } from '../../unit/controller/fixtures.js';
import { uniqueName } from '../../support/names.js';

const TOKEN = 'control-token-0123456789';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const sha = (start: string): string => start.padEnd(40, '0');
const head = (start: string, message: string): HeadCommit => ({ commit: sha(start), author: 'Ada <ada@example.org>', message, time: '2030-01-01T00:00:00.000Z' });
const T0 = Date.parse('2030-01-01T00:00:00.000Z');
const at = (s: number): Date => new Date(T0 + s * 1000);
const health = (commit: string, state: OutboxRecord['state'], description: string, s: number): OutboxRecord => ({
  type: 'outbox', source: 'main', commit: sha(commit), context: 'berth/health', state, description, time: at(s).toISOString(),
});

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

describe('suspend (--at), resume, rollback and a commit\'s story, through the API over real etcd', () => {
  let store: Store;
  let api: ApiServer;

  const call = async (path: string, init: RequestInit = {}): Promise<Answer> => {
    const res = await fetch(`${api.url}${path}`, init);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const post = (path: string, body?: unknown, headers: Record<string, string> = AUTH): Promise<Answer> =>
    call(path, { method: 'POST', headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

  beforeAll(async () => {
    store = await EtcdStore.connect([inject('etcdEndpoint')], `/${uniqueName('control')}`);
    // main: a1 applied, b2 rejected, abc applied (a drift and its heal, delivered), c3 applied and in force (its statuses still pending).
    await applyCommit(store, 'main', head('a1', 'first'), [deployment('web')], at(0));
    await recordRejected(store, 'main', head('b2', 'broken'), ['web.yaml:3:1: unknown field "spec.foo"'], at(10));
    await applyCommit(store, 'main', head('abc', 'second'), [deployment('web', { replicas: 2 })], at(20));
    for (const [i, h] of [health('abc', 'failure', 'drift: default/web-x container web removed', 30), health('abc', 'success', 'healed: default/web-x; 2/2 ready', 34)].entries()) {
      await store.commit({ put: [{ key: outboxKey('main', 900_000 + i), value: encode(h) }] });
    }
    await drainOutbox({ store, log: silentLogger(), source: 'main', reporter: discardReporter });
    await applyCommit(store, 'main', head('c3', 'third'), [deployment('web', { replicas: 3 })], at(40));
    await store.commit({
      put: [{ key: healthKey('main'), value: encode({ type: 'health', source: 'main', commit: sha('c3'), state: 'pending', reason: 'RollingOut', description: 'rolling out: 1/3 ready', conditions: [], time: at(41).toISOString() }) }],
    });
    api = await startApi({ store, log: silentLogger(), listen: { host: '127.0.0.1', port: 0 }, token: TOKEN, rollbackWaitMs: 1_000 });
  });

  afterAll(async () => {
    await api?.stop();
    if (store) {
      for (const e of (await store.list('')).entries) await store.commit({ del: [e.key] });
      await store.close();
    }
  });

  it.each([
    ['suspend', undefined],
    ['resume', undefined],
    ['suspend', { commit: 'a100' }],
    ['rollback', { commit: 'a100' }],
  ])('refuses %s without the token: 401, and nothing is written', async (verb, body) => {
    const before = (await store.list('')).entries;
    for (const headers of [{}, { authorization: 'Bearer wrong' }] as Record<string, string>[]) {
      const answer = await post(`/api/v1/sources/main/${verb}`, body, headers);
      expect(answer).toEqual({ status: 401, body: { code: 'EUNAUTHORIZED', message: expect.stringMatching(/writes need the API token/) } });
    }
    expect((await store.list('')).entries).toEqual(before);
  });

  it('suspends once (a second suspend changes nothing), shows it on the source, and resumes', async () => {
    const first = await post('/api/v1/sources/main/suspend');
    expect(first).toEqual({ status: 200, body: { source: 'main', changed: true, suspended: { since: expect.any(String), age: expect.any(String) } } });
    const again = await post('/api/v1/sources/main/suspend');
    expect(again.body).toMatchObject({ changed: false, suspended: { since: (first.body.suspended as { since: string }).since } });
    expect((await call('/api/v1/sources?name=main')).body).toMatchObject({ items: [{ source: 'main', suspended: { since: expect.any(String) } }] });

    expect(await post('/api/v1/sources/main/resume')).toEqual({ status: 200, body: { source: 'main', changed: true, suspended: null } });
    expect(await store.get(suspensionKey('main'))).toBeUndefined();
    expect((await call('/api/v1/sources?name=main')).body).toEqual({ items: [expect.not.objectContaining({ suspended: expect.anything() })] });
    expect((await post('/api/v1/sources/main/resume')).body).toMatchObject({ changed: false });
  });

  it('suspends at an applied commit named by the start of its id: the source is pinned on it until resume', async () => {
    const answer = await post('/api/v1/sources/main/suspend', { commit: 'A100' });
    expect(answer).toEqual({ status: 200, body: { source: 'main', commit: sha('a1'), changed: true, suspended: expect.objectContaining({ commit: 'a100000', commitSha: sha('a1') }) } });
    expect((await call('/api/v1/sources?name=main')).body).toMatchObject({ items: [{ suspended: { commitSha: sha('a1') } }] });
    // A plain suspend keeps the pinned commit.
    expect((await post('/api/v1/sources/main/suspend')).body).toMatchObject({ changed: false, suspended: { commitSha: sha('a1') } });
    expect((await call('/api/v1/sources/main/commits/a1000')).body).toMatchObject({ pinned: true, inForce: false });
    await post('/api/v1/sources/main/resume');
  });

  it.each([
    ['a rejected commit', { commit: 'b200' }, 400, 'EPIN', /commit "b200" of source main was rejected, never applied/],
    ['a commit never seen', { commit: 'dddd' }, 404, 'ENOTFOUND', /commit "dddd" was never applied to source main; pick one `berth history --source main` shows as applied/],
    ['a start shorter than 4 digits', { commit: 'a1' }, 400, 'EINVALID', /commit must match pattern/],
    ['a commit that is no id', { commit: 'main~1' }, 400, 'EINVALID', /commit must match pattern/],
    ['another field', { commit: 'a100', force: true }, 400, 'EINVALID', /must NOT have additional properties/],
  ])('refuses to suspend at %s: %i %s, nothing written', async (_what, body, code, errorCode, message) => {
    const answer = await post('/api/v1/sources/main/suspend', body);
    expect(answer).toEqual({ status: code, body: { code: errorCode, message: expect.stringMatching(message) } });
    expect(await store.get(suspensionKey('main'))).toBeUndefined();
  });

  it('refuses a start of an id that names two applied commits', async () => {
    await applyCommit(store, 'two', head('abcd1', 'one'), [], at(0));
    await applyCommit(store, 'two', head('abcd2', 'two'), [], at(1));
    expect(await post('/api/v1/sources/two/suspend', { commit: 'abcd' })).toEqual({ status: 400, body: { code: 'EAMBIGUOUS', message: 'commit "abcd" names 2 commits of source two; give more of its id' } });
    expect((await call('/api/v1/sources/two/commits/abcd')).status).toBe(400);
  });

  it.each([
    ['no commit', {}, /must NOT have fewer than 1 properties/],
    ['both a commit and --to', { commit: 'a100', to: 'a100' }, /must NOT have more than 1 properties/],
    ['a commit that is no id', { to: 'main~1' }, /to must match pattern/],
    ['another field', { force: true }, /must NOT have additional properties/],
  ])('refuses a rollback with %s: 400, nothing written', async (_what, body, message) => {
    const before = (await store.list('')).entries;
    expect(await post('/api/v1/sources/main/rollback', body)).toEqual({ status: 400, body: { code: 'EINVALID', message: expect.stringMatching(message) } });
    expect((await store.list('')).entries).toEqual(before);
  });

  it('answers a rollback no sync serves with 503 once it waited, and withdraws it (the sync side: test/integration/sync/rollback.test.ts)', async () => {
    const answer = await post('/api/v1/sources/main/rollback', { to: 'a100' });
    expect(answer).toEqual({ status: 503, body: { code: 'ESYNCTIMEOUT', message: expect.stringMatching(/^the sync of source main did not answer within 1 s; the rollback was withdrawn; is its `berth sync`/) } });
    expect(await store.get(rollbackRequestKey('main'))).toBeUndefined();
  });

  it.each([
    ['/api/v1/sources/nope/suspend', 404, 'ENOTFOUND', /source "nope" not found/],
    ['/api/v1/sources/-bad-/resume', 400, 'EINVALID', /name must match pattern/],
    ['/api/v1/sources/main/suspend?now=1', 400, 'EINVALID', /must NOT have additional properties/],
  ])('POST %s answers %i %s', async (path, code, errorCode, message) => {
    expect(await post(path)).toEqual({ status: code, body: { code: errorCode, message: expect.stringMatching(message) } });
  });

  it('tells a commit\'s story: each time sync looked at it, its statuses kept from the outbox, its drift and heal', async () => {
    const { status, body } = await call('/api/v1/sources/main/commits/abc0');
    expect(status).toBe(200);
    expect(body).toEqual({
      source: 'main', commit: 'abc0000', commitSha: sha('abc'), author: 'Ada <ada@example.org>', message: 'second', inForce: false, pinned: false,
      history: [expect.objectContaining({ commitSha: sha('abc'), outcome: 'applied', counts: { objects: 1, created: 0, updated: 1, deleted: 0 } })],
      statuses: [
        { context: 'berth/sync', state: 'success', description: 'applied: 1 object, 0 created, 1 updated, 0 deleted', time: at(20).toISOString(), delivered: true },
        { context: 'berth/health', state: 'failure', description: 'drift: default/web-x container web removed', time: at(30).toISOString(), delivered: true },
        { context: 'berth/health', state: 'success', description: 'healed: default/web-x; 2/2 ready', time: at(34).toISOString(), delivered: true },
      ],
      drift: [{ drifted: at(30).toISOString(), description: 'drift: default/web-x container web removed', healed: at(34).toISOString(), healDescription: 'healed: default/web-x; 2/2 ready', healSeconds: 4 }],
    });
  });

  it('tells the story of the commit in force: its health, and statuses still waiting to be delivered', async () => {
    const { body } = await call(`/api/v1/sources/main/commits/${sha('c3')}`);
    expect(body).toMatchObject({
      commitSha: sha('c3'), inForce: true, health: { state: 'pending', description: 'rolling out: 1/3 ready' },
      statuses: [{ context: 'berth/sync', state: 'success', delivered: false }], drift: [],
    });
    const rejected = await call('/api/v1/sources/main/commits/b200');
    expect(rejected.body).toMatchObject({ history: [{ outcome: 'rejected', errors: ['web.yaml:3:1: unknown field "spec.foo"'] }], statuses: [{ state: 'failure', delivered: true }] });
  });

  it.each([
    ['/api/v1/sources/main/commits/eeee', 404, 'ENOTFOUND', /commit "eeee" not found in the history of source main; list them with `berth history --source main`/],
    ['/api/v1/sources/main/commits/xyz1', 400, 'EINVALID', /commit must match pattern/],
    ['/api/v1/sources/nope/commits/a1a1', 404, 'ENOTFOUND', /source "nope" not found/],
    ['/api/v1/sources/main/commits/a1a1?watch=1', 400, 'EINVALID', /must NOT have additional properties/],
  ])('GET %s answers %i %s', async (path, code, errorCode, message) => {
    expect(await call(path)).toEqual({ status: code, body: { code: errorCode, message: expect.stringMatching(message) } });
  });
});
