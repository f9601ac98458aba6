import { describe, expect, it } from 'vitest';
import { templateHash } from '../../../src/manifest/index.js';
import type { HealthRecord, PodRecord, PodStatusRecord, SyncErrorRecord } from '../../../src/store/records.js';
import { deploymentViews, eventViews, historyViews, nodeViews, podViews, statusViews, type SealedDeployment } from '../../../src/api/views.js';
import { deployment } from '../controller/fixtures.js';
import { node, pod } from '../scheduler/fixtures.js';
import { NOW, ago, event, history, seal, status, type StatusShape } from './fixtures.js';

const bound = (name: string, over: Partial<PodRecord> = {}): PodRecord => ({ ...pod(name, { node: 'n1' }), createdAt: ago(45), ...over });

describe('podViews: READY and STATUS as kubectl shows a pod', () => {
  const twoContainers = (p: PodRecord): PodRecord => ({
    ...p,
    template: { ...p.template, containers: [...p.template.containers, { ...p.template.containers[0], name: 'side' } as PodRecord['template']['containers'][number]] },
  });

  it.each<{ name: string; pod: PodRecord; status?: StatusShape; nodes?: string[]; want: { ready: string; status: string; restarts: number } }>([
    { name: 'unbound', pod: pod('a'), want: { ready: '0/1', status: 'Pending', restarts: 0 } },
    { name: 'bound, no status yet', pod: bound('a'), want: { ready: '0/1', status: 'Pending', restarts: 0 } },
    { name: 'running', pod: bound('a'), status: {}, want: { ready: '1/1', status: 'Running', restarts: 0 } },
    {
      name: 'running, its readiness probe failing',
      pod: bound('a'),
      status: { containers: [{ state: 'running', ready: false }], ready: { status: 'False', reason: 'ContainersNotReady' } },
      want: { ready: '0/1', status: 'Running', restarts: 0 },
    },
    { name: 'a status of an older template', pod: bound('a'), status: { templateHash: 'old' }, want: { ready: '0/1', status: 'Pending', restarts: 0 } },
    { name: 'a status from the node it left', pod: bound('a'), status: { node: 'n0' }, want: { ready: '0/1', status: 'Pending', restarts: 0 } },
    {
      name: 'crash looping',
      pod: bound('a'),
      status: { containers: [{ state: 'waiting', restarts: 4 }], ready: { reason: 'CrashLoopBackOff' } },
      want: { ready: '0/1', status: 'CrashLoopBackOff', restarts: 4 },
    },
    {
      name: 'crash looping after an OOM kill (the agent\'s own words)',
      pod: bound('a'),
      status: { containers: [{ state: 'exited', exitCode: 137, reason: 'CrashLoopBackOff', lastState: { exitCode: 137, reason: 'OOMKilled' }, restarts: 2 }], ready: { reason: 'CrashLoopBackOff' } },
      want: { ready: '0/1', status: 'CrashLoopBackOff', restarts: 2 },
    },
    {
      name: 'just ended, before its restart: how it ended',
      pod: bound('a'),
      status: { containers: [{ state: 'exited', exitCode: 137, reason: 'OOMKilled' }], ready: { reason: 'ContainersNotReady' } },
      want: { ready: '0/1', status: 'OOMKilled', restarts: 0 },
    },
    {
      name: 'ended with an error',
      pod: bound('a'),
      status: { containers: [{ state: 'exited', exitCode: 1, reason: 'Error' }], ready: { reason: 'ContainersNotReady' } },
      want: { ready: '0/1', status: 'Error', restarts: 0 },
    },
    {
      name: 'image not pulled',
      pod: bound('a'),
      status: { containers: [{ state: 'waiting' }], ready: { reason: 'ErrImagePull' } },
      want: { ready: '0/1', status: 'ErrImagePull', restarts: 0 },
    },
    {
      name: 'image pull backing off',
      pod: bound('a'),
      status: { containers: [{ state: 'waiting' }], ready: { reason: 'ImagePullBackOff' } },
      want: { ready: '0/1', status: 'ImagePullBackOff', restarts: 0 },
    },
    {
      name: 'image being pulled',
      pod: bound('a'),
      status: { containers: [{ state: 'waiting' }], ready: { reason: 'ContainerCreating' } },
      want: { ready: '0/1', status: 'ContainerCreating', restarts: 0 },
    },
    {
      name: 'finished (restartPolicy Never)',
      pod: bound('a'),
      status: { phase: 'Failed', containers: [{ state: 'exited', exitCode: 1 }], ready: { reason: 'PodFailed' } },
      want: { ready: '0/1', status: 'Failed', restarts: 0 },
    },
    {
      name: 'drifted, being healed',
      pod: bound('a'),
      status: { containers: [{ state: 'waiting', restarts: 1 }], drifted: {} },
      want: { ready: '0/1', status: 'Drifted', restarts: 1 },
    },
    {
      name: 'drift healed',
      pod: bound('a'),
      status: { containers: [{ restarts: 1 }], drifted: { status: 'False', reason: 'Healed' } },
      want: { ready: '1/1', status: 'Running', restarts: 1 },
    },
    {
      name: 'one of two containers running',
      pod: twoContainers(bound('a')),
      status: { containers: [{ restarts: 2 }, { state: 'waiting', restarts: 1 }] },
      want: { ready: '1/2', status: 'Running', restarts: 3 },
    },
    { name: 'on a node whose lease expired', pod: bound('a'), status: {}, nodes: ['n2'], want: { ready: '0/1', status: 'Unknown', restarts: 0 } },
    { name: 'on a registered node', pod: bound('a'), status: {}, nodes: ['n1'], want: { ready: '1/1', status: 'Running', restarts: 0 } },
  ])('$name', ({ pod: p, status: s, nodes, want }) => {
    const statuses = s ? [status(p, s)] : [];
    const [view] = podViews([p], statuses, NOW, nodes ? new Set(nodes) : undefined);
    expect(view).toMatchObject(want);
  });

  it.each<[string, PodStatusRecord['initContainers'], 'True' | 'False', string]>([
    ['the first of two running', [{ name: 'one', state: 'running', restarts: 0 }, { name: 'two', state: 'waiting', restarts: 0 }], 'False', 'Init:0/2'],
    ['one of two done', [{ name: 'one', state: 'exited', exitCode: 0, reason: 'Completed', restarts: 0 }, { name: 'two', state: 'running', restarts: 0 }], 'False', 'Init:1/2'],
    ['the second failed', [{ name: 'one', state: 'exited', exitCode: 0, reason: 'Completed', restarts: 0 }, { name: 'two', state: 'exited', exitCode: 1, reason: 'Error', restarts: 0 }], 'False', 'Init:Error'],
    ['the second backing off', [{ name: 'one', state: 'exited', exitCode: 0, reason: 'Completed', restarts: 0 }, { name: 'two', state: 'exited', exitCode: 1, reason: 'CrashLoopBackOff', restarts: 2 }], 'False', 'Init:CrashLoopBackOff'],
    ['all done: the pod’s own state', [{ name: 'one', state: 'exited', exitCode: 0, reason: 'Completed', restarts: 0 }], 'True', 'Running'],
  ])('init containers, %s: STATUS %s', (_name, initContainers, initialized, want) => {
    const p = bound('a');
    const s: PodStatusRecord = { ...status(p), ...(initContainers ? { initContainers } : {}) };
    s.conditions = [...s.conditions, { type: 'Initialized', status: initialized, reason: initialized === 'True' ? 'PodCompleted' : 'ContainersNotInitialized', message: '' }];
    if (initialized === 'False') s.conditions = s.conditions.map((c) => (c.type === 'Ready' ? { ...c, status: 'False', reason: 'ContainersNotInitialized' } : c));
    const [view] = podViews([p], [s], NOW);
    expect(view?.status).toBe(want);
  });

  it('fills the other columns and sorts by namespace, then name', () => {
    const p = bound('web-abc-0', { namespace: 'shop', commit: '0123456789abcdef', createdAt: ago(3 * 60 + 20) });
    const views = podViews([bound('z'), p, pod('a', { namespace: 'shop' })], [status(p)], NOW);
    expect(views.map((v) => `${v.namespace}/${v.name}`)).toEqual(['default/z', 'shop/a', 'shop/web-abc-0']);
    expect(views[2]).toMatchObject({ node: 'n1', age: '3m20s', commit: '0123456', deployment: 'web', source: 'main', createdAt: p.createdAt });
    expect(views[2]?.containers).toHaveLength(1);
    expect(views[1]).not.toHaveProperty('node');
  });
});

describe('deploymentViews: READY, UP-TO-DATE, AVAILABLE', () => {
  const web = deployment('web', { replicas: 3, namespace: 'shop' });
  const current = templateHash(web.spec.template);
  const sealed: SealedDeployment = { source: 'main', object: web, commit: 'feedface0000' };
  const mine = (name: string, hash: string, nodeName = 'n1'): PodRecord => ({
    ...pod(name, { namespace: 'shop', owner: 'web', node: nodeName }),
    templateHash: hash,
  });

  it.each<{ name: string; pods: PodRecord[]; ready: string[]; nodes?: string[]; want: Record<string, unknown> }>([
    { name: 'no pods yet', pods: [], ready: [], want: { ready: '0/3', readyReplicas: 0, upToDate: 0, available: 0 } },
    {
      name: 'all running the current template',
      pods: [mine('a', current), mine('b', current), mine('c', current)],
      ready: ['a', 'b', 'c'],
      want: { ready: '3/3', readyReplicas: 3, upToDate: 3, available: 3 },
    },
    {
      name: 'mid-rollout: old ready, new starting',
      pods: [mine('old-0', 'old'), mine('old-1', 'old'), mine('new-0', current)],
      ready: ['old-0', 'old-1'],
      want: { ready: '2/3', upToDate: 1, available: 0 },
    },
    {
      name: 'a ready pod on a node that is gone',
      pods: [mine('a', current), mine('b', current, 'n2')],
      ready: ['a', 'b'],
      nodes: ['n1'],
      want: { ready: '1/3', upToDate: 2, available: 1 },
    },
  ])('$name', ({ pods, ready, nodes, want }) => {
    const statuses: PodStatusRecord[] = pods.map((p) => status(p, ready.includes(p.name) ? {} : { containers: [{ state: 'waiting' }] }));
    const [view] = deploymentViews([sealed], pods, statuses, nodes ? new Set(nodes) : undefined);
    expect(view).toMatchObject({ namespace: 'shop', name: 'web', source: 'main', replicas: 3, commit: 'feedfac', images: ['nginx:1.27'], ...want });
  });

  it('counts only its own pods (same name in another namespace or source is not)', () => {
    const other = { ...pod('x', { namespace: 'default', owner: 'web', node: 'n1' }), templateHash: current };
    const otherSource = { ...pod('y', { namespace: 'shop', owner: 'web', source: 'second', node: 'n1' }), templateHash: current };
    const [view] = deploymentViews([sealed], [other, otherSource], [status(other), status(otherSource)]);
    expect(view).toMatchObject({ ready: '0/3', upToDate: 0 });
  });
});

describe('nodeViews', () => {
  it('counts bound pods and writes capacity for people', () => {
    const nodes = [{ ...node('n2', { cpu: 1500, memory: 512 * 2 ** 20 }), startedAt: ago(5 * 3600) }, node('n1')];
    const views = nodeViews(nodes, [pod('a', { node: 'n1' }), pod('b', { node: 'n1' }), pod('c')], NOW);
    expect(views).toMatchObject([
      { name: 'n1', status: 'Ready', pods: 2, maxPods: 110, cpu: '4', memory: '8Gi', address: '127.0.0.1', version: 'test', age: '151d' },
      { name: 'n2', status: 'Ready', pods: 0, cpu: '1500m', memory: '512Mi', age: '5h' },
    ]);
  });

  it('shows a NotReady node as it was last seen, and a cordoned one as SchedulingDisabled', () => {
    const views = nodeViews([node('n1')], [pod('a', { node: 'n3' })], NOW, {
      lost: [
        { type: 'nodeLost', name: 'n3', since: ago(30), last: { ...node('n3'), startedAt: ago(3600) } },
        { type: 'nodeLost', name: 'n4', since: ago(30) },
        // A record left from before the node registered again: the node is Ready.
        { type: 'nodeLost', name: 'n1', since: ago(30) },
      ],
      cordons: [{ type: 'cordon', name: 'n1', since: ago(10), drain: true }, { type: 'cordon', name: 'n3', since: ago(10), drain: false }],
    });
    expect(views).toMatchObject([
      { name: 'n1', status: 'Ready,SchedulingDisabled', cpu: '4' },
      { name: 'n3', status: 'NotReady,SchedulingDisabled', pods: 1, cpu: '4', address: '127.0.0.1', age: '60m' },
      { name: 'n4', status: 'NotReady', pods: 0, maxPods: 0, cpu: '', address: '', age: '30s', labels: {} },
    ]);
  });
});

describe('historyViews and eventViews', () => {
  it('lists history oldest first across sources, keeping one source in sequence order', () => {
    const records = [
      history('b', 'bbbbbbbbbb', ago(60)),
      history('a', 'a1a1a1a1a1', ago(3600)),
      history('a', 'a2a2a2a2a2', ago(60), { outcome: 'rejected', errors: ['app.yaml:3:5: bad'] }),
    ];
    const views = historyViews(records, NOW);
    expect(views.map((v) => `${v.source}:${v.commit}`)).toEqual(['a:a1a1a1a', 'b:bbbbbbb', 'a:a2a2a2a']);
    expect(views[2]).toMatchObject({ outcome: 'rejected', errors: ['app.yaml:3:5: bad'], message: 'a2a2a2a2a2 message', age: '60s', commitSha: 'a2a2a2a2a2' });
  });

  it('lists events by when they last happened, with LAST SEEN ages and repeats as kubectl shows them', () => {
    const views = eventViews(
      [
        event(ago(5), 'Healed'),
        { ...event(ago(300), 'BackOff'), lastTime: ago(10), count: 4, severity: 'Warning' },
        event(ago(30), 'Drifted'),
      ],
      NOW,
    );
    expect(views).toEqual([
      { time: ago(30), lastTime: ago(30), lastSeen: '30s', count: 1, severity: 'Normal', component: 'agent', reason: 'Drifted', object: 'pod/default/web-1', message: 'Drifted happened' },
      { time: ago(300), lastTime: ago(10), lastSeen: '10s (x4 over 5m)', count: 4, severity: 'Warning', component: 'agent', reason: 'BackOff', object: 'pod/default/web-1', message: 'BackOff happened' },
      { time: ago(5), lastTime: ago(5), lastSeen: '5s', count: 1, severity: 'Normal', component: 'agent', reason: 'Healed', object: 'pod/default/web-1', message: 'Healed happened' },
    ]);
  });
});

describe('statusViews', () => {
  const deployments = deploymentViews([{ source: 'a', object: deployment('web'), commit: 'c1' }], [], []);

  it.each<{ name: string; history: ReturnType<typeof history>[]; rejected?: string }>([
    { name: 'the newest commit applied', history: [history('a', 'c1c1c1c1', ago(60))] },
    {
      name: 'a newer commit rejected',
      history: [history('a', 'c1c1c1c1', ago(60)), history('a', 'c2c2c2c2', ago(10), { outcome: 'rejected', errors: ['x'] })],
      rejected: 'c2c2c2c',
    },
    { name: 'a rejected commit fixed by a later one', history: [history('a', 'c0', ago(90), { outcome: 'rejected' }), history('a', 'c1c1c1c1', ago(60))] },
  ])('$name', ({ history: h, rejected }) => {
    const [view] = statusViews([seal('a', 'c1c1c1c1c1', ago(60))], h, deployments, NOW);
    expect(view).toMatchObject({ source: 'a', commit: 'c1c1c1c', message: 'apply c1c1c1c1c1', author: 'Ada', age: '60s' });
    expect(view?.rejected?.commit).toBe(rejected);
    expect(view?.deployments.map((d) => d.name)).toEqual(['web']);
  });

  it.each<{ name: string; commit: string; shown: boolean }>([
    { name: 'shows the health reported for the commit in force', commit: 'c1c1c1c1c1', shown: true },
    { name: 'hides a health left over from an older commit', commit: 'c0c0c0c0c0', shown: false },
  ])('$name', ({ commit, shown }) => {
    const health: HealthRecord = {
      type: 'health', source: 'a', commit, state: 'failure', reason: 'Drifted', description: 'drift: shop/web-1 killed; healing',
      conditions: [], time: ago(5),
    };
    const [view] = statusViews([seal('a', 'c1c1c1c1c1', ago(60))], [], deployments, NOW, [health]);
    expect(view?.health).toEqual(shown ? { state: 'failure', description: 'drift: shop/web-1 killed; healing' } : undefined);
  });

  it('lists a source that has only rejected commits, without a commit in force', () => {
    const views = statusViews([], [history('b', 'bad1bad1', ago(5), { outcome: 'rejected', errors: ['x', 'y'] })], [], NOW);
    expect(views).toEqual([expect.objectContaining({ source: 'b', deployments: [] })]);
    expect(views[0]).not.toHaveProperty('commit');
    expect(views[0]?.rejected?.errors).toEqual(['x', 'y']);
  });

  it.each<{ name: string; seals: ReturnType<typeof seal>[]; source: string }>([
    { name: 'shows why sync of a source is stuck, beside the commit in force', seals: [seal('a', 'c1c1c1c1c1', ago(60))], source: 'a' },
    { name: 'lists a source whose sync is stuck before any commit', seals: [], source: 'b' },
  ])('$name', ({ seals, source }) => {
    const error: SyncErrorRecord = { type: 'syncError', source, code: 'EREPOUNREACHABLE', message: 'cannot reach repository http://git/x.git', since: ago(30) };
    const views = statusViews(seals, [], [], NOW, [], [error]);
    expect(views.find((v) => v.source === source)?.error).toEqual({ code: 'EREPOUNREACHABLE', message: 'cannot reach repository http://git/x.git', since: ago(30), age: '30s' });
  });
});
