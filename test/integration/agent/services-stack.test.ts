// Services end to end, in one process: a commit's Deployments and Service → controller, scheduler,
// two agents with different node names sharing one engine and one pod network → a pod reaches the
// other Deployment's pods by the Service's names, on a remapped port, on both nodes.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { startAgent, type Agent } from '../../../src/agent/agent.js';
import { DockerRuntime } from '../../../src/agent/docker.js';
import { DockerStubs } from '../../../src/agent/service-docker.js';
import { startController } from '../../../src/controller/index.js';
import { silentLogger } from '../../../src/log.js';
import { parseFiles } from '../../../src/manifest/index.js';
import { startScheduler } from '../../../src/scheduler/index.js';
import { EtcdStore, decode, endpointsKey, type EndpointsRecord, type Store } from '../../../src/store/index.js';
import { applyCommit } from '../../../src/sync/index.js';
import { dockerRequest } from '../../support/docker.js';
import { ServiceBed } from '../../support/service-bed.js';
import { uniqueName } from '../../support/names.js';
import { waitFor } from '../../support/wait.js';

const dockerHost = inject('dockerHost');
const image = inject('testImage');
const STUB_IMAGE = 'berth-test/service-proxy:1';

const MANIFESTS = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: ${image}
        command: [sh, -c, 'mkdir -p /w && hostname > /w/index.html && exec httpd -f -p 8080 -h /w']
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {tcpSocket: {port: http}, periodSeconds: 1}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: client}
spec:
  selector: {matchLabels: {app: client}}
  template:
    metadata: {labels: {app: client}}
    spec:
      containers:
      - name: client
        image: ${image}
        command: [sleep, '100000']
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
`;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

/** Controller, scheduler and two agents of different node names on one engine and one pod network, removed after the test. */
async function stack(): Promise<{ store: Store; runtime: DockerRuntime; stubs: DockerStubs; bed: ServiceBed; nodes: string[] }> {
  const name = uniqueName('svcstack');
  const store: Store = await EtcdStore.connect([inject('etcdEndpoint')], `/${name}`);
  const runtime = new DockerRuntime({ docker: dockerHost });
  const stubs = new DockerStubs({ docker: dockerHost });
  const bed = new ServiceBed(dockerHost, image, name);
  const nodes = [`${name}-a`, `${name}-b`];
  const dataDir = await mkdtemp(join(tmpdir(), 'berth-svcstack-'));
  cleanups.push(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });
  cleanups.push(async () => {
    for (const n of nodes) for (const c of [...(await runtime.list({ 'berth.node': n })), ...(await stubs.list(n))]) await runtime.remove(c.id);
    await bed.dispose();
    const { entries } = await store.list('');
    for (const e of entries) await store.commit({ del: [e.key] });
    await store.close();
  });
  const controller = await startController({ store, log: silentLogger() });
  cleanups.push(() => controller.stop());
  const scheduler = await startScheduler({ store, log: silentLogger() });
  cleanups.push(() => scheduler.stop());
  const agents: Agent[] = [];
  for (const node of nodes) {
    const agent = await startAgent({
      store, runtime, node, log: silentLogger(), hostIp: '0.0.0.0', stopGraceSeconds: 1, podNetwork: name, dataDir,
      services: { stubs, network: name, image: STUB_IMAGE },
    });
    agents.push(agent);
    cleanups.push(() => agent.stop());
  }
  return { store, runtime, stubs, bed, nodes };
}

/** The endpoints record of web once it has `count` ready pods with their pod IPs. */
function webEndpoints(store: Store, count: number): Promise<EndpointsRecord> {
  return waitFor(
    async () => {
      const e = await store.get(endpointsKey('default', 'web'));
      const r = e && decode('endpoints', e.key, e.value);
      return r !== undefined && r.endpoints.length === count && r.endpoints.every((x) => x.podIP !== undefined) ? r : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 50, what: `${count} ready endpoint(s) of web` },
  );
}

/** Until `victim` is out of both nodes' stub rules: its pod IP on its node, its published port on the other. */
async function outOfRules(runtime: DockerRuntime, stubs: DockerStubs, nodes: string[], victim: EndpointsRecord['endpoints'][number]): Promise<void> {
  const gone = [`${victim.podIP ?? '?'}:`, `${victim.hostIP ?? '?'}:${victim.ports[0]?.hostPort ?? '?'}`];
  for (const node of nodes) {
    await waitFor(async () => {
      const [stub] = await stubs.list(node);
      const rules = stub && (await runtime.exec(stub.id, ['/sbin/iptables', '-t', 'nat', '-S'], 5000)).output;
      return rules !== undefined && rules.includes('DNAT') && !gone.some((g) => rules.includes(`--to-destination ${g}`));
    }, { timeoutMs: 30_000, intervalMs: 50, what: `${victim.pod} out of the stub rules of ${node}` });
  }
}

/** The one running `client` container of the two nodes. */
async function clientOf(runtime: DockerRuntime, nodes: string[]): Promise<string> {
  const [client] = await waitFor(async () => {
    const found = (await runtime.list({ 'berth.container': 'client' })).filter((c) => nodes.includes(c.labels['berth.node'] ?? '') && c.state === 'running');
    return found.length === 1 ? found : undefined;
  }, { timeoutMs: 60_000, what: 'the client pod running' });
  if (client === undefined) throw new Error('no client');
  return client.id;
}

describe('Services through the whole stack', () => {
  it('a pod reaches the pods of another Deployment by the Service\'s names, across two agents of different node names', async () => {
    const { store, runtime, stubs, bed, nodes } = await stack();
    const { objects, errors } = parseFiles([{ path: 'app.yaml', text: MANIFESTS }]);
    expect(errors).toEqual([]);
    await applyCommit(store, 'main', { commit: 'c1', author: 'test', message: 'web', time: new Date().toISOString() }, objects, new Date());

    const endpoints = await webEndpoints(store, 2);
    const client = await clientOf(runtime, nodes);

    // The scheduler spreads a Deployment's pods: one web pod per node, so one is remote to the client.
    expect(new Set(endpoints.endpoints.map((e) => e.node))).toEqual(new Set(nodes));
    const pods = endpoints.endpoints.map((e) => e.pod).sort();
    for (const host of ['web', 'web.default', 'web.default.svc.cluster.local']) {
      const counts = await waitFor(async () => {
        const c = await bed.fetchMany(client, `http://${host}:80/`, 20);
        return c.FAIL === undefined ? c : undefined;
      }, { timeoutMs: 30_000, what: `web answering as ${host}` });
      expect(Object.keys(counts).every((k) => pods.includes(k))).toBe(true);
    }
    // Over 40 more connections both pods answer, the one on the client's node and the other.
    const spread = await bed.fetchMany(client, 'http://web/', 40);
    expect(Object.keys(spread).sort()).toEqual(pods);

    // A web pod goes (scaled down, its containers stopped): once its endpoint is out of both
    // nodes' stub rules (its pod IP on its node, its published port on the other), no connection fails.
    const scaled = parseFiles([{ path: 'app.yaml', text: MANIFESTS.replace('replicas: 2', 'replicas: 1') }]).objects;
    await applyCommit(store, 'main', { commit: 'c2', author: 'test', message: 'one web', time: new Date().toISOString() }, scaled, new Date());
    const left = (await webEndpoints(store, 1)).endpoints;
    const victim = endpoints.endpoints.find((e) => e.pod !== left[0]?.pod);
    if (victim === undefined) throw new Error('no web pod went');
    await outOfRules(runtime, stubs, nodes, victim);
    const after = await bed.fetchMany(client, 'http://web/', 100);
    expect(after).toEqual({ [left[0]?.pod ?? '?']: 100 });
  });

  it('a web pod killed (its container dies, and its restarts never turn ready): once its endpoint is out of both nodes\' stub rules, no connection fails', async () => {
    const { store, runtime, stubs, bed, nodes } = await stack();
    // Each web pod serves until its container is killed once: a restarted one finds the mark in the pod's emptyDir and exits.
    const once = MANIFESTS.replace(
      "command: [sh, -c, 'mkdir -p /w && hostname > /w/index.html && exec httpd -f -p 8080 -h /w']",
      "command: [sh, -c, 'test -f /mark/ran && exit 1; touch /mark/ran && mkdir -p /w && hostname > /w/index.html && exec httpd -f -p 8080 -h /w']\n        volumeMounts: [{name: mark, mountPath: /mark}]",
    ).replace('        readinessProbe: {tcpSocket: {port: http}, periodSeconds: 1}\n', '        readinessProbe: {tcpSocket: {port: http}, periodSeconds: 1}\n      volumes: [{name: mark, emptyDir: {}}]\n');
    const { objects, errors } = parseFiles([{ path: 'app.yaml', text: once }]);
    expect(errors).toEqual([]);
    await applyCommit(store, 'main', { commit: 'c1', author: 'test', message: 'web', time: new Date().toISOString() }, objects, new Date());
    const endpoints = await webEndpoints(store, 2);
    const client = await clientOf(runtime, nodes);
    const pods = endpoints.endpoints.map((e) => e.pod).sort();
    expect(Object.keys(await waitFor(async () => {
      const c = await bed.fetchMany(client, 'http://web/', 40);
      return c.FAIL === undefined && Object.keys(c).length === 2 ? c : undefined;
    }, { timeoutMs: 30_000, what: 'both web pods answering' })).sort()).toEqual(pods);

    // The pod on the client's node is killed (docker kill of its container).
    const clientNode = (await runtime.list({ 'berth.container': 'client' })).find((c) => nodes.includes(c.labels['berth.node'] ?? ''))?.labels['berth.node'];
    const victim = endpoints.endpoints.find((e) => e.node === clientNode) ?? endpoints.endpoints[0];
    if (victim === undefined) throw new Error('no web pod');
    const [web] = (await runtime.list({ 'berth.pod': victim.pod, 'berth.container': 'web' })).filter((c) => c.state === 'running');
    if (web === undefined) throw new Error(`no running container of ${victim.pod}`);
    expect((await dockerRequest(dockerHost, 'POST', `/containers/${web.id}/kill`)).status).toBe(204);
    const left = (await webEndpoints(store, 1)).endpoints;
    expect(left.map((e) => e.pod)).toEqual(pods.filter((p) => p !== victim.pod));
    await outOfRules(runtime, stubs, nodes, victim);
    expect(await bed.fetchMany(client, 'http://web/', 100)).toEqual({ [left[0]?.pod ?? '?']: 100 });
  });

  it('a headless Service from a commit resolves to one address per ready pod, on both nodes, each reaching its own pod', async () => {
    const { store, runtime, stubs, bed, nodes } = await stack();
    const headless = MANIFESTS.replace('metadata: {name: web}\nspec:\n  selector', 'metadata: {name: web}\nspec:\n  clusterIP: None\n  selector').replace('ports: [{port: 80, targetPort: http}]', 'ports: [{port: 8080, targetPort: http}]');
    const { objects, errors } = parseFiles([{ path: 'app.yaml', text: headless }]);
    expect(errors).toEqual([]);
    expect(objects.find((o) => o.kind === 'Service')?.spec).toMatchObject({ headless: true });
    await applyCommit(store, 'main', { commit: 'c1', author: 'test', message: 'web, headless', time: new Date().toISOString() }, objects, new Date());

    const endpoints = await waitFor(
      async () => {
        const e = await store.get(endpointsKey('default', 'web'));
        const r = e && decode('endpoints', e.key, e.value);
        return r !== undefined && r.endpoints.length === 2 ? r : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 200, what: 'two ready endpoints of web' },
    );
    expect(new Set(endpoints.endpoints.map((e) => e.node))).toEqual(new Set(nodes));
    const client = await clientOf(runtime, nodes);
    // A stub per ready pod on each node, carrying the name. (Real nodes each have their own engine, so a
    // pod resolves its node's two; these agents share one network, so every pod resolves all four.)
    const perPod = await waitFor(async () => {
      const all = (await Promise.all(nodes.map((n) => stubs.list(n)))).flat().filter((c) => c.state === 'running' && c.ip !== undefined);
      return all.length === 4 ? all : undefined;
    }, { timeoutMs: 30_000, what: 'a stub per pod on each node' });
    const resolved = await waitFor(async () => {
      const out = await runtime.exec(client, ['nslookup', 'web.default.svc.cluster.local'], 5000);
      const found = [...out.output.matchAll(/Address:\s+(\d+\.\d+\.\d+\.\d+)$/gm)].map((m) => m[1] ?? '').filter((a) => a !== '127.0.0.11');
      return found.length === 4 ? found : undefined;
    }, { timeoutMs: 30_000, what: 'four addresses for web' });
    expect(resolved.sort()).toEqual(perPod.map((c) => c.ip).sort());
    // Each stub's address answers always as its own pod: the local one at its pod IP, the remote one at its node's port.
    for (const stub of perPod) {
      const pod = (stub.labels['berth.service'] ?? '').split('/')[2];
      const counts = await waitFor(async () => {
        const c = await bed.fetchMany(client, `http://${stub.ip ?? '?'}:8080/`, 5);
        return c.FAIL === undefined ? c : undefined;
      }, { timeoutMs: 30_000, what: `${pod ?? '?'} answering at its stub on ${stub.labels['berth.service-node'] ?? '?'}` });
      expect(counts).toEqual({ [pod ?? '?']: 5 });
    }
    expect(new Set(perPod.map((c) => (c.labels['berth.service'] ?? '').split('/')[2]))).toEqual(new Set(endpoints.endpoints.map((e) => e.pod)));
  });
});
