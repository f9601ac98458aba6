import { stat } from 'node:fs/promises';
import os from 'node:os';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startApi, type ApiServer } from '../../../src/api/server.js';
import { silentLogger } from '../../../src/log.js';
import {
  EtcdStore, encode, eventKey, historyKey, nodeKey, podKey, statusKey, syncErrorKey, syncRequestKey, type Store,
} from '../../../src/store/index.js';
import { applyCommit, deployment } from '../../unit/controller/fixtures.js';
import { node, pod } from '../../unit/scheduler/fixtures.js';
import { event, history, status } from '../../unit/api/fixtures.js';
import { uniqueName } from '../../support/names.js';
import { waitFor } from '../../support/wait.js';

const TOKEN = 'test-token-0123456789';

interface Answer {
  status: number;
  body: unknown;
  headers: Headers;
}

const put = async (store: Store, key: string, value: string): Promise<void> => {
  await store.commit({ put: [{ key, value }] });
};

/** The first IPv4 address of this machine that is not loopback: requests from it are not from loopback. */
function externalAddress(): string {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  throw new Error('this machine has no non-loopback IPv4 address to test remote reads from');
}

/**
 * A strict reader of the Prometheus text format: every line is a comment (HELP/TYPE) or
 * `name{labels} value`; returns the samples by `name{labels}` as written.
 */
function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const typed = new Set<string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const comment = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (comment) {
      if (comment[1] === 'TYPE') {
        expect(comment[3]).toMatch(/^(counter|gauge|histogram|summary|untyped)$/);
        typed.add(comment[2] ?? '');
      }
      continue;
    }
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    if (!sample) throw new Error(`not a Prometheus sample line: ${line}`);
    const name = sample[1] ?? '';
    const family = name.replace(/_(bucket|sum|count)$/, '');
    if (!typed.has(name) && !typed.has(family)) throw new Error(`sample without a TYPE line: ${line}`);
    samples.set(`${name}${sample[2] ?? ''}`, Number(sample[3]));
  }
  return samples;
}

describe('the API server over real etcd', () => {
  let store: Store;
  let api: ApiServer;
  let remote: ApiServer;
  let ready = true;

  const call = async (path: string, init: RequestInit = {}, base = api.url): Promise<Answer> => {
    const res = await fetch(`${base}${path}`, init);
    const text = await res.text();
    const json = (res.headers.get('content-type') ?? '').includes('json');
    return { status: res.status, body: json ? (JSON.parse(text) as unknown) : text, headers: res.headers };
  };

  beforeAll(async () => {
    store = await EtcdStore.connect([inject('etcdEndpoint')], `/${uniqueName('api')}`);
    await applyCommit(store, 'main', 'c1', [deployment('web', { replicas: 2 }), deployment('db', { namespace: 'data' })]);
    await put(store, historyKey('main', 1), encode(history('main', 'bad1', new Date().toISOString(), { outcome: 'rejected', errors: ['web.yaml:3:1: unknown field "spec.foo"'] })));
    await put(store, syncErrorKey('other'), encode({ type: 'syncError', source: 'other', code: 'EGITUNREACHABLE', message: 'cannot reach the repository', since: new Date().toISOString() }));
    const p = pod('web-1', { node: 'n1' });
    await put(store, podKey('default', 'web-1'), encode(p));
    await put(store, statusKey('n1', 'default', 'web-1'), encode(status(p)));
    await put(store, podKey('default', 'web-2'), encode(pod('web-2')));
    await put(store, nodeKey('n1'), encode(node('n1')));
    await put(store, eventKey('pod/default/web-1', 'started'), encode(event(new Date().toISOString(), 'Started')));
    api = await startApi({ store, log: silentLogger(), listen: { host: '127.0.0.1', port: 0 }, token: TOKEN, components: () => ({ sync: ready }) });
    remote = await startApi({ store, log: silentLogger(), listen: { host: '0.0.0.0', port: 0 }, token: TOKEN });
  });

  afterAll(async () => {
    await api?.stop();
    await remote?.stop();
    await store?.close();
  });

  it('lists sources with their seal, rejected commit, health and sync error', async () => {
    const { status: code, body } = await call('/api/v1/sources');
    expect(code).toBe(200);
    expect(body).toMatchObject({
      items: [
        {
          source: 'main', name: 'main', commit: 'c1', rejected: { commitSha: 'bad1', outcome: 'rejected', errors: ['web.yaml:3:1: unknown field "spec.foo"'] },
          deployments: [{ name: 'db', namespace: 'data' }, { name: 'web', namespace: 'default', ready: '1/2' }],
        },
        { source: 'other', error: { code: 'EGITUNREACHABLE', message: 'cannot reach the repository' }, deployments: [] },
      ],
    });
    expect((await call('/api/v1/sources?name=other')).body).toMatchObject({ items: [{ source: 'other' }] });
  });

  it.each([
    ['/api/v1/deployments', ['data/db', 'default/web']],
    ['/api/v1/deployments?namespace=data', ['data/db']],
    ['/api/v1/deployments?name=web', ['default/web']],
    ['/api/v1/pods', ['default/web-1', 'default/web-2']],
    ['/api/v1/pods?namespace=default&name=web-2', ['default/web-2']],
    ['/api/v1/pods?namespace=data', []],
    ['/api/v1/nodes', ['/n1']],
    ['/api/v1/nodes?name=n1', ['/n1']],
  ])('GET %s lists %j, as berth get does', async (path, names) => {
    const { status: code, body } = await call(path);
    expect(code).toBe(200);
    const items = (body as { items: { namespace?: string; name: string }[] }).items;
    expect(items.map((i) => `${i.namespace ?? ''}/${i.name}`)).toEqual(names);
  });

  it('gives each row the fields of `berth get -o json`', async () => {
    const pods = (await call('/api/v1/pods?name=web-1')).body;
    expect(pods).toEqual({ items: [expect.objectContaining({ name: 'web-1', status: 'Running', ready: '1/1', node: 'n1', deployment: 'web', source: 'main' })] });
    const nodes = (await call('/api/v1/nodes')).body;
    expect(nodes).toEqual({ items: [expect.objectContaining({ name: 'n1', status: 'Ready', pods: 1, maxPods: 110 })] });
  });

  it('lists history (per source, the newest n) and events', async () => {
    const all = (await call('/api/v1/history')).body as { items: { commitSha: string; outcome: string }[] };
    expect(all.items.map((h) => `${h.commitSha}:${h.outcome}`)).toEqual(['c1:applied', 'bad1:rejected']);
    const last = (await call('/api/v1/history?source=main&limit=1')).body as { items: { commitSha: string }[] };
    expect(last.items.map((h) => h.commitSha)).toEqual(['bad1']);
    expect((await call('/api/v1/history?source=nothing')).body).toEqual({ items: [] });
    expect((await call('/api/v1/events')).body).toEqual({ items: [expect.objectContaining({ reason: 'Started', object: 'pod/default/web-1', count: 1 })] });
  });

  it.each([
    ['/api/v1/pods?name=nope', 404, 'ENOTFOUND', /pod "nope" not found/],
    ['/api/v1/nodes?name=nope', 404, 'ENOTFOUND', /node "nope" not found/],
    ['/api/v1/sources?name=nope', 404, 'ENOTFOUND', /source "nope" not found/],
    ['/api/v1/pods?namespace=Not_A_Namespace', 400, 'EINVALID', /namespace must match pattern/],
    ['/api/v1/pods?name=' + 'a'.repeat(300), 400, 'EINVALID', /name must NOT have more than 253 characters/],
    ['/api/v1/pods?color=red', 400, 'EINVALID', /must NOT have additional properties/],
    ['/api/v1/nodes?namespace=default', 400, 'EINVALID', /must NOT have additional properties/],
    ['/api/v1/history?limit=0', 400, 'EINVALID', /limit must be >= 1/],
    ['/api/v1/history?limit=two', 400, 'EINVALID', /limit must be integer/],
    ['/api/v1/history?source=a%2Fb', 400, 'EINVALID', /source must match pattern/],
    ['/api/v1/events?watch=maybe', 400, 'EINVALID', /watch must be equal to one of the allowed values/],
    ['/api/v1/secrets', 404, 'ENOTFOUND', /no such endpoint: GET \/api\/v1\/secrets/],
  ])('GET %s answers %i with a JSON {code, message}', async (path, code, errorCode, message) => {
    const { status: got, body } = await call(path);
    expect(got).toBe(code);
    expect(body).toEqual({ code: errorCode, message: expect.stringMatching(message) });
  });

  it('serves the dashboard (its own script and style only) at /, a read like any other', async () => {
    const page = await call('/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self'/);
    expect(page.body).toContain('<script type="module" src="/dashboard/app.js"></script>');
    for (const [asset, type] of [['/dashboard/app.js', /^text\/javascript/], ['/dashboard/style.css', /^text\/css/]] as const) {
      const answer = await call(asset);
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toMatch(type);
    }
    expect((await call('/', {}, remote.url.replace('0.0.0.0', externalAddress()))).status).toBe(401);
    expect((await call('/?x=1')).status).toBe(400);
  });

  it('answers /healthz, and /readyz by etcd and the components', async () => {
    expect(await call('/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await call('/readyz')).toMatchObject({ status: 200, body: { ready: true, etcd: 'ok', components: { sync: true } } });
    ready = false;
    expect(await call('/readyz')).toMatchObject({ status: 503, body: { ready: false, etcd: 'ok', components: { sync: false } } });
    ready = true;
  });

  describe('the token', () => {
    const sync = (headers: Record<string, string> = {}, source = 'main'): Promise<Answer> => call(`/api/v1/sources/${source}/sync`, { method: 'POST', headers });

    it.each([
      ['no token', {}],
      ['a wrong token', { authorization: 'Bearer wrong-token' }],
      ['the token with a suffix', { authorization: `Bearer ${TOKEN}x` }],
      ['the token as Basic', { authorization: `Basic ${TOKEN}` }],
    ])('refuses a write with %s: 401, and nothing is written', async (_what, headers) => {
      // Nothing under this test's prefix changes (etcd's own revision moves with the other test files).
      const before = (await store.list('')).entries;
      const answer = await sync(headers);
      expect(answer.status).toBe(401);
      expect(answer.body).toEqual({ code: 'EUNAUTHORIZED', message: expect.stringMatching(/writes need the API token/) });
      expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(await store.get(syncRequestKey('main'))).toBeUndefined();
      expect((await store.list('')).entries).toEqual(before);
    });

    it('takes a write with the token: the sync request key of the source is put', async () => {
      const answer = await sync({ authorization: `Bearer ${TOKEN}` });
      expect(answer.status).toBe(202);
      expect(answer.body).toMatchObject({ source: 'main', requested: expect.any(String) });
      const entry = await store.get(syncRequestKey('main'));
      expect(entry?.modRevision).toBe((answer.body as { revision: number }).revision);
    });

    it('answers 404 for a source that does not exist, 400 for a name that cannot be one, and 413 for a body too large', async () => {
      const auth = { authorization: `Bearer ${TOKEN}` };
      expect(await sync(auth, 'nope')).toMatchObject({ status: 404, body: { code: 'ENOTFOUND', message: expect.stringMatching(/source "nope" not found/) } });
      expect(await sync(auth, '-bad-')).toMatchObject({ status: 400, body: { code: 'EINVALID' } });
      expect(await sync(auth, `a${'b'.repeat(252)}`)).toMatchObject({ status: 404, body: { code: 'ENOTFOUND' } });
      expect(await sync(auth, `a${'b'.repeat(253)}`)).toMatchObject({ status: 400, body: { code: 'EINVALID', message: expect.stringMatching(/must NOT have more than 253/) } });
      const big = await call('/api/v1/sources/main/sync', { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ pad: 'x'.repeat(100_000) }) });
      expect(big).toMatchObject({ status: 413, body: { code: 'FST_ERR_CTP_BODY_TOO_LARGE' } });
      expect(await store.get(syncRequestKey('nope'))).toBeUndefined();
    });

    it('keeps reads open on loopback but asks the token of other machines', async () => {
      const base = remote.url.replace('0.0.0.0', externalAddress());
      expect((await call('/api/v1/pods', {}, base)).status).toBe(401);
      expect((await call('/api/v1/pods', { headers: { authorization: 'Bearer wrong' } }, base)).status).toBe(401);
      expect((await call('/metrics', {}, base)).status).toBe(401);
      expect(await call('/api/v1/pods', { headers: { authorization: `Bearer ${TOKEN}` } }, base)).toMatchObject({ status: 200, body: { items: expect.any(Array) } });
      expect((await call('/healthz', {}, base)).status).toBe(200);
      expect((await call('/api/v1/pods', {}, remote.url.replace('0.0.0.0', '127.0.0.1'))).status).toBe(200);
    });
  });

  it('streams a change as a server-sent event, and stops watching when the client goes', async () => {
    const controller = new AbortController();
    const res = await fetch(`${api.url}/api/v1/pods?namespace=stream&watch=1`, { signal: controller.signal });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body?.getReader();
    if (!reader) throw new Error('no body');
    let text = '';
    const decoder = new TextDecoder();
    const until = async (pattern: RegExp): Promise<RegExpExecArray> =>
      waitFor(async () => {
        const m = pattern.exec(text);
        if (m) return m;
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended; got ${text}`);
        text += decoder.decode(value, { stream: true });
        return pattern.exec(text) ?? undefined;
      }, { what: `event ${pattern}`, timeoutMs: 15_000, intervalMs: 1 });
    await until(/event: snapshot\nid: \d+\ndata: \{"items":\[\]\}\n\n/);
    await put(store, podKey('stream', 'late-1'), encode(pod('late-1', { namespace: 'stream' })));
    const update = await until(/event: update\nid: (\d+)\ndata: (.*)\n\n/);
    expect(JSON.parse(update[2] ?? '')).toEqual({ items: [expect.objectContaining({ namespace: 'stream', name: 'late-1', status: 'Pending' })] });
    controller.abort();
    await reader.cancel().catch(() => undefined);
  });

  it('serves /metrics as Prometheus text with values read from etcd and its own requests', async () => {
    await call('/api/v1/nodes');
    const { status: code, body, headers } = await call('/metrics');
    expect(code).toBe(200);
    expect(headers.get('content-type')).toMatch(/^text\/plain/);
    const samples = parsePrometheus(body as string);
    const seal = ((await call('/api/v1/sources?name=main')).body as { items: { time: string }[] }).items[0]?.time ?? '';
    expect(samples.get('berth_source_last_applied_timestamp_seconds{source="main"}')).toBe(Date.parse(seal) / 1000);
    expect(samples.get('berth_source_commits{source="main",outcome="applied"}')).toBe(1);
    expect(samples.get('berth_source_commits{source="main",outcome="rejected"}')).toBe(1);
    expect(samples.get('berth_source_sync_stuck{source="other"}')).toBe(1);
    expect(samples.get('berth_source_sync_stuck{source="main"}')).toBe(0);
    expect(samples.get('berth_pods{phase="Running"}')).toBe(1);
    expect(samples.get('berth_pods{phase="Pending"}')).toBeGreaterThanOrEqual(1);
    expect(samples.get('berth_nodes')).toBe(1);
    expect(samples.get('berth_http_requests_total{method="GET",route="/api/v1/nodes",status_code="200"}')).toBeGreaterThanOrEqual(1);
    expect(samples.get('berth_http_request_duration_seconds_count{method="GET",route="/api/v1/nodes"}')).toBeGreaterThanOrEqual(1);
    expect(samples.get('berth_http_requests_total{method="POST",route="/api/v1/sources/:name/sync",status_code="401"}')).toBeGreaterThanOrEqual(1);
  });

  it('answers /readyz 503 once etcd is gone from under it', async () => {
    const gone = await EtcdStore.connect([inject('etcdEndpoint')], `/${uniqueName('api-gone')}`);
    const server = await startApi({ store: gone, log: silentLogger(), listen: { host: '127.0.0.1', port: 0 }, token: TOKEN });
    try {
      await gone.close();
      const answer = await call('/readyz', {}, server.url);
      expect(answer).toMatchObject({ status: 503, body: { ready: false } });
      expect((answer.body as { etcd: string }).etcd).not.toBe('ok');
    } finally {
      await server.stop();
    }
  });

  it('closes its etcd watches when the client of a stream goes', async () => {
    // The real store, with its watches counted: each watch() opened, each close() of one.
    let open = 0;
    const counting = new Proxy(store, {
      get(target, prop) {
        if (prop === 'watch') {
          return (...args: Parameters<Store['watch']>) => {
            const closer = target.watch(...args);
            open++;
            let closed = false;
            return {
              close: async () => {
                if (!closed) open--;
                closed = true;
                await closer.close();
              },
            };
          };
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const server = await startApi({ store: counting, log: silentLogger(), listen: { host: '127.0.0.1', port: 0 }, token: TOKEN });
    try {
      const controller = new AbortController();
      const res = await fetch(`${server.url}/api/v1/sources?watch=1`, { signal: controller.signal });
      expect(res.status).toBe(200);
      // sources/, history/, health/, syncerrors/, suspended/, pods/, status/, nodes/
      await waitFor(() => open === 8, { what: '8 watches open' });
      controller.abort();
      await waitFor(() => open === 0, { what: 'every watch closed after the client went' });
    } finally {
      await server.stop();
    }
  });

  it('stops at once with an open event stream', async () => {
    const server = await startApi({ store, log: silentLogger(), listen: { host: '127.0.0.1', port: 0 }, token: TOKEN });
    const res = await fetch(`${server.url}/api/v1/events?watch=true`);
    expect(res.status).toBe(200);
    const began = Date.now();
    await server.stop();
    expect(Date.now() - began).toBeLessThan(3_000);
    await res.body?.cancel().catch(() => undefined);
  });
});

it('keeps a token file it creates to its owner (mode 0600)', async () => {
  const { loadOrCreateToken } = await import('../../../src/api/token.js');
  const fs = await import('node:fs/promises');
  const dir = await fs.mkdtemp(`${os.tmpdir()}/berth-token-`);
  try {
    const file = `${dir}/nested/api-token`;
    const first = await loadOrCreateToken(file);
    expect(first.created).toBe(true);
    expect(first.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await loadOrCreateToken(file)).toEqual({ token: first.token, created: false });
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});
