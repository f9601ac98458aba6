import { describe, expect, it } from 'vitest';
import { natRules, planStubs, podRules, serviceNames, stubSpec, stubWants, STUB_LABEL } from '../../../src/agent/rules.js';
import type { Container } from '../../../src/agent/runtime.js';
import type { EndpointsRecord } from '../../../src/store/index.js';

const OPTS = { node: 'n1', image: 'berth/service-proxy:1', network: 'berth', hostIp: '0.0.0.0' };

function record(endpoints: EndpointsRecord['endpoints'], o: Partial<EndpointsRecord> = {}): EndpointsRecord {
  return {
    type: 'endpoints', namespace: 'shop', service: 'cart', source: 'main', serviceType: 'ClusterIP', headless: false,
    ports: [{ name: 'grpc', port: 7070, protocol: 'TCP', targetPort: 7070 }], endpoints, ...o,
  };
}
const ep = (pod: string, node: string, podIP: string | undefined, hostPort?: number): EndpointsRecord['endpoints'][number] => ({
  pod, node, ...(podIP === undefined ? {} : { podIP }), hostIP: `192.0.2.${node === 'n1' ? 1 : 2}`, ports: [{ name: 'grpc', containerPort: 7070, ...(hostPort === undefined ? {} : { hostPort }) }],
});
const HEAD = '*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n';
const TAIL = '-A POSTROUTING -m conntrack --ctstate DNAT -j MASQUERADE\nCOMMIT\n';
const rule = (spread: string, to: string): string => `-A PREROUTING -p tcp -m tcp --dport 7070${spread} -j DNAT --to-destination ${to}\n`;

describe('natRules', () => {
  it.each([
    ['no endpoint: no rule (the stub refuses)', [], ''],
    ['one local pod: its pod IP and container port', [ep('a', 'n1', '10.88.0.2', 32001)], rule('', '10.88.0.2:7070')],
    ['a pod elsewhere: its node\'s address and published port', [ep('b', 'n2', '10.88.1.2', 32002)], rule('', '192.0.2.2:32002')],
    ['a pod elsewhere with no published port: unreachable from here, left out', [ep('b', 'n2', '10.88.1.2')], ''],
    ['a local pod without an IP yet: its published port', [ep('a', 'n1', undefined, 32001)], rule('', '192.0.2.1:32001')],
    [
      'three pods: spread evenly (1/3, then 1/2, then the rest)',
      [ep('a', 'n1', '10.88.0.2'), ep('b', 'n2', '10.88.1.2', 32002), ep('c', 'n1', '10.88.0.3')],
      rule(' -m statistic --mode random --probability 0.3333333333', '10.88.0.2:7070') + rule(' -m statistic --mode random --probability 0.5000000000', '192.0.2.2:32002') + rule('', '10.88.0.3:7070'),
    ],
  ])('%s', (_, endpoints, rules) => {
    expect(natRules(record(endpoints), 'n1')).toBe(HEAD + rules + TAIL);
  });

  it('sends each Service port to the port of that name, remapped', () => {
    const r = record([{ pod: 'a', node: 'n1', podIP: '10.88.0.2', ports: [{ name: 'http', containerPort: 8080 }, { name: 'admin', containerPort: 9090 }] }], {
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }, { name: 'admin', port: 81, protocol: 'TCP', targetPort: 'admin' }],
    });
    expect(natRules(r, 'n1')).toContain('--dport 80 -j DNAT --to-destination 10.88.0.2:8080\n-A PREROUTING -p tcp -m tcp --dport 81 -j DNAT --to-destination 10.88.0.2:9090\n');
  });
});

describe('stubSpec', () => {
  it('carries the three names, the node ports, and a hash of its make-up', () => {
    const s = stubSpec(record([], { serviceType: 'NodePort', ports: [{ name: '', port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 30080 }] }), OPTS);
    expect(s).toMatchObject({ name: 'berth-svc-n1-shop-cart', aliases: ['cart', 'cart.shop', 'cart.shop.svc.cluster.local'], published: [{ port: 80, nodePort: 30080 }] });
    expect(serviceNames('shop', 'cart')).toEqual(s.aliases);
    // Endpoints are not part of the make-up: they change the rules, never the stub.
    expect(stubSpec(record([ep('a', 'n1', '10.88.0.2')]), OPTS).labels).toEqual(stubSpec(record([]), OPTS).labels);
    expect(stubSpec(record([]), { ...OPTS, network: 'other' }).labels[STUB_LABEL.hash]).not.toBe(stubSpec(record([]), OPTS).labels[STUB_LABEL.hash]);
  });
});

describe('planStubs', () => {
  const spec = stubSpec(record([]), OPTS);
  const wants = new Map([['shop/cart', { spec, rules: 'R2' }]]);
  const stub = (id: string, o: Partial<Container> & { hash?: string; service?: string } = {}): Container => ({
    id, name: id, image: OPTS.image, state: 'running', ports: [], ...o,
    labels: { ...spec.labels, [STUB_LABEL.hash]: o.hash ?? spec.labels[STUB_LABEL.hash] ?? '', [STUB_LABEL.service]: o.service ?? 'shop/cart' },
  });
  it.each([
    ['creates a missing stub', [], new Map<string, string>(), { remove: [], create: ['shop/cart'], load: [] }],
    ['loads new rules into a running stub', [stub('s1')], new Map([['s1', 'R1']]), { remove: [], create: [], load: ['s1'] }],
    ['leaves a stub whose rules are loaded', [stub('s1')], new Map([['s1', 'R2']]), { remove: [], create: [], load: [] }],
    ['replaces a stub of another make-up', [stub('s1', { hash: 'old' })], new Map(), { remove: ['s1'], create: ['shop/cart'], load: [] }],
    ['replaces a stopped stub', [stub('s1', { state: 'exited' })], new Map(), { remove: ['s1'], create: ['shop/cart'], load: [] }],
    ['removes the stub of a Service gone, and a second stub of one', [stub('s1'), stub('s2'), stub('s3', { service: 'shop/gone' })], new Map([['s1', 'R2']]), { remove: ['s2', 's3'], create: [], load: [] }],
  ])('%s', (_, observed, loaded, expected) => {
    const plan = planStubs(wants, observed, loaded);
    expect({ remove: plan.remove.map((c) => c.id), create: plan.create.map((c) => c.service), load: plan.load.map((l) => l.id) }).toEqual(expected);
  });
});

describe('headless Services: one stub per ready pod', () => {
  const r = record([ep('a', 'n1', '10.88.0.2', 32001), ep('b', 'n2', '10.88.1.2', 32002)], { headless: true, ports: [] });
  it('each pod\'s stub forwards every port to a local pod, and the named ports to a remote one\'s node', () => {
    const wants = stubWants([r], OPTS);
    expect([...wants.keys()]).toEqual(['shop/cart/a', 'shop/cart/b']);
    expect(wants.get('shop/cart/a')?.spec).toMatchObject({ name: 'berth-svc-n1-shop-cart-a', aliases: ['cart', 'cart.shop', 'cart.shop.svc.cluster.local'] });
    expect(wants.get('shop/cart/a')?.rules).toBe(`${HEAD}-A PREROUTING -p tcp -j DNAT --to-destination 10.88.0.2\n${TAIL}`);
    expect(wants.get('shop/cart/b')?.rules).toBe(`${HEAD}-A PREROUTING -p tcp -m tcp --dport 7070 -j DNAT --to-destination 192.0.2.2:32002\n${TAIL}`);
    expect(podRules(r.endpoints[0] ?? ep('x', 'n1', undefined), 'n2')).toContain('--to-destination 192.0.2.1:32001');
  });
});
