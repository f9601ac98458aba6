import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { templateHash, type PodTemplate } from '../../src/manifest/index.js';
import {
  EtcdStore, commitChunked, cordonKey, desiredKey, encode, eventKey, followedKey, historyKey, lostNodeKey, nodeKey, noteKey, outboxKey, podKey, sourceKey, statusKey,
  type EventRecord, type HistoryRecord, type NodeRecord, type OutboxRecord, type PodRecord, type PodStatusRecord, type SealRecord,
} from '../../src/store/index.js';
import { runBerth, spawnBerth, type BerthProcess } from '../support/berth.js';
import { uniqueName } from '../support/names.js';
import { waitFor } from '../support/wait.js';
import { deployment } from '../unit/controller/fixtures.js';

// `berth describe` against records written the way the components write them, in the harness etcd:
// read directly (--etcd) and through a `berth api`, which must print the same.
const base = deployment('web', { replicas: 2, namespace: 'shop' });
const container = base.spec.template.containers[0];
if (container === undefined) throw new Error('the fixture has no container');
const template: PodTemplate = {
  ...base.spec.template,
  containers: [{
    ...container,
    ports: [{ containerPort: 8080, protocol: 'TCP' }],
    resources: { requests: { cpu: 250, memory: 64 * 2 ** 20 }, limits: { memory: 128 * 2 ** 20 } },
    livenessProbe: { httpGet: { path: '/healthz', port: 8080, scheme: 'HTTP', httpHeaders: [] }, initialDelaySeconds: 5, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
  }],
};
const web = { ...base, spec: { ...base.spec, template } };
const hash = templateHash(template);
const C1 = 'c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1';
const minutesAgo = (m: number): string => new Date(Date.now() - m * 60_000).toISOString();

const pod = (index: number, node?: string): PodRecord => ({
  type: 'pod', namespace: 'shop', name: `web-${hash}-${index}`, owner: { source: 'main', kind: 'Deployment', name: 'web' },
  templateHash: hash, template, commit: C1, createdAt: minutesAgo(30), ...(node === undefined ? {} : { node }),
});
const crashed = pod(0, 'n1');
const pending = pod(1);
const crashedStatus: PodStatusRecord = {
  type: 'podStatus', node: 'n1', namespace: 'shop', pod: crashed.name, templateHash: hash, phase: 'Running', podIP: '10.88.0.2', hostIP: '10.0.0.7',
  containers: [{
    name: container.name, id: 'abc', state: 'waiting', reason: 'CrashLoopBackOff', message: 'back-off 20s restarting failed container', restarts: 2,
    lastState: { exitCode: 3, reason: 'Error', startedAt: '2026-11-30T10:00:00.000000001Z', finishedAt: '2026-11-30T10:00:05.000000001Z' },
  }],
  conditions: [{ type: 'Ready', status: 'False', reason: 'CrashLoopBackOff', message: 'container main is waiting', observedCommit: C1 }],
  observedAt: minutesAgo(1),
};
const n1: NodeRecord = {
  type: 'node', name: 'n1', labels: { 'berth.io/hostname': 'n1', zone: 'eu-1' }, capacity: { cpu: 2000, memory: 4 * 2 ** 30, pods: 110 }, address: '10.0.0.7', version: '0.1.0', startedAt: minutesAgo(5 * 60),
};
const applied: HistoryRecord = { type: 'history', source: 'main', commit: C1, outcome: 'applied', time: minutesAgo(50), author: 'Ada', message: 'add web\n\nwith two replicas', errors: [] };
const synced: OutboxRecord = { type: 'outbox', source: 'main', commit: C1, context: 'berth/sync', state: 'success', description: 'applied: 1 created', time: minutesAgo(50) };
const failing: OutboxRecord = { type: 'outbox', source: 'main', commit: C1, context: 'berth/health', state: 'failure', description: 'web/web-0 container main exited with code 3', time: minutesAgo(20) };
const backOff: EventRecord = { type: 'event', time: minutesAgo(20), component: 'agent/n1', reason: 'BackOff', message: 'Back-off restarting failed container main', object: `pod/shop/${crashed.name}`, severity: 'Warning' };
const lostEvent: EventRecord = { type: 'event', time: minutesAgo(15), component: 'node-lifecycle', reason: 'NodeNotReady', message: 'Node n2 status is now: NodeNotReady (its lease expired)', object: 'node/n2', severity: 'Warning' };

describe('berth describe', () => {
  const prefix = `/${uniqueName('describe')}`;
  let store: EtcdStore;
  let dataDir = '';
  let api: BerthProcess | undefined;
  const read = (...args: string[]): ReturnType<typeof runBerth> => runBerth(['describe', ...args, '--etcd', inject('etcdEndpoint'), '--prefix', prefix]);

  beforeAll(async () => {
    store = await EtcdStore.connect([inject('etcdEndpoint')], prefix);
    const { revision } = await store.commit({ put: [{ key: desiredKey('main', 'Deployment/shop/web'), value: encode({ type: 'desired', object: web, commit: C1 }) }] });
    const seal: SealRecord = { type: 'seal', source: 'main', commit: C1, revision, time: applied.time, author: 'Ada', message: applied.message, counts: { objects: 1, created: 1, updated: 0, deleted: 0 } };
    await commitChunked(store, [
      { key: sourceKey('main'), value: encode(seal) },
      { key: historyKey('main', 1), value: encode(applied) },
      { key: followedKey('main'), value: encode({ type: 'followed', source: 'main', repo: 'https://git.example.com/team/web.git', branch: 'main' }) },
      { key: noteKey('main', C1, '000000000001'), value: encode(synced) },
      { key: outboxKey('main', 2), value: encode(failing) },
      { key: podKey('shop', crashed.name), value: encode(crashed) },
      { key: podKey('shop', pending.name), value: encode(pending) },
      { key: statusKey('n1', 'shop', crashed.name), value: encode(crashedStatus) },
      { key: nodeKey('n1'), value: encode(n1) },
      { key: lostNodeKey('n2'), value: encode({ type: 'nodeLost', name: 'n2', since: minutesAgo(15), last: { ...n1, name: 'n2', labels: {} } }) },
      { key: cordonKey('n1'), value: encode({ type: 'cordon', name: 'n1', since: minutesAgo(3), drain: false }) },
      { key: eventKey(backOff.object, 'BackOff.test'), value: encode(backOff) },
      { key: eventKey(lostEvent.object, 'NodeNotReady.test'), value: encode(lostEvent) },
    ], []);
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-describe-'));
  });
  afterAll(async () => {
    await api?.stop();
    const { entries } = await store.list('');
    await commitChunked(store, [], entries.map((e) => e.key));
    await store.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('pod: containers with their state, last state (exit code, reason), restarts, resources and probes; conditions; events', async () => {
    const res = await read('pod', crashed.name, '-n', 'shop');
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const lines = res.stdout.split('\n');
    expect(lines.slice(0, 10)).toEqual([
      `Name:           ${crashed.name}`,
      'Namespace:      shop',
      'Source:         main',
      'Controlled By:  Deployment/web',
      'Node:           n1/10.0.0.7',
      expect.stringMatching(/^Created: {8}\S+ \(30m ago\)$/),
      'Status:         CrashLoopBackOff',
      'IP:             10.88.0.2',
      `Commit:         ${C1}`,
      `Template Hash:  ${hash}`,
    ]);
    expect(res.stdout).toContain([
      'Containers:',
      `  ${container.name}:`,
      `    Image:          ${container.image}`,
      '    Ports:          8080/TCP',
      '    State:          Waiting',
      '      Reason:     CrashLoopBackOff',
      '      Message:    back-off 20s restarting failed container',
      '    Last State:     Terminated',
      '      Reason:     Error',
      '      Exit Code:  3',
      '      Started:    2026-11-30T10:00:00.000000001Z',
      '      Finished:   2026-11-30T10:00:05.000000001Z',
      '    Ready:          False',
      '    Restart Count:  2',
      '    Limits:',
      '      memory:     128Mi',
      '    Requests:',
      '      cpu:        250m',
      '      memory:     64Mi',
      '    Liveness:       http-get http://:8080/healthz delay=5s timeout=1s period=10s #success=1 #failure=3',
      'Conditions:',
      '  Type    Status   Reason             Message',
      '  Ready   False    CrashLoopBackOff   container main is waiting',
      'Events:',
    ].join('\n'));
    expect(res.stdout).toMatch(/\n {2}Warning\s+BackOff\s+20m\s+agent\/n1\s+pod\/shop\/\S+\s+Back-off restarting failed container main\n$/);

    const json = JSON.parse((await read('pod', crashed.name, '-o', 'json')).stdout) as { containers: { lastState: unknown; restarts: number }[] };
    expect(json.containers[0]).toMatchObject({ restarts: 2, lastState: { exitCode: 3, reason: 'Error' } });
  });

  it('deployment: replicas, the commit in force with its statuses (delivered or waiting), conditions, pods, events', async () => {
    const res = await read('deployment', 'web');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('Replicas:          2 desired | 2 updated | 2 total | 0 available | 2 unavailable (0 ready)\n');
    expect(res.stdout).toContain('StrategyType:      RollingUpdate (maxSurge 25%, maxUnavailable 25%)\n');
    expect(res.stdout).toMatch(/\nCommit In Force: {3}c1c1c1c add web\n {2}Author:\s+Ada\n {2}Statuses:\n {4}Context\s+State\s+Time\s+Delivered\s+Description\n {4}berth\/sync\s+success\s+\S+\s+yes\s+applied: 1 created\n {4}berth\/health\s+failure\s+\S+\s+waiting\s+web\/web-0 container main exited with code 3\n/);
    expect(res.stdout).toMatch(/\n {2}Progressing\s+False\s+CrashLoopBackOff\s+pod web-\S+-0 is CrashLoopBackOff\n/);
    expect(res.stdout).toMatch(new RegExp(`\\n {2}${crashed.name}\\s+0/1\\s+CrashLoopBackOff\\s+2\\s+n1\\s+30m\\n {2}${pending.name}\\s+0/1\\s+Pending\\s+0\\s+<none>\\s+30m\\n`));
    expect(res.stdout).toMatch(/BackOff/);
  });

  it('node: capacity, allocatable, what its pods request, its lease, conditions, cordon; a lost node NotReady since its lease expired', async () => {
    const res = await read('node', 'n1');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('Status:         Ready,SchedulingDisabled\n');
    expect(res.stdout).toContain('Unschedulable:  True\nLease:\n  Held:    True\n');
    expect(res.stdout).toContain('Capacity:\n  cpu:     2\n  memory:  4Gi\n  pods:    110\nAllocatable:\n  cpu:     2\n  memory:  4Gi\n  pods:    110\n');
    expect(res.stdout).toMatch(/\n {2}cpu\s+250m \(13%\)\s+0 \(0%\)\n {2}memory\s+64Mi \(2%\)\s+128Mi \(3%\)\n {2}pods\s+1 \(1%\)\n/);
    const lost = await read('node', 'n2');
    expect(lost.code).toBe(0);
    expect(lost.stdout).toContain('Status:         NotReady\n');
    expect(lost.stdout).toMatch(/\nLease:\n {2}Held:\s+False\n {2}Lost Since:\s+\S+\n/);
    expect(lost.stdout).toMatch(/\n {2}Ready\s+Unknown\s+NodeStatusUnknown\s+its lease expired 15m ago/);
    expect(lost.stdout).toMatch(/\n {2}Warning\s+NodeNotReady\s+15m\s+node-lifecycle\s+node\/n2\s+Node n2 status is now: NodeNotReady/);
  });

  it('source: the repository followed, the commit in force and its statuses, deployments, history', async () => {
    const res = await read('source', 'main');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^Name:\s+main\nRepository:\s+https:\/\/git\.example\.com\/team\/web\.git\nBranch:\s+main\nCommit In Force:\s+c1c1c1c add web\n/);
    expect(res.stdout).toMatch(/\n {2}Applied:\s+\S+ \(50m ago\)\n/);
    expect(res.stdout).toMatch(/\nDeployments:\n {2}Namespace\s+Name\s+Ready\s+Up-to-date\s+Available\s+Commit\n {2}shop\s+web\s+0\/2\s+2\s+0\s+c1c1c1c\n/);
    expect(res.stdout).toMatch(/\nHistory:\n {2}Time\s+Commit\s+Outcome\s+Message\n {2}\S+\s+c1c1c1c\s+applied\s+add web\n/);
  });

  it.each([
    { args: ['pod', 'nope', '-n', 'shop'], line: 'berth: pod "nope" not found in namespace "shop"; list them with `berth get pods`' },
    { args: ['deploy', 'nope'], line: 'berth: deployment "nope" not found; list them with `berth get deployments`' },
    { args: ['node', 'nope'], line: 'berth: node "nope" not found; list them with `berth get nodes`' },
    { args: ['source', 'nope'], line: 'berth: source "nope" not found; list the sources with `berth status`' },
  ])('exits 1 with one line when $args.0 $args.1 does not exist', async ({ args, line }) => {
    const res = await read(...args);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr.trim()).toBe(line);
  });

  it('prints the same through a `berth api` (GET /api/v1/describe/…), and its 404 for a name not there', async () => {
    const tokenFile = path.join(dataDir, 'token');
    await fs.writeFile(tokenFile, 'describe-token\n', { mode: 0o600 });
    api = spawnBerth(['api', '--etcd', inject('etcdEndpoint'), '--prefix', prefix, '--listen', '127.0.0.1:0', '--token-file', tokenFile, '--data-dir', dataDir]);
    const url = await waitFor(async () => (await fs.readFile(path.join(dataDir, 'api-endpoint'), 'utf8').catch(() => '')).trim() || undefined, { timeoutMs: 30_000, what: 'the api-endpoint file' });
    for (const args of [['pod', crashed.name], ['deployment', 'web'], ['node', 'n1'], ['source', 'main']]) {
      const direct = await read(...args);
      const served = await runBerth(['describe', ...args, '--server', url]);
      expect(served.stderr).toBe('');
      // Ages may tick over a boundary between the two reads; everything else is the same.
      expect(served.stdout.replace(/\d+[smhd]\b/g, 'AGE')).toBe(direct.stdout.replace(/\d+[smhd]\b/g, 'AGE'));
    }
    const missing = await fetch(`${url}/api/v1/describe/pods?name=nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ code: 'ENOTFOUND', message: 'pod "nope" not found; list them with `berth get pods`' });
  });
});
