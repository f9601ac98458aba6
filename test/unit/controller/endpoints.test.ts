import { describe, expect, it } from 'vitest';
import { allocateNodePorts, planEndpoints, type DesiredService, type EndpointsInput } from '../../../src/controller/index.js';
import { hashObject, type Service, type ServiceObject } from '../../../src/manifest/index.js';
import { endpointsKey, indexStatuses, type EndpointsRecord, type NodeRecord, type PodRecord, type PodStatusRecord } from '../../../src/store/index.js';
import { node, pod } from '../scheduler/fixtures.js';
import { statusOf } from './healthFixtures.js';

function service(name: string, spec: Partial<Service> = {}, o: { namespace?: string; source?: string } = {}): DesiredService {
  const meaning = {
    kind: 'Service' as const, namespace: o.namespace ?? 'default', name, labels: {},
    spec: { type: 'ClusterIP' as const, headless: false, selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' as const }], sessionAffinity: 'None' as const, ...spec },
  };
  const object: ServiceObject = { ...meaning, path: `${name}.yaml`, line: 1, hash: hashObject(meaning) };
  return { source: o.source ?? 'main', object };
}

/** A pod `name` on `n1` serving 8080 (named `web-http`), published on `hostPort`. */
function webPod(name: string, o: { node?: string; owner?: string } = {}): PodRecord {
  const p = pod(name, { node: o.node ?? 'n1', owner: o.owner ?? 'web' });
  const [c] = p.template.containers;
  if (c) c.ports = [{ name: 'web-http', containerPort: 8080, protocol: 'TCP' }];
  return p;
}

type PodNetwork = Pick<PodStatusRecord, 'podIP' | 'hostIP' | 'hostPorts'>;

function netStatus(p: PodRecord, net: PodNetwork, ready = true): PodStatusRecord {
  const s = statusOf(p, ready ? {} : { ready: { status: 'False', reason: 'ReadinessProbeFailed' } });
  return { ...s, ...net };
}

function input(o: Partial<Omit<EndpointsInput, 'statuses' | 'podsOf'>> & { statuses?: PodStatusRecord[]; pods?: PodRecord[] } = {}): EndpointsInput {
  const nodes: NodeRecord[] = [{ ...node('n1'), address: '192.0.2.1' }, { ...node('n2'), address: '192.0.2.2' }];
  return {
    services: o.services ?? [],
    sources: o.sources ?? new Set(['main']),
    sealed: o.sealed ?? new Set(['main']),
    podsOf: () => o.pods ?? [],
    statuses: indexStatuses(o.statuses ?? []),
    nodes: o.nodes ?? new Map(nodes.map((n) => [n.name, n])),
    current: o.current ?? new Map(),
    ...(o.only === undefined ? {} : { only: o.only }),
  };
}

describe('planEndpoints', () => {
  const a = webPod('web-a');
  const b = webPod('web-b', { node: 'n2' });
  const other = webPod('api-a', { owner: 'api' });
  const net = (ip: string, hostPort: number): PodNetwork => ({ podIP: ip, hostIP: '', hostPorts: [{ containerPort: 8080, protocol: 'TCP', hostPort }] });

  it('lists the ready pods the selector matches, with podIP, hostIP and the published port of each target port', () => {
    const plan = planEndpoints(input({
      services: [service('web')],
      pods: [b, a, other, webPod('web-c')],
      statuses: [netStatus(a, { ...net('10.88.0.2', 32001), hostIP: '192.0.2.9' }), netStatus(b, net('10.88.1.2', 32002)), netStatus(other, net('10.88.0.3', 32003)), netStatus(webPod('web-c'), net('10.88.0.4', 32004), false)],
    }));
    expect(plan).toEqual({
      put: [{
        type: 'endpoints', namespace: 'default', service: 'web', source: 'main', serviceType: 'ClusterIP', headless: false,
        ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }],
        endpoints: [
          { pod: 'web-a', node: 'n1', podIP: '10.88.0.2', hostIP: '192.0.2.9', ports: [{ name: 'http', containerPort: 8080, hostPort: 32001 }] },
          // No hostIP reported: the node's registered address.
          { pod: 'web-b', node: 'n2', podIP: '10.88.1.2', hostIP: '192.0.2.2', ports: [{ name: 'http', containerPort: 8080, hostPort: 32002 }] },
        ],
      }],
      delete: [],
      conflicts: [],
    });
  });

  it.each([
    ['a target port by name', { ports: [{ name: 'http', port: 80, targetPort: 'web-http', protocol: 'TCP' as const }] }, [{ name: 'http', containerPort: 8080, hostPort: 32001 }]],
    ['a target port the pod does not name (the pod serves none, so it is left out)', { ports: [{ name: 'http', port: 80, targetPort: 'nope', protocol: 'TCP' as const }] }, undefined],
    ['a target port by a number the pod does not publish', { ports: [{ name: '', port: 80, targetPort: 9090, protocol: 'TCP' as const }] }, [{ name: '', containerPort: 9090 }]],
    ['a headless Service without ports', { headless: true, ports: [] }, []],
  ])('resolves %s', (_, spec, ports) => {
    const plan = planEndpoints(input({ services: [service('web', spec)], pods: [a], statuses: [netStatus(a, net('10.88.0.2', 32001))] }));
    expect(plan.put[0]?.endpoints.map((e) => e.ports)).toEqual(ports === undefined ? [] : [ports]);
  });

  it.each([
    ['its node is gone', { nodes: new Map() }],
    ['its status is of another template', { statuses: [{ ...netStatus(a, net('10.88.0.2', 32001)), templateHash: 'other' }] }],
    ['it is in another namespace', { services: [service('web', {}, { namespace: 'shop' })] }],
  ])('leaves a pod out when %s', (_, o) => {
    const plan = planEndpoints(input({ services: [service('web')], pods: [a], statuses: [netStatus(a, net('10.88.0.2', 32001))], ...o }));
    expect(plan.put[0]?.endpoints).toEqual([]);
  });

  it('writes nothing when nothing changed, and deletes records of Services gone from a source read in full or from a source without a seal', () => {
    const first = planEndpoints(input({ services: [service('web')], pods: [a], statuses: [netStatus(a, net('10.88.0.2', 32001))] }));
    const [record] = first.put;
    if (record === undefined) throw new Error('no record');
    const orphan = (name: string, source: string): [string, EndpointsRecord] => [endpointsKey('default', name), { ...record, service: name, source }];
    const current = new Map([[endpointsKey('default', 'web'), record], orphan('gone', 'main'), orphan('unread', 'other'), orphan('unsealed', 'old')]);
    const again = planEndpoints(input({ services: [service('web')], pods: [a], statuses: [netStatus(a, net('10.88.0.2', 32001))], current, sealed: new Set(['main', 'other']) }));
    expect(again).toEqual({ put: [], delete: ['endpoints/default/gone', 'endpoints/default/unsealed'], conflicts: [] });
  });

  it('plans only the Services of `only`, each as a full plan would, and leaves other records alone', () => {
    const services = [service('api', { type: 'NodePort', selector: { app: 'api' } }), service('web', { type: 'NodePort' })];
    const statuses = [netStatus(a, net('10.88.0.2', 32001)), netStatus(other, net('10.88.0.3', 32003))];
    const full = planEndpoints(input({ services, pods: [a, other], statuses }));
    const gone = full.put[0];
    if (gone === undefined) throw new Error('no record');
    const current = new Map([[endpointsKey('default', 'gone'), { ...gone, service: 'gone' }]]);
    const one = planEndpoints(input({ services, pods: [a, other], statuses, current, only: new Set([endpointsKey('default', 'web')]) }));
    expect(one).toEqual({ put: full.put.filter((r) => r.service === 'web'), delete: [], conflicts: [] });
    expect(one.put[0]?.ports[0]?.nodePort).toBe(30001);
    const stray = planEndpoints(input({ services, current, only: new Set([endpointsKey('default', 'gone')]) }));
    expect(stray).toEqual({ put: [], delete: ['endpoints/default/gone'], conflicts: [] });
  });

  it('keeps a Service two sources declare with the first source, and says so', () => {
    const plan = planEndpoints(input({ services: [service('web', {}, { source: 'zeta' }), service('web', {}, { source: 'alpha' })], sources: new Set(['alpha', 'zeta']) }));
    expect(plan.put.map((r) => r.source)).toEqual(['alpha']);
    expect(plan.conflicts).toEqual([{ key: 'endpoints/default/web', message: 'Service default/web of source zeta is also declared by source alpha, which keeps it' }]);
  });
});

describe('allocateNodePorts', () => {
  const np = (name: string, ports: { name?: string; nodePort?: number }[], source = 'main'): DesiredService =>
    service(name, { type: 'NodePort', ports: ports.map((p, i) => ({ port: 80 + i, targetPort: 8080, protocol: 'TCP' as const, ...p })) }, { source });
  const had = (name: string, ports: [string, number][]): [string, EndpointsRecord] => [
    endpointsKey('default', name),
    { type: 'endpoints', namespace: 'default', service: name, source: 'main', serviceType: 'NodePort', headless: false, endpoints: [], ports: ports.map(([n, nodePort]) => ({ name: n, port: 80, protocol: 'TCP', targetPort: 8080, nodePort })) },
  ];
  const table = (r: ReturnType<typeof allocateNodePorts>): Record<string, Record<string, number>> =>
    Object.fromEntries([...r.nodePorts].map(([k, m]) => [k.slice('endpoints/default/'.length), Object.fromEntries(m)]));

  it.each([
    ['the lowest free ports, around the repository\'s own', [np('a', [{ name: 'x' }, { name: 'y' }]), np('b', [{ nodePort: 30001 }])], [], { a: { x: 30000, y: 30002 }, b: { '': 30001 } }],
    ['the port a Service had, across commits', [np('a', [{}]), np('b', [{}])], [had('b', [['', 30000]])], { a: { '': 30001 }, b: { '': 30000 } }],
    ['the repository\'s port over one allocated before', [np('a', [{}]), np('b', [{ nodePort: 30000 }])], [had('a', [['', 30000]])], { a: { '': 30001 }, b: { '': 30000 } }],
    ['none for a ClusterIP Service', [service('c')], [], {}],
  ])('gives %s', (_, services, current, expected) => {
    const r = allocateNodePorts(services, new Map(current));
    expect(table(r)).toEqual(expected);
    expect(r.conflicts).toEqual([]);
  });

  it('gives a port two sources ask for to the first, and another to the second', () => {
    const r = allocateNodePorts([np('a', [{ nodePort: 30080 }], 'alpha'), np('b', [{ nodePort: 30080 }], 'beta')], new Map());
    expect(table(r)).toEqual({ a: { '': 30080 }, b: { '': 30000 } });
    expect(r.conflicts).toEqual([{ key: 'endpoints/default/b', message: 'nodePort 30080 is already used by default/a; this port gets another one' }]);
  });
});
