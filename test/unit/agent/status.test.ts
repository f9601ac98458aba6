import { describe, expect, it } from 'vitest';
import type { BindingRecord, PodStatusRecord } from '../../../src/store/records.js';
import type { Container } from '../../../src/agent/runtime.js';
import type { StatusContext } from '../../../src/agent/status.js';
import { OOM_SETTLE_MS, detectDrift, podNetwork, podStatus, sameStatus, unsettledExits } from '../../../src/agent/status.js';
import { binding, observed, spec } from './fixtures.js';

const NOW = new Date('2026-01-01T00:00:00.000Z');
const web = binding('web');
const pair = binding('web', { containers: [spec('app'), spec('side')] });

/** `<phase> <Ready status>/<reason>` plus each container as `name:state:restarts`. */
function summary(s: PodStatusRecord): string {
  const ready = s.conditions.find((c) => c.type === 'Ready');
  return `${s.phase} ${ready?.status ?? '?'}/${ready?.reason ?? '?'} ${s.containers.map((c) => `${c.name}:${c.state}:${c.restarts}`).join(',')}`;
}

const cases: [string, BindingRecord, Container[], StatusContext, string][] = [
  ['every container running', pair, [observed(pair, 'app'), observed(pair, 'side')], {}, 'Running True/ContainersReady app:running:0,side:running:0'],
  ['nothing created yet', web, [], {}, 'Pending False/ContainersNotReady app:waiting:0'],
  ['one of two still missing', pair, [observed(pair, 'app')], {}, 'Pending False/ContainersNotReady app:running:0,side:waiting:0'],
  ['one of two exited: running but not ready', pair, [observed(pair, 'app'), observed(pair, 'side', { state: 'exited', exitCode: 1 })], {}, 'Running False/ContainersNotReady app:running:0,side:exited:0'],
  ['a failed pull names itself', web, [], { problems: new Map([['app', { reason: 'ErrImagePull', message: 'cannot pull image x' }]]) }, 'Pending False/ErrImagePull app:waiting:0'],
  ['created but not started', web, [observed(web, 'app', { state: 'created', error: 'port is already allocated' })], {}, 'Pending False/ContainersNotReady app:waiting:0'],
  ['Never, exited with failure: the pod failed', binding('web', { restartPolicy: 'Never' }), [observed(web, 'app', { state: 'exited', exitCode: 2 })], {}, 'Failed False/PodFailed app:exited:0'],
  ['Never, exited cleanly: the pod is over', binding('web', { restartPolicy: 'Never' }), [observed(web, 'app', { state: 'exited', exitCode: 0 })], {}, 'Failed False/PodCompleted app:exited:0'],
  ['Always, exited: pending a restart, not failed', web, [observed(web, 'app', { state: 'exited', exitCode: 0 })], {}, 'Pending False/ContainersNotReady app:exited:0'],
  ['containers of another template or pod do not count', web, [observed(binding('web', { hash: 'h0' })), observed(binding('other'))], {}, 'Pending False/ContainersNotReady app:waiting:0'],
  ['a restart adds to the count of the same template', web, [observed(web)], { previous: prevStatus(web, 2), restarted: new Set(['app']) }, 'Running True/ContainersReady app:running:3'],
  ['a new template starts counting afresh', binding('web', { hash: 'h2' }), [observed(binding('web', { hash: 'h2' }))], { previous: prevStatus(web, 7) }, 'Running True/ContainersReady app:running:0'],
  [
    'running, its readiness probe failing: not ready',
    web,
    [observed(web)],
    { probes: new Map([['app', { started: true, ready: false, reason: 'Readiness probe failed: HTTP probe failed with statuscode: 500' }]]) },
    'Running False/ContainersNotReady app:running:0',
  ],
  ['running, its probes passing: ready', web, [observed(web)], { probes: new Map([['app', { started: true, ready: true }]]) }, 'Running True/ContainersReady app:running:0'],
  ['back-off shows as the reason', web, [observed(web, 'app', { state: 'exited', exitCode: 1 })], { problems: new Map([['app', { reason: 'CrashLoopBackOff', message: 'back-off 2s' }]]) }, 'Pending False/CrashLoopBackOff app:exited:0'],
];

function prevStatus(b: BindingRecord, restarts: number, over: Partial<PodStatusRecord> = {}): PodStatusRecord {
  return { ...podStatus(b, [observed(b)], NOW), ...over, containers: [{ name: 'app', id: observed(b).id, state: 'running', restarts }] };
}

describe('podStatus', () => {
  it('keeps the Ready condition\'s lastTransitionTime while its status stays, and moves it when it changes', () => {
    const later = new Date(NOW.getTime() + 60_000);
    const first = podStatus(web, [observed(web)], NOW);
    const same = podStatus(web, [observed(web)], later, { previous: first });
    expect(same.conditions[0]?.lastTransitionTime).toBe(NOW.toISOString());
    const down = podStatus(web, [observed(web, 'app', { state: 'exited', exitCode: 1 })], later, { previous: first });
    expect(down.conditions[0]?.lastTransitionTime).toBe(later.toISOString());
  });

  it('names the failing probe and marks the container not ready', () => {
    const s = podStatus(web, [observed(web)], NOW, { probes: new Map([['app', { started: false, ready: false, reason: 'startup probe has not succeeded yet' }]]) });
    expect(s.conditions[0]?.message).toBe('app: startup probe has not succeeded yet');
    expect(s.containers[0]?.ready).toBe(false);
  });

  it.each(cases)('%s', (_name, b, containers, ctx, want) => {
    expect(summary(podStatus(b, containers, NOW, ctx))).toBe(want);
  });

  it('is a full record of the pod at `now`, with messages for people', () => {
    const s = podStatus(pair, [observed(pair, 'app'), observed(pair, 'side', { state: 'exited', exitCode: 137, oomKilled: true })], NOW);
    expect(s).toEqual({
      type: 'podStatus',
      node: 'n1',
      namespace: 'default',
      pod: 'web',
      templateHash: 'h1',
      phase: 'Running',
      containers: [
        { name: 'app', id: 'id-web-app-h1', state: 'running', restarts: 0 },
        { name: 'side', id: 'id-web-side-h1', state: 'exited', exitCode: 137, restarts: 0, reason: 'OOMKilled', lastState: { exitCode: 137, reason: 'OOMKilled', containerId: 'id-web-side-h1', startedAt: '2026-01-01T00:00:00.000Z' }, message: 'exited with code 137 (OOM killed)' },
      ],
      conditions: [{ type: 'Ready', status: 'False', reason: 'ContainersNotReady', message: 'side: exited with code 137 (OOM killed)', observedCommit: 'c0ffee', lastTransitionTime: NOW.toISOString() }],
      observedAt: NOW.toISOString(),
    });
  });

  it('reports where the pod is reached: podIP, the node address and each published port once', () => {
    const owner = observed(web, 'app', { ip: '172.30.0.4', ports: [{ containerPort: 9090, protocol: 'TCP', hostPort: 32770, hostIp: '0.0.0.0' }, { containerPort: 8080, protocol: 'TCP', hostPort: 8080, hostIp: '0.0.0.0' }, { containerPort: 8080, protocol: 'TCP', hostPort: 8080, hostIp: '::' }] });
    const s = podStatus(web, [owner], NOW, { network: podNetwork(owner, '192.0.2.2') });
    expect({ podIP: s.podIP, hostIP: s.hostIP, hostPorts: s.hostPorts }).toEqual({
      podIP: '172.30.0.4',
      hostIP: '192.0.2.2',
      hostPorts: [{ containerPort: 8080, protocol: 'TCP', hostPort: 8080 }, { containerPort: 9090, protocol: 'TCP', hostPort: 32770 }],
    });
  });

  it('reports a pod on the node\'s network at the node\'s address, each declared port its own host port', () => {
    const host = binding('web', { containers: [spec('app', { ports: [{ containerPort: 8080, protocol: 'TCP' }, { containerPort: 53, protocol: 'UDP', hostPort: 53 }] })] });
    const owner = observed(host, 'app', { ip: '127.0.0.1' });
    expect(podNetwork(owner, '192.0.2.2', host.template.containers)).toEqual({
      podIP: '192.0.2.2',
      hostIP: '192.0.2.2',
      hostPorts: [{ containerPort: 53, protocol: 'UDP', hostPort: 53 }, { containerPort: 8080, protocol: 'TCP', hostPort: 8080 }],
    });
    expect(podNetwork({ ...owner, state: 'exited' }, '192.0.2.2', host.template.containers)).toEqual({ hostIP: '192.0.2.2', hostPorts: [] });
  });

  it('has no podIP and no host ports while the network owner is not running', () => {
    const owner = observed(web, 'app', { state: 'exited', ip: '172.30.0.4', ports: [{ containerPort: 80, protocol: 'TCP', hostPort: 80 }] });
    const s = podStatus(web, [owner], NOW, { network: podNetwork(owner, '192.0.2.2') });
    expect(s).toMatchObject({ hostIP: '192.0.2.2' });
    expect(s.podIP).toBeUndefined();
    expect(s.hostPorts).toBeUndefined();
  });

  it('says why a container cannot start', () => {
    const s = podStatus(web, [observed(web, 'app', { state: 'created', error: 'port is already allocated' })], NOW);
    expect(s.containers[0]?.message).toBe('cannot start: port is already allocated');
  });
});

describe('detectDrift', () => {
  const before = prevStatus(web, 0);
  it.each([
    ['killed from outside', [observed(web, 'app', { state: 'exited', exitCode: 137 })], before, { app: 'container app was stopped from outside (exited with code 137)' }],
    ['stopped from outside', [observed(web, 'app', { state: 'exited', exitCode: 143 })], before, { app: 'container app was stopped from outside (exited with code 143)' }],
    ['removed from outside', [], before, { app: 'container app (id-web-app-h) was removed' }],
    ['a crash is not drift', [observed(web, 'app', { state: 'exited', exitCode: 1 })], before, {}],
    ['an OOM kill is not drift', [observed(web, 'app', { state: 'exited', exitCode: 137, oomKilled: true })], before, {}],
    ['still running', [observed(web)], before, {}],
    ['nothing known before', [], undefined, {}],
    ['before was another template', [], prevStatus(web, 0, { templateHash: 'h0' }), {}],
    ['before it was not running', [], { ...before, containers: [{ name: 'app', state: 'waiting' as const, restarts: 0 }] }, {}],
  ])('%s', (_name, containers, previous, want) => {
    expect(Object.fromEntries(detectDrift(web, previous, containers))).toEqual(want);
  });
});

describe('unsettledExits', () => {
  const limited = binding('hog', { containers: [spec('app', { resources: { requests: {}, limits: { memory: 20 * 1024 * 1024 } } })] });
  const ended = (over: Partial<Container>, b = limited): Container => observed(b, 'app', { state: 'exited', exitCode: 137, finishedAt: new Date(NOW.getTime() - 500).toISOString(), ...over });
  const settles = NOW.getTime() - 500 + OOM_SETTLE_MS;
  it.each<[string, BindingRecord, Container, ReadonlySet<string>, { pods: string[]; at?: number }]>([
    ['SIGKILLed under a memory limit just now, Docker not saying OOM: held until it settles', limited, ended({}), new Set(), { pods: ['default/hog'], at: settles }],
    ['Docker says OOM: judged now', limited, ended({ oomKilled: true }), new Set(), { pods: [] }],
    ['ended longer ago than the settle time: judged now', limited, ended({ finishedAt: new Date(NOW.getTime() - OOM_SETTLE_MS - 1).toISOString() }), new Set(), { pods: [] }],
    ["ended in this clock's future (skew): judged now", limited, ended({ finishedAt: new Date(NOW.getTime() + 60_000).toISOString() }), new Set(), { pods: [] }],
    ['no memory limit: no OOM kill to wait for', web, ended({}, web), new Set(), { pods: [] }],
    ['SIGTERM (143): not the OOM killer', limited, ended({ exitCode: 143 }), new Set(), { pods: [] }],
    ['killed by the agent for a failed liveness probe', limited, ended({}), new Set([ended({}).id]), { pods: [] }],
    ['still running', limited, observed(limited), new Set(), { pods: [] }],
  ])('%s', (_name, b, c, ignore, want) => {
    const got = unsettledExits([b], [c], NOW.getTime(), ignore);
    expect({ pods: [...got.pods], ...(got.at === undefined ? {} : { at: got.at }) }).toEqual(want);
  });

  it('holds a pod for its init container too', () => {
    const b = binding('init', { containers: [spec('app')] });
    b.template.initContainers = [spec('setup', { resources: { requests: {}, limits: { memory: 1 << 20 } } })];
    const c = observed(b, 'setup', { state: 'exited', exitCode: 137, finishedAt: NOW.toISOString() });
    expect([...unsettledExits([b], [c], NOW.getTime()).pods]).toEqual(['default/init']);
  });
});

describe('the Drifted condition', () => {
  const drifted = (s: PodStatusRecord): string | undefined => {
    const c = s.conditions.find((x) => x.type === 'Drifted');
    return c && `${c.status}/${c.reason}: ${c.message}`;
  };
  const drift = new Map([['app', 'container app was removed']]);

  it('is True while the drift is not healed', () => {
    expect(drifted(podStatus(web, [], NOW, { drift }))).toBe('True/Drifted: container app was removed');
  });
  it('is False/Healed once everything runs again in the same round', () => {
    expect(drifted(podStatus(web, [observed(web)], NOW, { drift }))).toBe('False/Healed: container app was removed; restarted');
  });
  it('turns Healed in a later round', () => {
    const prev = podStatus(web, [], NOW, { drift });
    expect(drifted(podStatus(web, [observed(web)], NOW, { previous: prev }))).toBe('False/Healed: container app was removed; restarted');
  });
  it('stays on the record afterwards, unchanged', () => {
    const prev = podStatus(web, [observed(web)], NOW, { drift });
    const next = podStatus(web, [observed(web)], new Date(NOW.getTime() + 1000), { previous: prev });
    expect(drifted(next)).toBe(drifted(prev));
    expect(sameStatus(prev, next)).toBe(true);
  });
  it('is absent without any drift', () => {
    expect(drifted(podStatus(web, [observed(web)], NOW))).toBeUndefined();
  });
});

describe('sameStatus', () => {
  it('ignores only observedAt', () => {
    const a = podStatus(web, [observed(web)], NOW);
    expect(sameStatus(a, { ...a, observedAt: 'later' })).toBe(true);
    expect(sameStatus(a, podStatus(web, [], NOW))).toBe(false);
  });
});
