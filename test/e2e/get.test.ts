import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { templateHash } from '../../src/manifest/index.js';
import {
  EtcdStore, commitChunked, desiredKey, encode, endpointsKey, eventKey, historyKey, nodeKey, podKey, sourceKey, statusKey, syncErrorKey,
  type EndpointsRecord, type EventRecord, type HistoryRecord, type NodeRecord, type PodRecord, type PodStatusRecord, type SealRecord, type SyncErrorRecord,
} from '../../src/store/index.js';
import { runBerth } from '../support/berth.js';
import { uniqueName } from '../support/names.js';
import { deployment } from '../unit/controller/fixtures.js';

// The read commands against records written the way the components write them, in the harness etcd.
const web = deployment('web', { replicas: 2, namespace: 'shop' });
const hash = templateHash(web.spec.template);
const C1 = 'c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1';
const C2 = 'badbadbadbadbadbadbadbadbadbadbadbadbad0';
// Ages of ten minutes and more carry no seconds, so they hold still while the test runs.
const minutesAgo = (m: number): string => new Date(Date.now() - m * 60_000).toISOString();

const pod = (index: number, node?: string): PodRecord => ({
  type: 'pod',
  namespace: 'shop',
  name: `web-${hash}-${index}`,
  owner: { source: 'main', kind: 'Deployment', name: 'web' },
  templateHash: hash,
  template: web.spec.template,
  commit: C1,
  createdAt: minutesAgo(30),
  ...(node === undefined ? {} : { node }),
});
const running = pod(0, 'n1');
const pending = pod(1);
const runningStatus: PodStatusRecord = {
  type: 'podStatus', node: 'n1', namespace: 'shop', pod: running.name, templateHash: hash, phase: 'Running',
  containers: [{ name: 'main', id: 'abc', state: 'running', restarts: 2 }],
  conditions: [{ type: 'Ready', status: 'True', reason: 'ContainersReady', message: '1/1 containers running', observedCommit: C1 }],
  observedAt: minutesAgo(1),
};
const n1: NodeRecord = {
  type: 'node', name: 'n1', labels: { 'berth.io/hostname': 'n1', zone: 'eu-1' }, capacity: { cpu: 2000, memory: 4 * 2 ** 30, pods: 110 }, address: '10.0.0.7', version: '0.1.0', startedAt: minutesAgo(5 * 60),
};
const applied: HistoryRecord = {
  type: 'history', source: 'main', commit: C1, outcome: 'applied', time: minutesAgo(50), author: 'Ada', message: 'add web\n\nwith two replicas', errors: [],
};
const rejected: HistoryRecord = {
  type: 'history', source: 'main', commit: C2, outcome: 'rejected', time: minutesAgo(40), author: 'Bob', message: 'break web',
  errors: ['web.yaml:7:9: spec.replicas must be a number', 'web.yaml:9:3: unknown field "foo"'],
};
const webSvc: EndpointsRecord = {
  type: 'endpoints', namespace: 'shop', service: 'web', source: 'main', serviceType: 'NodePort', headless: false,
  ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 30080 }],
  endpoints: [{ pod: running.name, node: 'n1', podIP: '10.88.0.2', hostIP: '10.0.0.7', ports: [{ name: 'http', containerPort: 8080, hostPort: 32001 }] }],
};
const drifted: EventRecord = { type: 'event', time: minutesAgo(20), component: 'agent', reason: 'Drifted', message: 'container main was removed', object: `pod/shop/${running.name}` };

describe('berth get, history, events, status', () => {
  const prefix = `/${uniqueName('get')}`;
  let store: EtcdStore;
  let dataDir = '';
  const read = (...args: string[]): ReturnType<typeof runBerth> => runBerth([...args, '--etcd', inject('etcdEndpoint'), '--prefix', prefix]);
  const json = async <T>(...args: string[]): Promise<T> => {
    const res = await read(...args, '-o', 'json');
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    return JSON.parse(res.stdout) as T;
  };

  beforeAll(async () => {
    store = await EtcdStore.connect([inject('etcdEndpoint')], prefix);
    const { revision } = await store.commit({ put: [{ key: desiredKey('main', `Deployment/shop/web`), value: encode({ type: 'desired', object: web, commit: C1 }) }] });
    const seal: SealRecord = {
      type: 'seal', source: 'main', commit: C1, revision, time: applied.time, author: 'Ada', message: applied.message,
      counts: { objects: 1, created: 1, updated: 0, deleted: 0 },
    };
    await commitChunked(
      store,
      [
        { key: sourceKey('main'), value: encode(seal) },
        { key: historyKey('main', 1), value: encode(applied) },
        { key: historyKey('main', 2), value: encode(rejected) },
        { key: podKey('shop', running.name), value: encode(running) },
        { key: podKey('shop', pending.name), value: encode(pending) },
        { key: statusKey('n1', 'shop', running.name), value: encode(runningStatus) },
        { key: nodeKey('n1'), value: encode(n1) },
        { key: endpointsKey('shop', 'web'), value: encode(webSvc) },
        { key: eventKey(drifted.object, 'Drifted.test'), value: encode(drifted) },
      ],
      [],
    );
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-get-'));
  });
  afterAll(async () => {
    const { entries } = await store.list('');
    await commitChunked(store, [], entries.map((e) => e.key));
    await store.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('get pods -o json: every namespace, READY and STATUS from the agent\'s status', async () => {
    const { items } = await json<{ items: Record<string, unknown>[] }>('get', 'pods');
    expect(items).toEqual([
      expect.objectContaining({ namespace: 'shop', name: running.name, ready: '1/1', status: 'Running', restarts: 2, node: 'n1', age: '30m', commit: 'c1c1c1c', deployment: 'web', source: 'main' }),
      expect.objectContaining({ namespace: 'shop', name: pending.name, ready: '0/1', status: 'Pending', restarts: 0 }),
    ]);
    expect(items[1]).not.toHaveProperty('node');
  });

  it('get pods: an aligned table with UPPERCASE headers', async () => {
    const res = await read('get', 'pods');
    expect(res.code).toBe(0);
    const [header, ...rows] = res.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+NODE\s+DEPLOYMENT\s+COMMIT$/);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(new RegExp(`^shop\\s+${running.name}\\s+1/1\\s+Running\\s+2\\s+30m\\s+n1\\s+web\\s+c1c1c1c$`));
    expect(rows[1]).toMatch(/\s+<none>\s+/);
    // Aligned: every row's READY starts where the header's does.
    const col = header?.indexOf('READY');
    for (const r of rows) expect(r.slice(col).startsWith(/\d\/\d/.exec(r)?.[0] ?? '?')).toBe(true);
  });

  it('get pod NAME -n NS -o yaml: the one object; -n hides the NAMESPACE column', async () => {
    const one = await read('get', 'pod', running.name, '-n', 'shop', '-o', 'yaml');
    expect(one.code).toBe(0);
    expect(parse(one.stdout)).toMatchObject({ name: running.name, status: 'Running', containers: [{ name: 'main', state: 'running', restarts: 2 }] });
    const table = await read('get', 'pods', '-n', 'shop');
    expect(table.stdout).toMatch(/^NAME\s+READY\s+STATUS/);
    const none = await read('get', 'pods', '-n', 'other');
    expect(none).toMatchObject({ code: 0, stdout: '', stderr: 'No resources found in namespace "other".\n' });
  });

  it('get deployments: ready of replicas, up to date, available', async () => {
    const { items } = await json<{ items: unknown[] }>('get', 'deployments');
    expect(items).toEqual([
      expect.objectContaining({ namespace: 'shop', name: 'web', source: 'main', ready: '1/2', replicas: 2, upToDate: 2, available: 1, commit: 'c1c1c1c', images: ['nginx:1.27'] }),
    ]);
    const res = await read('get', 'deploy');
    expect(res.stdout).toMatch(/^NAMESPACE\s+NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+SOURCE\s+COMMIT\nshop\s+web\s+1\/2\s+2\s+1\s+main\s+c1c1c1c\n$/);
  });

  it('get services and endpoints: ports with their node port, the ready pods\' addresses', async () => {
    const svc = await read('get', 'svc');
    expect(svc.stdout).toMatch(/^NAMESPACE\s+NAME\s+TYPE\s+CLUSTER-IP\s+PORT\(S\)\s+ENDPOINTS\s+SOURCE\nshop\s+web\s+NodePort\s+<name>\s+80:30080\/TCP\s+1\s+main\n$/);
    const ep = await read('get', 'endpoints', '-n', 'shop');
    expect(ep.stdout).toMatch(/^NAME\s+ENDPOINTS\nweb\s+10\.88\.0\.2:8080\n$/);
    const one = await json<Record<string, unknown>>('get', 'service', 'web', '-n', 'shop');
    expect(one).toMatchObject({ name: 'web', type: 'NodePort', ports: ['80:30080/TCP'], pods: [{ pod: running.name, node: 'n1', podIP: '10.88.0.2', hostIP: '10.0.0.7' }] });
  });

  it('get nodes', async () => {
    const res = await read('get', 'nodes');
    expect(res.stdout).toMatch(/^NAME\s+STATUS\s+PODS\s+CPU\s+MEMORY\s+ADDRESS\s+VERSION\s+AGE\s+LABELS\nn1\s+Ready\s+1\/110\s+2\s+4Gi\s+10\.0\.0\.7\s+0\.1\.0\s+5h\s+berth\.io\/hostname=n1,zone=eu-1\n$/);
  });

  it('history: newest last; a rejected commit\'s errors in json, their count in the table', async () => {
    const { items } = await json<{ items: unknown[] }>('history', '--source', 'main');
    expect(items).toEqual([
      expect.objectContaining({ source: 'main', commit: 'c1c1c1c', commitSha: C1, outcome: 'applied', author: 'Ada', message: 'add web', errors: [] }),
      expect.objectContaining({ commit: 'badbadb', outcome: 'rejected', author: 'Bob', errors: rejected.errors }),
    ]);
    const res = await read('history');
    const lines = res.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TIME\s+SOURCE\s+COMMIT\s+OUTCOME\s+ERRORS\s+AUTHOR\s+MESSAGE$/);
    expect(lines[2]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+main\s+badbadb\s+rejected\s+2\s+Bob\s+break web$/);
  });

  it('events', async () => {
    const { items } = await json<{ items: unknown[] }>('events');
    expect(items).toEqual([expect.objectContaining({ reason: 'Drifted', lastSeen: '20m', object: `pod/shop/${running.name}`, message: drifted.message })]);
  });

  it('status: the commit in force, the newer rejected one, the deployments', async () => {
    const res = await read('status');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^source main\n {2}commit: +c1c1c1c add web \(Ada, 50m ago, .*Z\)\n {2}rejected: +badbadb break web \(2 errors; see `berth history --source main -o yaml`\)\n/);
    expect(res.stdout).toMatch(/\n {2}NAMESPACE\s+NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+COMMIT\n {2}shop\s+web\s+1\/2\s+2\s+1\s+c1c1c1c\n$/);
    const { sources } = await json<{ sources: unknown[] }>('status');
    expect(sources).toEqual([expect.objectContaining({ source: 'main', commitSha: C1, rejected: expect.objectContaining({ commitSha: C2 }) })]);
  });

  it('status: a source whose sync is stuck shows its error beside the commit in force', async () => {
    const stuck: SyncErrorRecord = {
      type: 'syncError', source: 'main', code: 'EREPOUNREACHABLE', since: new Date(Date.now() - 90_000).toISOString(),
      message: 'cannot reach repository http://127.0.0.1:9/x.git: connect ECONNREFUSED; check the URL and that the Git server is up',
    };
    await store.commit({ put: [{ key: syncErrorKey('main'), value: encode(stuck) }] });
    try {
      const res = await read('status');
      expect(res.code).toBe(0);
      expect(res.stdout).toMatch(/^source main\n {2}commit: +c1c1c1c .*\n {2}error: +cannot reach repository http:\/\/127\.0\.0\.1:9\/x\.git: connect ECONNREFUSED; check the URL and that the Git server is up \(for 9\ds; sync keeps retrying\)\n/);
      const { sources } = await json<{ sources: unknown[] }>('status');
      expect(sources).toEqual([expect.objectContaining({ source: 'main', error: expect.objectContaining({ code: 'EREPOUNREACHABLE', since: stuck.since }) })]);
    } finally {
      await store.commit({ del: [syncErrorKey('main')] });
    }
  });

  it('finds the etcd of `berth up` through --data-dir', async () => {
    await fs.mkdir(path.join(dataDir, 'etcd'), { recursive: true });
    await fs.writeFile(path.join(dataDir, 'etcd', 'endpoint'), `${inject('etcdEndpoint')}\n`);
    const res = await runBerth(['get', 'nodes', '-o', 'json', '--data-dir', dataDir, '--prefix', prefix]);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({ items: [expect.objectContaining({ name: 'n1' })] });
  });

  const oneLine = (res: Awaited<ReturnType<typeof runBerth>>, line: RegExp, code: number): void => {
    expect(res.code).toBe(code);
    expect(res.stdout).toBe('');
    const lines = res.stderr.split('\n').filter((l) => l.trim() !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(line);
  };

  describe('one line on stderr, exit 1', () => {
    it.each([
      { name: 'a pod that does not exist', args: (): string[] => ['get', 'pods', 'nope', '--etcd', inject('etcdEndpoint'), '--prefix', prefix], line: /^berth: pod "nope" not found; list them with `berth get pods`$/ },
      {
        name: 'a deployment not in that namespace',
        args: (): string[] => ['get', 'deployment', 'web', '-n', 'blog', '--etcd', inject('etcdEndpoint'), '--prefix', prefix],
        line: /^berth: deployment "web" not found in namespace "blog"; list them with `berth get deployments`$/,
      },
      { name: 'an unknown kind', args: (): string[] => ['get', 'ingresses', '--etcd', inject('etcdEndpoint'), '--prefix', prefix], line: /^berth: unknown kind "ingresses"; berth get knows pods, deployments, services, endpoints and nodes$/ },
      { name: 'an unreachable --etcd', args: (): string[] => ['get', 'pods', '--etcd', 'http://127.0.0.1:9'], line: /^berth: cannot reach etcd at http:\/\/127\.0\.0\.1:9; start etcd there, or check --etcd$/ },
      {
        name: 'a stale endpoint file',
        args: async (): Promise<string[]> => {
          const stale = path.join(dataDir, 'stale');
          await fs.mkdir(path.join(stale, 'etcd'), { recursive: true });
          await fs.writeFile(path.join(stale, 'etcd', 'endpoint'), 'http://127.0.0.1:9\n');
          return ['history', '--data-dir', stale];
        },
        line: /^berth: cannot reach etcd at http:\/\/127\.0\.0\.1:9 \(named in .*stale\/etcd\/endpoint\); is `berth up` still running\? start it, or pass --etcd$/,
      },
    ])('$name', async ({ name, args, line }) => {
      // An unknown kind is a usage error (2); a name not found or an etcd not reached, a failure (1).
      oneLine(await runBerth(await args()), line, name === 'an unknown kind' ? 2 : 1);
    });
  });
});
