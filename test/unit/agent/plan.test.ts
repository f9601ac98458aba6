import { describe, expect, it } from 'vitest';
import type { BindingRecord, TerminatedState } from '../../../src/store/records.js';
import type { Container } from '../../../src/agent/runtime.js';
import type { ContainerAction, PlanOptions } from '../../../src/agent/plan.js';
import { chainRun, nextBackOff, planContainers, portsClash, restartDelayMs } from '../../../src/agent/plan.js';
import { POD_IP_LABEL } from '../../../src/agent/pod-address.js';
import { IMAGE, NODE, binding, observed, spec } from './fixtures.js';

/** `<phase> <kind> <name without berth_n1_default_>` — what a reader of a plan cares about. */
function summary(actions: ContainerAction[]): string[] {
  return actions.map((a) => `${a.phase} ${a.kind} ${(a.kind === 'create' ? a.spec.name : a.name).replace(`berth_${NODE}_default_`, '')}`);
}

const web = binding('web');
const web2 = binding('web', { hash: 'h2' });
const port = (hostPort: number, over: { hostIp?: string; protocol?: 'TCP' | 'UDP' } = {}) => ({ containerPort: 80, protocol: over.protocol ?? ('TCP' as const), hostPort, hostIp: over.hostIp ?? '0.0.0.0' });
const withPort = (pod: string, hash: string, hostPort: number) => binding(pod, { hash, containers: [spec('app', { ports: [{ containerPort: 80, protocol: 'TCP', hostPort }] })] });
const T0 = '2026-01-01T00:00:00.000Z';
const at = (s: number): string => new Date(Date.parse(T0) + s * 1000).toISOString();

const cases: [string, BindingRecord[], Container[], Partial<PlanOptions>, string[]][] = [
  ['nothing bound, nothing running', [], [], {}, []],
  ['a bound pod without its container is created', [web], [], {}, ['2 create web_app_h1']],
  ['a running container of the bound template is left alone', [web], [observed(web)], {}, []],
  ['every container of a pod is created, in name order', [binding('web', { containers: [spec('z'), spec('a')] })], [], {}, ['2 create web_a_h1', '2 create web_z_h1']],
  ['a container of a pod no longer bound is removed', [], [observed(web)], {}, ['2 remove web_app_h1']],
  ['a new template replaces the old without waiting for its stop', [web2], [observed(web)], {}, ['2 remove web_app_h1', '2 create web_app_h2']],
  ['a replacement that needs the old hostPort waits for the removal', [withPort('web', 'h2', 8080)], [observed(withPort('web', 'h1', 8080), 'app', { ports: [port(8080)] })], {}, ['1 remove web_app_h1', '2 create web_app_h2']],
  ['an unbound pod holding a hostPort the new pod needs goes first', [withPort('new', 'h1', 8080)], [observed(withPort('old', 'h1', 8080), 'app', { ports: [port(8080)] })], {}, ['1 remove old_app_h1', '2 create new_app_h1']],
  ['different host ports do not wait', [withPort('web', 'h2', 8081)], [observed(withPort('web', 'h1', 8080), 'app', { ports: [port(8080)] })], {}, ['2 remove web_app_h1', '2 create web_app_h2']],
  ['same port on another address does not wait', [withPort('web', 'h2', 8080)], [observed(web, 'app', { ports: [port(8080, { hostIp: '127.0.0.2' })] })], { hostIp: '127.0.0.1' }, ['2 remove web_app_h1', '2 create web_app_h2']],
  ['0.0.0.0 overlaps any address', [withPort('web', 'h2', 8080)], [observed(web, 'app', { ports: [port(8080)] })], { hostIp: '127.0.0.1' }, ['1 remove web_app_h1', '2 create web_app_h2']],
  ['UDP does not clash with TCP', [withPort('web', 'h2', 8080)], [observed(web, 'app', { ports: [port(8080, { protocol: 'UDP' })] })], {}, ['2 remove web_app_h1', '2 create web_app_h2']],
  ['of duplicates the running one stays', [web], [observed(web, 'app', { id: 'a', state: 'exited' }), observed(web, 'app', { id: 'b', name: 'other' })], {}, ['2 remove web_app_h1']],
  ['an exited container is restarted (Always)', [web], [observed(web, 'app', { state: 'exited', exitCode: 137 })], {}, ['2 start web_app_h1']],
  ['OnFailure leaves a clean exit alone', [binding('web', { restartPolicy: 'OnFailure' })], [observed(web, 'app', { state: 'exited', exitCode: 0 })], {}, []],
  ['OnFailure restarts a failed exit', [binding('web', { restartPolicy: 'OnFailure' })], [observed(web, 'app', { state: 'exited', exitCode: 1 })], {}, ['2 start web_app_h1']],
  ['Never restarts nothing', [binding('web', { restartPolicy: 'Never' })], [observed(web, 'app', { state: 'exited', exitCode: 1 })], {}, []],
  ['a created, never started container is started', [web], [observed(web, 'app', { state: 'created' })], {}, ['2 start web_app_h1']],
  ['a paused container is left to whoever paused it', [web], [observed(web, 'app', { state: 'paused' })], {}, []],
  ['a dead container is replaced; the name orders them', [web], [observed(web, 'app', { state: 'dead' })], {}, ['1 remove web_app_h1', '2 create web_app_h1']],
  ['another node’s container is never touched', [], [{ ...observed(web), labels: { ...observed(web).labels, 'berth.node': 'n2' } }], {}, []],
  ['a container with incomplete berth labels is removed', [], [{ ...observed(web), labels: { 'berth.node': NODE } }], {}, ['2 remove web_app_h1']],
  ['a container the template no longer has is removed', [web], [observed(web), observed(web, 'gone')], {}, ['2 remove web_gone_h1']],
  ['a held pod is left alone though unbound', [], [observed(web)], { hold: new Set(['default/web']) }, []],
  [
    'an exited container whose port a removal holds waits for it',
    [withPort('web', 'h1', 8080)],
    [observed(withPort('web', 'h1', 8080), 'app', { state: 'exited', ports: [port(8080)] }), observed(withPort('old', 'h1', 8080), 'app', { ports: [port(8080)] })],
    {},
    ['1 remove old_app_h1', '2 start web_app_h1'],
  ],
  ['a crash-looping container waits out its back-off', [web], [observed(web, 'app', { state: 'exited', exitCode: 1, startedAt: T0, finishedAt: at(2) })], { backOff: new Map([['default/web/app', 3]]), now: new Date(at(3)) }, ['2 wait web_app_h1']],
  ['after the back-off it is restarted', [web], [observed(web, 'app', { state: 'exited', exitCode: 1, startedAt: T0, finishedAt: at(2) })], { backOff: new Map([['default/web/app', 3]]), now: new Date(at(42)) }, ['2 start web_app_h1']],
  ['one second early it still waits (third restart: 40 s)', [web], [observed(web, 'app', { state: 'exited', exitCode: 1, startedAt: T0, finishedAt: at(2) })], { backOff: new Map([['default/web/app', 3]]), now: new Date(at(41)) }, ['2 wait web_app_h1']],
  ['a run of 5 minutes that crashed still backs off', [web], [observed(web, 'app', { state: 'exited', exitCode: 1, startedAt: T0, finishedAt: at(300) })], { backOff: new Map([['default/web/app', 2]]), now: new Date(at(301)) }, ['2 wait web_app_h1']],
  ['the first crash restarts at once', [web], [observed(web, 'app', { state: 'exited', exitCode: 1, startedAt: T0, finishedAt: at(1) })], { now: new Date(at(1)) }, ['2 start web_app_h1']],
  ['a shorter schedule is honoured', [web], [observed(web, 'app', { state: 'exited', exitCode: 1, startedAt: T0, finishedAt: at(1) })], { backOff: new Map([['default/web/app', 2]]), schedule: { initialMs: 500, maxMs: 2000, resetMs: 5000 }, now: new Date(at(2)) }, ['2 start web_app_h1']],
  ['a long-running container that crashed restarts at once', [web], [observed(web, 'app', { state: 'exited', exitCode: 1, startedAt: T0, finishedAt: at(3600) })], { backOff: new Map([['default/web/app', 5]]), now: new Date(at(3600)) }, ['2 start web_app_h1']],
  ['a container killed from outside restarts at once, however young', [web], [observed(web, 'app', { state: 'exited', exitCode: 137, startedAt: T0, finishedAt: at(1) })], { backOff: new Map([['default/web/app', 5]]), now: new Date(at(1)) }, ['2 start web_app_h1']],
  ['a container the agent stopped for a failed liveness probe backs off as a crash', [web], [observed(web, 'app', { id: 'c1', state: 'exited', exitCode: 143, startedAt: T0, finishedAt: at(30) })], { backOff: new Map([['default/web/app', 1]]), probeKilled: new Set(['c1']), now: new Date(at(31)) }, ['2 wait web_app_h1']],
  ['the same exit without the agent’s probe stop is drift: at once', [web], [observed(web, 'app', { id: 'c1', state: 'exited', exitCode: 143, startedAt: T0, finishedAt: at(30) })], { backOff: new Map([['default/web/app', 1]]), now: new Date(at(31)) }, ['2 start web_app_h1']],
  ['an OOM kill is a crash: it backs off', [web], [observed(web, 'app', { state: 'exited', exitCode: 137, oomKilled: true, startedAt: T0, finishedAt: at(1) })], { backOff: new Map([['default/web/app', 5]]), now: new Date(at(1)) }, ['2 wait web_app_h1']],
];

/** A pod with init containers `one` then `two` before its container `app`. */
const initPod = binding('web', { containers: [spec('app')] });
initPod.template.initContainers = [spec('one'), spec('two')];
const exited = (name: string, exitCode: number, over: Partial<Container> = {}): Container => observed(initPod, name, { state: 'exited', exitCode, startedAt: T0, finishedAt: at(1), ...over });

const initCases: [string, Container[], Partial<PlanOptions>, string[]][] = [
  ['a new pod starts with its first init container only', [], {}, ['2 create web_one_h1']],
  ['the next init container waits for the running one', [observed(initPod, 'one')], {}, []],
  ['a clean exit lets the next one run', [exited('one', 0)], {}, ['2 create web_two_h1']],
  ['all init containers done: the pod’s containers are made, the init containers left as they are', [exited('one', 0), exited('two', 0)], {}, ['2 create web_app_h1']],
  ['a failed init container is restarted, at once the first time', [exited('one', 0), exited('two', 1)], { now: new Date(at(1)) }, ['2 start web_two_h1']],
  ['and then with the pod’s back-off', [exited('one', 0), exited('two', 1)], { backOff: new Map([['default/web/two', 1]]), now: new Date(at(2)) }, ['2 wait web_two_h1']],
  ['a pod whose containers exist is initialized, even with its init containers gone', [observed(initPod, 'app')], {}, []],
  ['a created init container is started', [observed(initPod, 'one', { state: 'created' })], {}, ['2 start web_one_h1']],
];

describe('planContainers: init containers', () => {
  it.each(initCases)('%s', (_name, containers, opts, want) => {
    expect(summary(planContainers([initPod], containers, { node: NODE, hostIp: '0.0.0.0', now: new Date(T0), ...opts }))).toEqual(want);
  });
});

describe('planContainers', () => {
  it.each(cases)('%s', (_name, bindings, containers, opts, want) => {
    expect(summary(planContainers(bindings, containers, { node: NODE, hostIp: '0.0.0.0', now: new Date(T0), ...opts }))).toEqual(want);
  });

  it('is the same plan whatever order its inputs come in', () => {
    const bindings = [binding('a'), binding('b', { hash: 'h2' }), withPort('c', 'h1', 9000)];
    const containers = [observed(binding('b')), observed(binding('x'), 'app', { ports: [port(9000)] }), observed(binding('a'), 'app', { state: 'exited' })];
    const first = planContainers(bindings, containers, { node: NODE, hostIp: '0.0.0.0', now: new Date(T0) });
    const again = planContainers([...bindings].reverse(), [...containers].reverse(), { node: NODE, hostIp: '0.0.0.0', now: new Date(T0) });
    expect(again).toEqual(first);
    expect(summary(first)).toEqual(['1 remove x_app_h1', '2 remove b_app_h1', '2 create b_app_h2', '2 create c_app_h1', '2 start a_app_h1']);
  });

  it('creates exactly what the template says, labelled and bound to the agent’s address', () => {
    const b = binding('web', {
      commit: 'abc123',
      containers: [spec('app', { command: ['httpd'], args: ['-f'], env: [{ name: 'A', value: '1' }], ports: [{ containerPort: 80, protocol: 'TCP', hostPort: 8080 }, { containerPort: 81, protocol: 'UDP' }], resources: { requests: {}, limits: { cpu: 250, memory: 1 << 26 } } })],
    });
    const [create] = planContainers([b], [], { node: NODE, hostIp: '127.0.0.1', now: new Date(T0) });
    expect(create).toMatchObject({ kind: 'create', slot: 'default/web/app', pod: 'default/web', reason: 'no container for default/web/app' });
    expect(create?.kind === 'create' && create.spec).toEqual({
      name: 'berth_n1_default_web_app_h1',
      image: IMAGE,
      command: ['httpd'],
      args: ['-f'],
      env: [{ name: 'A', value: '1' }],
      labels: { 'berth.node': NODE, 'berth.namespace': 'default', 'berth.pod': 'web', 'berth.container': 'app', 'berth.hash': 'h1', 'berth.commit': 'abc123' },
      ports: [{ containerPort: 80, protocol: 'TCP', hostPort: 8080, hostIp: '127.0.0.1' }, { containerPort: 81, protocol: 'UDP' }],
      limits: { cpu: 250, memory: 1 << 26 },
    });
  });

  it('runs a pod that runs alone as its container: on the pod network at its address, with its hostname, publishing every port', () => {
    const b = binding('web', { containers: [spec('app', { ports: [{ containerPort: 80, protocol: 'TCP', hostPort: 8080 }, { containerPort: 81, protocol: 'UDP' }] })] });
    const alone = new Map([['default/web', { network: 'net-id', ip: '10.9.128.7', hostname: 'web' }]]);
    const [create] = planContainers([b], [], { node: NODE, hostIp: '127.0.0.1', now: new Date(T0), alone });
    expect(create?.kind === 'create' && create.spec).toMatchObject({
      network: 'net-id', ip: '10.9.128.7', hostname: 'web', publishAll: true,
      labels: { 'berth.pod': 'web', 'berth.pod-ip': '10.9.128.7' },
      ports: [{ containerPort: 80, protocol: 'TCP', hostPort: 8080, hostIp: '127.0.0.1' }, { containerPort: 81, protocol: 'UDP', hostIp: '127.0.0.1' }],
    });
    expect(create?.kind === 'create' && create.spec.netns).toBeUndefined();
  });

  it('makes a container whose address Docker refused again, at the address it is given now (the old one goes first: the name)', () => {
    const b = binding('web');
    const refused = observed(b, 'app', { state: 'created', error: 'Address already in use' });
    refused.labels[POD_IP_LABEL] = '10.9.128.7';
    const alone = new Map([['default/web', { network: 'net-id', ip: '10.9.128.8', hostname: 'web' }]]);
    const actions = planContainers([b], [refused], { node: NODE, hostIp: '0.0.0.0', now: new Date(T0), alone });
    expect(summary(actions)).toEqual(['1 remove web_app_h1', '2 create web_app_h1']);
    expect(actions[0]?.reason).toBe('its address 10.9.128.7 is held by another container');
    expect(actions[1]?.kind === 'create' && actions[1].spec.ip).toBe('10.9.128.8');
  });

  it('takes the present from its caller: there is no default clock to misjudge a back-off', () => {
    const crashed = [observed(web, 'app', { state: 'exited', exitCode: 1, startedAt: T0, finishedAt: at(2) })];
    const backOff = new Map([['default/web/app', 3]]);
    // @ts-expect-error `now` is required (an epoch default once made every back-off wait for ever)
    expect(() => planContainers([web], crashed, { node: NODE, hostIp: '0.0.0.0', backOff })).toThrow(TypeError);
    expect(summary(planContainers([web], crashed, { node: NODE, hostIp: '0.0.0.0', backOff, now: new Date(at(3600)) }))).toEqual(['2 start web_app_h1']);
  });

  it('says why, on every action', () => {
    const actions = planContainers([web2], [observed(web), observed(binding('gone'))], { node: NODE, hostIp: '0.0.0.0', now: new Date(T0) });
    expect(actions.map((a) => a.reason)).toEqual(['pod default/gone is not bound to n1', 'template changed (h1 → h2)', 'no container for default/web/app']);
  });
});

describe('restartDelayMs: Kubernetes\' schedule', () => {
  const crashed = observed(web, 'app', { state: 'exited', exitCode: 1, startedAt: T0, finishedAt: at(1) });
  it.each([
    [0, 0],
    [1, 10_000],
    [2, 20_000],
    [3, 40_000],
    [4, 80_000],
    [5, 160_000],
    [6, 300_000],
    [7, 300_000],
    [1000, 300_000],
  ])('after %i restarts since the last reset: %i ms', (backOff, ms) => {
    expect(restartDelayMs(crashed, backOff)).toBe(ms);
  });
  it.each([
    ['ran 9 min 59 s: still in the loop', 599, 80_000],
    ['ran 10 min: reset, restarts at once', 600, 0],
    ['ran an hour: reset', 3600, 0],
  ])('%s', (_what, ranSeconds, ms) => {
    expect(restartDelayMs({ ...crashed, finishedAt: at(ranSeconds) }, 4)).toBe(ms);
  });
  it('is zero for a container stopped from outside (drift), not for an OOM kill', () => {
    expect(restartDelayMs({ ...crashed, exitCode: 137 }, 4)).toBe(0);
    expect(restartDelayMs({ ...crashed, exitCode: 137, oomKilled: true }, 4)).toBe(80_000);
  });
  it('follows a given schedule', () => {
    const s = { initialMs: 100, maxMs: 250, resetMs: 5000 };
    expect([1, 2, 3, 4].map((n) => restartDelayMs(crashed, n, s))).toEqual([100, 200, 250, 250]);
  });
});

describe('nextBackOff and the start action', () => {
  const crashed = observed(web, 'app', { state: 'exited', exitCode: 1, startedAt: T0, finishedAt: at(1) });
  it.each([
    ['a crash counts one more', crashed, 3, 4],
    ['the first crash counts 1', crashed, 0, 1],
    ['a run of 10 min starts the count over', { ...crashed, finishedAt: at(600) }, 6, 1],
  ])('%s', (_what, c, before, after) => {
    expect(nextBackOff(c, before)).toBe(after);
  });
  it('carries the new count and how the run ended; a kill from outside leaves the count alone', () => {
    const [oom] = planContainers([web], [{ ...crashed, exitCode: 137, oomKilled: true }], { node: NODE, hostIp: '0.0.0.0', now: new Date(at(1)) });
    expect(oom).toMatchObject({ kind: 'start', restart: true, backOff: 1, ended: { exitCode: 137, reason: 'OOMKilled', finishedAt: at(1) } });
    const [killed] = planContainers([web], [{ ...crashed, exitCode: 137 }], { node: NODE, hostIp: '0.0.0.0', backOff: new Map([['default/web/app', 5]]), now: new Date(at(1)) });
    expect(killed).toMatchObject({ kind: 'start', backOff: 5, ended: { exitCode: 137, reason: 'Error' } });
  });
  it('names the exit code and reason in a wait', () => {
    const [wait] = planContainers([web], [crashed], { node: NODE, hostIp: '0.0.0.0', backOff: new Map([['default/web/app', 2]]), now: new Date(at(2)) });
    expect(wait).toMatchObject({ kind: 'wait', until: at(21), exited: 'exited with code 1 (Error)', reason: 'back-off 20s restarting failed container app: exited with code 1 (Error)' });
  });
});

describe('portsClash', () => {
  it.each([
    [port(80), port(80), true],
    [port(80), port(81), false],
    [port(80, { hostIp: '127.0.0.1' }), port(80, { hostIp: '127.0.0.1' }), true],
    [port(80, { hostIp: '127.0.0.1' }), port(80, { hostIp: '127.0.0.2' }), false],
    [port(80, { hostIp: '::' }), port(80, { hostIp: '127.0.0.2' }), true],
    [port(80, { protocol: 'UDP' }), port(80), false],
    [{ containerPort: 80, protocol: 'TCP' as const }, { containerPort: 80, protocol: 'TCP' as const }, false],
  ])('%o vs %o → %s', (a, b, want) => {
    expect(portsClash(a, b)).toBe(want);
  });
});

describe('chainRun', () => {
  const run = (containerId: string, finishedAt: string, logsSince?: string): TerminatedState => ({ exitCode: 1, reason: 'Error', containerId, finishedAt, ...(logsSince ? { logsSince } : {}) });
  it.each([
    ['the first run of a container: from its start', run('c1', 't1'), undefined, run('c1', 't1')],
    ['a later run: after the end of the run before', run('c1', 't2'), run('c1', 't1', 't0'), run('c1', 't2', 't1')],
    ['the same run seen again keeps its start', run('c1', 't2'), run('c1', 't2', 't1'), run('c1', 't2', 't1')],
    ['a run of another container: from its start', run('c2', 't2'), run('c1', 't1'), run('c2', 't2')],
  ])('%s', (_name, ended, before, chained) => {
    expect(chainRun(ended, before)).toEqual(chained);
  });
});
