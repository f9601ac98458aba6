import { describe, expect, it } from 'vitest';
import type { BindingRecord } from '../../../src/store/records.js';
import type { Container } from '../../../src/agent/runtime.js';
import { alonePods, mayRunAlone, planAlone, planSandboxes, podHostname, sandboxSpec, type SandboxOptions } from '../../../src/agent/sandbox.js';
import { POD_IP_LABEL, parseIPv4 } from '../../../src/agent/pod-address.js';
import { NODE, binding, observed, spec } from './fixtures.js';

const OPTS: SandboxOptions = { node: NODE, hostIp: '0.0.0.0', image: 'berth/sandbox:1', network: 'berth' };
const web = binding('web');
const sbName = (b: BindingRecord): string => sandboxSpec(b, OPTS).name;

/** The sandbox the agent would have made for `b`, in `state`. */
function sandbox(b: BindingRecord, over: Partial<Container> = {}): Container {
  const s = sandboxSpec(b, OPTS);
  return { id: `sb-${b.pod}`, name: s.name, labels: s.labels, image: s.image, state: 'running', ports: [], ip: '10.88.0.2', ...over };
}

/** A container of `b` inside sandbox `sb`. */
const member = (b: BindingRecord, sb: string | undefined, over: Partial<Container> = {}): Container => observed(b, 'app', { ...(sb === undefined ? {} : { joined: sb }), ...over });

function summary(bindings: BindingRecord[], containers: Container[], hold?: Set<string>): Record<string, unknown> {
  const p = planSandboxes(bindings, containers, { ...OPTS, ...(hold ? { hold } : {}) });
  return {
    actions: p.actions.map((a) => `${a.phase} ${a.kind} ${(a.kind === 'create' ? a.spec.name : a.name).replace(`berth_${NODE}_default_`, '').replace(/_POD_.*/, '_POD')}`),
    netns: [...p.netns.keys()],
    waiting: [...p.waiting],
    changed: [...p.changed.values()],
    stranded: [...p.stranded],
  };
}

describe('planSandboxes', () => {
  it.each<[string, BindingRecord[], Container[], Record<string, unknown>]>([
    ['a new pod gets its sandbox, and its containers may join it at once', [web], [], { actions: ['2 create web_POD'], netns: ['default/web'], waiting: [], changed: [], stranded: [] }],
    ['a running sandbox with its containers inside is left alone', [web], [sandbox(web), member(web, 'sb-web')], { actions: [], netns: ['default/web'], waiting: [], changed: [], stranded: [] }],
    [
      'a killed sandbox: its containers are removed first, the pod waits',
      [web],
      [sandbox(web, { state: 'exited', exitCode: 137 }), member(web, 'sb-web')],
      { actions: ['2 remove web_app_h1'], netns: [], waiting: ['default/web'], changed: [`pod sandbox ${sbName(web)} exited with code 137`], stranded: ['id-web-app-h1'] },
    ],
    [
      'a removed sandbox: the same, named by the id its containers joined',
      [web],
      [member(web, '0123456789abcdef')],
      { actions: ['2 remove web_app_h1'], netns: [], waiting: ['default/web'], changed: ['pod sandbox 0123456789ab was removed'], stranded: ['id-web-app-h1'] },
    ],
    [
      'a sandbox Docker is removing (docker rm -f seen half way): removed, as above',
      [web],
      [sandbox(web, { id: '0123456789abcdef', state: 'removing' }), member(web, '0123456789abcdef')],
      { actions: ['2 remove web_app_h1'], netns: [], waiting: ['default/web'], changed: ['pod sandbox 0123456789ab was removed'], stranded: ['id-web-app-h1'] },
    ],
    [
      'once its containers are gone the dead sandbox goes first (its name is needed) and a new one is made',
      [web],
      [sandbox(web, { state: 'exited', exitCode: 137 })],
      { actions: ['1 remove web_POD', '2 create web_POD'], netns: ['default/web'], waiting: [], changed: [], stranded: [] },
    ],
    [
      'a container still in the sandbox that was replaced is stranded, without drift',
      [web],
      [sandbox(web, { id: 'new' }), member(web, 'old-sandbox-id-0', { state: 'exited' })],
      { actions: ['2 remove web_app_h1'], netns: ['default/web'], waiting: [], changed: [], stranded: ['id-web-app-h1'] },
    ],
    [
      'a container made before sandboxes is moved into one, without drift',
      [web],
      [member(web, undefined)],
      { actions: ['2 remove web_app_h1'], netns: [], waiting: ['default/web'], changed: [], stranded: ['id-web-app-h1'] },
    ],
    ['an unbound pod’s sandbox waits for its containers', [], [sandbox(web), member(web, 'sb-web')], { actions: [], netns: [], waiting: [], changed: [], stranded: [] }],
    ['an unbound pod’s sandbox goes once they are gone', [], [sandbox(web)], { actions: ['2 remove web_POD'], netns: [], waiting: [], changed: [], stranded: [] }],
    ['a held pod is left alone', [], [sandbox(web, { state: 'exited' })], { actions: [], netns: [], waiting: [], changed: [], stranded: [] }],
    [
      'a new port makes a new sandbox: the old one holding the host port goes first',
      [binding('web', { hash: 'h2', containers: [spec('app', { ports: [{ containerPort: 80, protocol: 'TCP', hostPort: 8080 }] })] })],
      [sandbox(web, { ports: [{ containerPort: 80, protocol: 'TCP', hostPort: 8080, hostIp: '0.0.0.0' }], published: [{ containerPort: 80, protocol: 'TCP', hostPort: 8080, hostIp: '0.0.0.0' }] })],
      { actions: ['1 remove web_POD', '2 create web_POD'], netns: ['default/web'], waiting: [], changed: [], stranded: [] },
    ],
  ])('%s', (name, bindings, containers, want) => {
    expect(summary(bindings, containers, name.includes('held') ? new Set(['default/web']) : undefined)).toEqual(want);
  });

  it('publishes every port of every container once: the declared hostPort, else one Docker picks', () => {
    const b = binding('web', { containers: [spec('a', { ports: [{ containerPort: 8080, protocol: 'TCP', hostPort: 18080 }, { containerPort: 9090, protocol: 'TCP' }] }), spec('b', { ports: [{ containerPort: 9090, protocol: 'TCP' }] })] });
    const s = sandboxSpec(b, { ...OPTS, hostIp: '127.0.0.1' });
    expect(s).toMatchObject({ hostname: 'web', network: 'berth', publishAll: true, image: 'berth/sandbox:1', labels: { 'berth.sandbox': 'true', 'berth.pod': 'web', 'berth.node': NODE } });
    expect(s.ports).toEqual([
      { containerPort: 8080, protocol: 'TCP', hostIp: '127.0.0.1', hostPort: 18080 },
      { containerPort: 9090, protocol: 'TCP', hostIp: '127.0.0.1' },
    ]);
  });

  it('holds the node\'s own network for a hostNetwork pod (allowed by its operator): no ports published, no hostname of its own', () => {
    const b = binding('web', { containers: [spec('a', { ports: [{ containerPort: 8080, protocol: 'TCP', hostPort: 8080 }] })] });
    const s = sandboxSpec({ ...b, template: { ...b.template, hostNetwork: true } }, OPTS);
    expect(s).toMatchObject({ network: 'host', publishAll: false, ports: [] });
    expect(s.hostname).toBeUndefined();
    expect(s.name).not.toBe(sandboxSpec(b, OPTS).name);
  });

  it('keeps the sandbox across a template change that keeps its ports, and not otherwise', () => {
    expect(sbName(binding('web', { hash: 'h2', containers: [spec('app', { image: 'other' })] }))).toBe(sbName(web));
    expect(sbName(binding('web', { containers: [spec('app', { ports: [{ containerPort: 80, protocol: 'TCP' }] })] }))).not.toBe(sbName(web));
  });
});

describe('pods without a sandbox', () => {
  const two = binding('two', { containers: [spec('app'), spec('side')] });
  const withInit: BindingRecord = { ...binding('init'), template: { ...binding('init').template, initContainers: [spec('setup')] } };
  const onHost: BindingRecord = { ...binding('host'), template: { ...binding('host').template, hostNetwork: true } };

  it.each<[string, BindingRecord, boolean]>([
    ['one container', web, true],
    ['two containers (they share localhost)', two, false],
    ['an init container (the namespace must outlive it)', withInit, false],
    ['hostNetwork (the node\'s namespace)', onHost, false],
  ])('may run alone: %s → %s', (_name, b, want) => {
    expect(mayRunAlone(b)).toBe(want);
  });

  it.each<[string, Container[], string[]]>([
    ['a new pod', [], ['default/web']],
    ['its one container runs alone already', [member(web, undefined)], ['default/web']],
    ['an older berth gave it a sandbox, still running: it keeps it', [sandbox(web), member(web, 'sb-web')], []],
    ['its container still sits in a dead sandbox\'s namespace: it waits for it to go', [sandbox(web, { state: 'exited' }), member(web, 'sb-web')], []],
    ['only a dead sandbox is left: alone (the sandbox is removed)', [sandbox(web, { state: 'exited' })], ['default/web']],
  ])('alonePods: %s', (_name, containers, want) => {
    expect([...alonePods([web, two], containers, NODE)]).toEqual(want);
  });

  it('planSandboxes makes no sandbox for a pod that runs alone, leaves its container be, and removes a dead sandbox of its', () => {
    const alone = new Set(['default/web']);
    expect(planSandboxes([web], [member(web, undefined)], { ...OPTS, alone })).toMatchObject({ actions: [], stranded: new Set() });
    const p = planSandboxes([web], [sandbox(web, { state: 'exited' })], { ...OPTS, alone });
    expect(p.actions.map((a) => `${a.phase} ${a.kind} ${a.kind === 'create' ? a.spec.name : a.name}`)).toEqual([`2 remove ${sbName(web)}`]);
  });

  it('planAlone gives each pod that runs alone its network, static address and hostname; none without static addresses', () => {
    const statics = { id: 'net-id', pool: { first: parseIPv4('10.9.128.0') ?? 0, size: 100 } };
    const long = binding(`${'x'.repeat(62)}-y`);
    const got = planAlone([web, two, long], [], NODE, statics);
    expect([...got.keys()]).toEqual(['default/web', `default/${long.pod}`]);
    expect(got.get('default/web')).toMatchObject({ network: 'net-id', hostname: 'web', ip: expect.stringMatching(/^10\.9\.128\.\d+$/) });
    expect(got.get(`default/${long.pod}`)?.hostname).toBe(podHostname(long.pod));
    expect(podHostname(long.pod)).toBe('x'.repeat(62));
    // The address its container carries is kept.
    const held = { ...member(web, undefined), labels: { ...member(web, undefined).labels, [POD_IP_LABEL]: '10.9.128.42' } };
    expect(planAlone([web], [held], NODE, statics).get('default/web')?.ip).toBe('10.9.128.42');
    // A new template of the same pod: the old container holds its address until it goes, the new one gets another.
    expect(planAlone([binding('web', { hash: 'h2' })], [held], NODE, statics).get('default/web')?.ip).not.toBe('10.9.128.42');
    expect(planAlone([web], [], NODE, undefined).size).toBe(0);
  });
});
