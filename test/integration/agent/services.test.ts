// The Service data plane on real Docker and etcd: stubs on a pod network carrying the Service's
// names, DNAT rules in their own namespaces, replaced on endpoint changes, surviving the agent.
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { startAgent } from '../../../src/agent/agent.js';
import { DockerStubs } from '../../../src/agent/service-docker.js';
import { startServiceProxy, type ServiceProxy } from '../../../src/agent/services.js';
import { STUB_LABEL, natRules } from '../../../src/agent/rules.js';
import { DockerRuntime } from '../../../src/agent/docker.js';
import { EtcdStore, encode, endpointsKey, type EndpointsRecord } from '../../../src/store/index.js';
import { dockerRequest } from '../../support/docker.js';
import { freePort } from '../../support/ports.js';
import { ServiceBed } from '../../support/service-bed.js';
import { uniqueName } from '../../support/names.js';
import { waitFor } from '../../support/wait.js';

const dockerHost = inject('dockerHost');
const image = inject('testImage');
const STUB_IMAGE = 'berth-test/service-proxy:1';
const stubs = new DockerStubs({ docker: dockerHost });

beforeAll(async () => {
  await stubs.ensureImage(STUB_IMAGE);
}, 120_000);

interface World {
  store: EtcdStore;
  bed: ServiceBed;
  node: string;
  client: string;
  proxy(node?: string): Promise<ServiceProxy>;
  put(r: EndpointsRecord): Promise<void>;
  /** Wait until this node's stub of `service` has `record`'s rules loaded (read back from the stub). */
  loaded(service: string, r: EndpointsRecord, node?: string): Promise<void>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function world(): Promise<World> {
  const name = uniqueName('svc');
  const store = await EtcdStore.connect([inject('etcdEndpoint')], `/${name}`);
  const bed = new ServiceBed(dockerHost, image, name);
  await bed.createNetwork();
  const nodes = new Set<string>([`${name}-n1`]);
  cleanups.push(async () => {
    const ids = (await Promise.all([...nodes].map((n) => stubs.list(n)))).flat().map((c) => c.id);
    await bed.dispose(ids);
    const { entries } = await store.list('');
    for (const e of entries) await store.commit({ del: [e.key] });
    await store.close();
  });
  const client = (await bed.run('client', ['sleep', '100000'])).id;
  const node = `${name}-n1`;
  return {
    store, bed, node, client,
    async proxy(n = node) {
      nodes.add(n);
      const p = await startServiceProxy({ store, stubs, log: silentLogger(), node: n, network: name, image: STUB_IMAGE, hostIp: '127.0.0.1' });
      cleanups.push(() => p.stop());
      return p;
    },
    async put(r) {
      await store.commit({ put: [{ key: endpointsKey(r.namespace, r.service), value: encode(r) }] });
    },
    async loaded(service, r, n = node) {
      const want = natRules(r, n).split('\n').filter((l) => l.startsWith('-A')).map((l) => l.replace(/ -m tcp/, ''));
      await waitFor(
        async () => {
          const [stub] = (await stubs.list(n)).filter((c) => c.labels['berth.service'] === `default/${service}` && c.state === 'running');
          if (stub === undefined) return false;
          const got = await bed.runtime.exec(stub.id, ['/sbin/iptables', '-t', 'nat', '-S'], 5000);
          const rules = got.output.split('\n').filter((l) => l.startsWith('-A')).map((l) => l.replace(/ -m tcp/, ''));
          return want.every((w) => rules.some((x) => x.startsWith(w.split(' -j ')[0] ?? w) && x.includes(w.split('--to-destination ')[1] ?? ''))) && rules.length === want.length;
        },
        { timeoutMs: 30_000, what: `the rules of ${service} in its stub` },
      );
    },
  };
}

/** Docker's inspect of a container. */
async function inspect(id: string): Promise<unknown> {
  const res = await dockerRequest(dockerHost, 'GET', `/containers/${id}/json`);
  if (res.status !== 200) throw new Error(`docker inspect ${id}: ${res.status} ${res.body}`);
  return JSON.parse(res.body) as unknown;
}

function record(service: string, endpoints: EndpointsRecord['endpoints'], o: { port?: number; targetPort?: number; nodePort?: number } = {}): EndpointsRecord {
  return {
    type: 'endpoints', namespace: 'default', service, source: 'main', serviceType: o.nodePort === undefined ? 'ClusterIP' : 'NodePort', headless: false,
    ports: [{ name: 'http', port: o.port ?? 80, protocol: 'TCP', targetPort: o.targetPort ?? 8080, ...(o.nodePort === undefined ? {} : { nodePort: o.nodePort }) }],
    endpoints,
  };
}

/** An endpoint on `node` at `ip` (its own address there) and `hostIP:hostPort` (how other nodes reach it). */
const endpoint = (pod: string, node: string, b: { ip: string; hostPort?: number }, hostIP: string, port = 8080): EndpointsRecord['endpoints'][number] => ({
  pod, node, podIP: b.ip, hostIP, ports: [{ name: 'http', containerPort: port, ...(b.hostPort === undefined ? {} : { hostPort: b.hostPort }) }],
});

describe('Service stubs on Docker', () => {
  it('reaches a Service by each of its names with port 80 remapped to 8080, over local and remote endpoints; two Services share port 80', async () => {
    const w = await world();
    const gw = await w.bed.gateway();
    const [one, two, api] = await Promise.all([w.bed.backend('one', 'one'), w.bed.backend('two', 'two'), w.bed.backend('api', 'api')]);
    // `two` is on another node: reached at its node's address and published port, not its pod IP.
    const web = record('web', [endpoint('one', w.node, one, gw), endpoint('two', 'elsewhere', two, gw)]);
    const apiRecord = record('api', [endpoint('api', w.node, api, gw)]);
    await w.put(web);
    await w.put(apiRecord);
    await w.proxy();
    await w.loaded('web', web);
    await w.loaded('api', apiRecord);

    for (const name of ['web', 'web.default', 'web.default.svc.cluster.local']) {
      const counts = await w.bed.fetchMany(w.client, `http://${name}:80/`, 20);
      expect(counts.FAIL ?? 0).toBe(0);
      expect((counts.one ?? 0) + (counts.two ?? 0)).toBe(20);
    }
    expect(await w.bed.fetchMany(w.client, 'http://api/', 10)).toEqual({ api: 10 });
    // Spread: over 40 more connections both endpoints answer (a miss has odds of 2^-39).
    const spread = await w.bed.fetchMany(w.client, 'http://web/', 40);
    expect(spread.one).toBeGreaterThan(0);
    expect(spread.two).toBeGreaterThan(0);
  });

  it('takes an endpoint out of rotation on its update: after it, no connection fails while its pod is killed', async () => {
    const w = await world();
    const gw = await w.bed.gateway();
    const [one, two] = await Promise.all([w.bed.backend('one', 'one'), w.bed.backend('two', 'two')]);
    const both = record('web', [endpoint('one', w.node, one, gw), endpoint('two', w.node, two, gw)]);
    await w.put(both);
    await w.proxy();
    await w.loaded('web', both);

    const onlyTwo = record('web', [endpoint('two', w.node, two, gw)]);
    await w.put(onlyTwo);
    await w.loaded('web', onlyTwo);
    await w.bed.remove(one.id);
    expect(await w.bed.fetchMany(w.client, 'http://web/', 100)).toEqual({ two: 100 });
  });

  it('keeps forwarding while no agent runs; a new agent adopts the stubs and follows changes', async () => {
    const w = await world();
    const gw = await w.bed.gateway();
    const [one, two] = await Promise.all([w.bed.backend('one', 'one'), w.bed.backend('two', 'two')]);
    const r1 = record('web', [endpoint('one', w.node, one, gw)]);
    await w.put(r1);
    const first = await w.proxy();
    await w.loaded('web', r1);
    const [stub] = await stubs.list(w.node);
    await first.stop();

    expect(await w.bed.fetchMany(w.client, 'http://web/', 20)).toEqual({ one: 20 });

    const r2 = record('web', [endpoint('two', w.node, two, gw)]);
    await w.put(r2);
    await w.proxy();
    await w.loaded('web', r2);
    expect(await w.bed.fetchMany(w.client, 'http://web/', 10)).toEqual({ two: 10 });
    expect((await stubs.list(w.node)).map((c) => c.id)).toEqual([stub?.id]);
  });

  it('an agent serving Services: stopping the agent leaves its stubs forwarding', async () => {
    const w = await world();
    const gw = await w.bed.gateway();
    const one = await w.bed.backend('one', 'one');
    const r = record('web', [endpoint('one', w.node, one, gw)]);
    await w.put(r);
    const agent = await startAgent({
      store: w.store, runtime: w.bed.runtime, node: w.node, log: silentLogger(), hostIp: '127.0.0.1',
      services: { stubs, network: w.bed.network, image: STUB_IMAGE },
    });
    cleanups.push(() => agent.stop());
    await w.loaded('web', r);
    await agent.stop();
    expect(await w.bed.fetchMany(w.client, 'http://web.default/', 20)).toEqual({ one: 20 });
  });

  it.each([
    // docker kill marks it stopped by hand: Docker leaves it dead, and the agent makes another.
    ['killed with docker kill', async (id: string): Promise<void> => void (await dockerRequest(dockerHost, 'POST', `/containers/${id}/kill`))],
    // Its process dies: Docker restarts it (unless-stopped) in a new network namespace, with no rules.
    ['whose process dies', async (id: string): Promise<void> => void process.kill(((await inspect(id)) as { State: { Pid: number } }).State.Pid, 'SIGKILL')],
  ] as const)('a stub %s under a running agent: the agent sees it in Docker\'s events and loads the rules again', async (_how, act) => {
    const w = await world();
    const gw = await w.bed.gateway();
    const one = await w.bed.backend('one', 'one');
    const r = record('web', [endpoint('one', w.node, one, gw)]);
    await w.put(r);
    // No periodic resync in this test's time: only Docker's events can bring the Service back.
    const agent = await startAgent({
      store: w.store, runtime: w.bed.runtime, node: w.node, log: silentLogger(), hostIp: '127.0.0.1',
      services: { stubs, network: w.bed.network, image: STUB_IMAGE, resyncMs: 3_600_000 },
    });
    cleanups.push(() => agent.stop());
    await w.loaded('web', r);
    expect(await w.bed.fetchMany(w.client, 'http://web/', 5)).toEqual({ one: 5 });
    const [before] = await stubs.list(w.node);
    if (before === undefined) throw new Error('no stub');
    const started = async (id: string): Promise<string> => ((await inspect(id)) as { State: { StartedAt: string } }).State.StartedAt;
    const startedBefore = await started(before.id);

    await act(before.id);
    // A stub running again (another, or the same restarted), then the rules loaded into it.
    await waitFor(async () => {
      const [now] = (await stubs.list(w.node)).filter((c) => c.state === 'running');
      return now !== undefined && (now.id !== before.id || (await started(now.id)) !== startedBefore);
    }, { timeoutMs: 30_000, what: 'the stub running again' });
    await w.loaded('web', r);
    expect(await w.bed.fetchMany(w.client, 'http://web/', 20)).toEqual({ one: 20 });
  });

  it('publishes a NodePort on the node\'s address: reachable from the host', async () => {
    const w = await world();
    const gw = await w.bed.gateway();
    const one = await w.bed.backend('one', 'one');
    const nodePort = await freePort();
    const r = record('web', [endpoint('one', w.node, one, gw)], { nodePort });
    await w.put(r);
    await w.proxy();
    await w.loaded('web', r);
    const body = await waitFor(async () => (await fetch(`http://127.0.0.1:${nodePort}/`, { signal: AbortSignal.timeout(2000) })).text(), { timeoutMs: 15_000, what: 'the node port' });
    expect(body.trim()).toBe('one');
  });

  it('resolves a headless Service to one address per ready pod, each reaching its own pod on every port', async () => {
    const w = await world();
    const gw = await w.bed.gateway();
    const [one, two] = await Promise.all([w.bed.backend('one', 'one'), w.bed.backend('two', 'two')]);
    const r: EndpointsRecord = { ...record('db', [endpoint('one', w.node, one, gw), endpoint('two', 'elsewhere', two, gw)]), headless: true, ports: [] };
    await w.put(r);
    await w.proxy();
    const addresses = await waitFor(
      async () => {
        const out = await w.bed.runtime.exec(w.client, ['nslookup', 'db.default.svc.cluster.local'], 5000);
        const found = [...out.output.matchAll(/Address:\s+(\d+\.\d+\.\d+\.\d+)$/gm)].map((m) => m[1]).filter((a) => a !== '127.0.0.11');
        return found.length === 2 ? found : undefined;
      },
      { timeoutMs: 30_000, what: 'two addresses for db' },
    );
    const answers = await Promise.all(addresses.map(async (a) => Object.keys(await waitFor(async () => {
      const c = await w.bed.fetchMany(w.client, `http://${a ?? ''}:8080/`, 3);
      return c.FAIL === undefined ? c : undefined;
    }, { timeoutMs: 15_000, what: `an answer at ${a ?? ''}` }))));
    expect(answers.flat().sort()).toEqual(['one', 'two']);

    // The pod `one` stops being ready: its address goes with its stub.
    await w.put({ ...r, endpoints: r.endpoints.slice(1) });
    await waitFor(async () => (await stubs.list(w.node)).length === 1, { timeoutMs: 30_000, what: 'one stub left' });
    expect(await w.bed.fetchMany(w.client, 'http://db:8080/', 5)).toEqual({ two: 5 });
  });

  it('runs a stub per node: two agents with different node names on one pod network both serve the Service', async () => {
    const w = await world();
    const gw = await w.bed.gateway();
    const [one, two] = await Promise.all([w.bed.backend('one', 'one'), w.bed.backend('two', 'two')]);
    const other = `${w.node}-b`;
    const r = record('web', [endpoint('one', w.node, one, gw), endpoint('two', other, two, gw)]);
    await w.put(r);
    await w.proxy();
    await w.proxy(other);
    await w.loaded('web', r);
    await w.loaded('web', r, other);
    // Each stub sends its own pods to their pod IP and the others' to their node's published port.
    expect(natRules(r, w.node)).toContain(`${one.ip}:8080`);
    expect(natRules(r, other)).toContain(`${two.ip}:8080`);
    const counts = await w.bed.fetchMany(w.client, 'http://web/', 40);
    expect(counts.FAIL ?? 0).toBe(0);
    expect((counts.one ?? 0) + (counts.two ?? 0)).toBe(40);
  });

  it('makes the pod network once with the agents of its process, and runs its stubs on the one kept when Docker holds two of that name', async () => {
    const net = uniqueName('svcnet');
    const named = async (): Promise<{ Id: string; Name: string; Created: string }[]> => {
      const res = await dockerRequest(dockerHost, 'GET', `/networks?filters=${encodeURIComponent(JSON.stringify({ name: [net] }))}`);
      return (JSON.parse(res.body) as { Id: string; Name: string; Created: string }[]).filter((n) => n.Name === net);
    };
    const made: string[] = [];
    cleanups.push(async () => {
      for (const id of made) await dockerRequest(dockerHost, 'DELETE', `/containers/${id}?force=true`);
      for (const n of await named()) await dockerRequest(dockerHost, 'DELETE', `/networks/${n.Id}`);
    });
    // The Service loop and two agents' sandboxes of one process race to make it: one network.
    const agents = [new DockerRuntime({ docker: dockerHost }), new DockerRuntime({ docker: dockerHost })];
    const [, a, b] = await Promise.all([stubs.ensureNetwork(net), ...agents.map((r) => r.ensureNetwork(net, { 'berth.pod-network': net }))]);
    expect(b).toEqual(a);
    expect((await named()).map((n) => n.Id)).toEqual([a?.id]);

    // Another process's agent made a second one of the name (Docker's duplicate check is best effort), and
    // Docker refuses the name as ambiguous: the stubs keep the oldest, remove the other, and run on it.
    const second = await dockerRequest(dockerHost, 'POST', '/networks/create', { body: JSON.stringify({ Name: net, Driver: 'bridge', CheckDuplicate: false }), headers: { 'Content-Type': 'application/json' } });
    expect(second.status).toBe(201);
    expect((await named()).length).toBe(2);
    const fresh = new DockerStubs({ docker: dockerHost });
    await fresh.ensureNetwork(net);
    expect((await named()).map((n) => n.Id)).toEqual([a?.id]);
    const node = `${net}-n1`;
    const id = await fresh.create({ name: `${net}-stub`, image: STUB_IMAGE, network: net, aliases: ['web'], published: [], hostIp: '127.0.0.1', labels: { [STUB_LABEL.node]: node } });
    made.push(id);
    const info = JSON.parse((await dockerRequest(dockerHost, 'GET', `/containers/${id}/json`)).body) as { NetworkSettings: { Networks: Record<string, { NetworkID: string }> } };
    expect(Object.values(info.NetworkSettings.Networks).map((n) => n.NetworkID)).toEqual([a?.id]);
  });
});
