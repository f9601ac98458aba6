// The real public manifests of test/fixtures/compat, pushed as they are to a repository that berth up
// follows, on locally built stand-in images that carry the manifests' image names, ports and probe
// commands (test/support/stand-ins.ts): they turn Ready through their own probes, and a shop pod
// reaches the other shop Services by name and port, on one node and across two agents.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { podViews, type PodView } from '../../src/api/views.js';
import { readCluster } from '../../src/api/read.js';
import { EtcdStore, decode, endpointsKey, nodeKey } from '../../src/store/index.js';
import { spawnBerth, waitWhileUp, type BerthProcess } from '../support/berth.js';
import { berthUpTestbed, noteLines } from '../support/berth-up.js';
import { listContainers, removeContainers } from '../support/containers.js';
import { uniqueName } from '../support/names.js';
import { exited, run } from '../support/process.js';
import type { TestRepo } from '../support/repo.js';
import { ensureStandIns } from '../support/stand-ins.js';

const compatDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/compat');
const fixture = (name: string): Promise<string> => fs.readFile(path.join(compatDir, name), 'utf8');
const STUB_IMAGE = 'berth-test/service-proxy:1';

/**
 * shop-redis.yaml with its one invalid line corrected, and nothing else: the fork's
 * `…/redis:alpine:v0.3.6` has two tags; upstream microservices-demo's redis.yaml runs `redis:alpine`.
 */
async function redisCorrected(): Promise<string> {
  const text = await fixture('shop-redis.yaml');
  const bad = 'image: gcr.io/google-samples/microservices-demo/redis:alpine:v0.3.6';
  expect(text.split(bad)).toHaveLength(2);
  return text.replace(bad, 'image: redis:alpine');
}

/**
 * shop-frontend.yaml with `imagePullPolicy: IfNotPresent` added under its image, and nothing else:
 * `image: frontend` is untagged, so its default policy is Always, and no registry here has it. (A
 * kind or minikube user loading a local image makes the same change.)
 */
async function frontendIfNotPresent(): Promise<string> {
  const text = await fixture('shop-frontend.yaml');
  const line = '          image: frontend\n';
  expect(text.split(line)).toHaveLength(2);
  return text.replace(line, `${line}          imagePullPolicy: IfNotPresent\n`);
}

/** The pods as `berth get pods` shows them, read from etcd under `prefix`. */
async function pods(store: EtcdStore): Promise<PodView[]> {
  const c = await readCluster(store);
  return podViews(c.pods, c.statuses, new Date(), new Set(c.nodes.map((n) => n.name)));
}
const ready = (p: PodView): boolean => p.conditions.some((c) => c.type === 'Ready' && c.status === 'True');
const of = (all: PodView[], namespace: string, deployment: string): PodView[] => all.filter((p) => p.namespace === namespace && p.deployment === deployment);

/** `count` ready pods of each deployment (`namespace/name`). */
function allReady(all: PodView[], want: Record<string, number>): boolean {
  return Object.entries(want).every(([ref, count]) => {
    const [ns = '', name = ''] = ref.split('/');
    const ps = of(all, ns, name);
    return ps.length === count && ps.every(ready);
  });
}

const GET = 'GET / HTTP/1.0\\r\\n\\r\\n';
const PING = 'PING\\r\\n';

/** One line from `host:port` of the pod network, asked from inside container `id` (an HTTP GET, or redis' PING). */
async function ask(dockerHost: string, id: string, host: string, port: number, request: string): Promise<string> {
  const r = await run('docker', ['exec', id, 'sh', '-c', `printf '${request}' | timeout 3 nc ${host} ${port} | tail -n 1`], { env: { ...process.env, DOCKER_HOST: dockerHost } }).catch(() => ({ stdout: '' }));
  return r.stdout.trim();
}
/** From inside container `id`, `n` connections each to cartservice:7070 (GET) and redis-cart:6379 (PING): how many got each answer. */
async function counted(dockerHost: string, id: string, n: number): Promise<Record<string, number>> {
  const script = `for i in $(seq ${n}); do printf '${GET}' | timeout 3 nc cartservice 7070 | tail -n 1; printf '${PING}' | timeout 3 nc redis-cart 6379 | tr -d '\\r'; done | sort | uniq -c`;
  const out = (await run('docker', ['exec', id, 'sh', '-c', script], { env: { ...process.env, DOCKER_HOST: dockerHost } })).stdout;
  return Object.fromEntries([...out.matchAll(/^\s*(\d+) ?(.*)$/gm)].map((m) => [m[2] || 'FAIL', Number(m[1])]));
}
const seconds = (since: number): string => ((Date.now() - since) / 1000).toFixed(1);

/** A berth up on the test etcd under a prefix of its own (so a second agent can join it), with its pod network. */
function shopBed(name: string): {
  bed: ReturnType<typeof berthUpTestbed>;
  prefix: string;
  network: string;
  store: () => EtcdStore;
  up(work: TestRepo, extra?: string[]): BerthProcess;
  agent(node: string): Promise<BerthProcess>;
} {
  const bed = berthUpTestbed(name);
  const prefix = `/${uniqueName(name)}`;
  const network = uniqueName(`${name}-net`);
  const extraNodes: string[] = [];
  const procs: BerthProcess[] = [];
  const dirs: string[] = [];
  let store: EtcdStore | undefined;
  const common = ['--etcd', inject('etcdEndpoint'), '--prefix', prefix, '--docker', bed.dockerHost, '--pod-network', network, '--service-image', STUB_IMAGE];
  beforeAll(async () => {
    store = await EtcdStore.connect([inject('etcdEndpoint')], prefix);
  });
  afterAll(async () => {
    // Agents stopped first: a running agent would make its stubs again.
    for (const p of procs) await p.stop();
    for (const n of [bed.node, ...extraNodes]) {
      await removeContainers(bed.dockerHost, 'berth.service-node', n);
      await removeContainers(bed.dockerHost, 'berth.node', n);
    }
    for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
    if (store !== undefined) {
      const { entries } = await store.list('');
      for (const e of entries) await store.commit({ del: [e.key] });
      await store.close();
    }
    await run('docker', ['network', 'rm', network], { env: { ...process.env, DOCKER_HOST: bed.dockerHost } }).catch(() => undefined);
  });
  return {
    bed, prefix, network,
    store: () => {
      if (store === undefined) throw new Error('no store yet');
      return store;
    },
    up: (work, extra = []) => {
      const p = bed.up(work, [...common, ...extra]);
      procs.unshift(p);
      return p;
    },
    agent: async (node) => {
      extraNodes.push(node);
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), `berth-${name}-agent-`));
      dirs.push(dir);
      const p = spawnBerth(['agent', '--node', node, '--data-dir', dir, ...common]);
      procs.unshift(p);
      return p;
    },
  };
}

/** The running container `name` of each pod of `pods`, by pod name. */
async function containersOf(dockerHost: string, nodes: string[], views: PodView[], container: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const node of nodes) {
    for (const c of await listContainers(dockerHost, 'berth.node', node)) {
      const pod = views.find((v) => v.name === c.labels['berth.pod']);
      if (pod !== undefined && c.state === 'running' && c.labels['berth.container'] === container) found.set(pod.name, c.id);
    }
  }
  return found;
}

beforeAll(async () => {
  await ensureStandIns(inject('dockerHost'));
}, 120_000);

describe('the real manifests of test/fixtures/compat under berth up, on one node', () => {
  const s = shopBed('compat');

  it('refuses shop-redis.yaml\'s image at its line, then runs every manifest it can Ready through its own probes, and the shop\'s pods reach each other by Service name', async () => {
    const { dockerHost, node } = s.bed;
    const work = await s.bed.repo();
    const names = (await fs.readdir(compatDir)).filter((f) => f.endsWith('.yaml')).sort();
    for (const f of names) await work.write(f, await fixture(f));
    const rejected = await work.commit('the six manifests as they are');
    const proc = s.up(work);
    const until = <T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 180_000): Promise<T> =>
      waitWhileUp(proc, check, what, { timeoutMs, intervalMs: 500, context: async () => JSON.stringify((await pods(s.store())).map((p) => [p.namespace, p.name, p.status, p.ready, p.containers.map((c) => c.message ?? c.reason ?? '')])) });

    // As its README says: the whole commit is refused, naming the image at file:line:col.
    const note = await until(async () => (await noteLines(work, rejected)).find((l) => l.includes('berth/sync failure')), 'berth/sync failure on the six manifests');
    expect(note).toContain('berth/sync failure rejected: 1 error; first: shop-redis.yaml:30:16: spec.template.spec.containers[0].image: invalid image reference "gcr.io/google-samples/mic');

    await work.write('shop-redis.yaml', await redisCorrected());
    const corrected = Date.now();
    await work.commit('shop-redis.yaml: redis:alpine, as upstream');
    const all = await until(async () => {
      const ps = await pods(s.store());
      return allReady(ps, { 'default/podinfo': 1, 'default/cartservice': 1, 'default/redis-cart': 1, 'default/frontend': 3 }) && ps;
    }, 'podinfo, cartservice, redis-cart and the guestbook frontend Ready');
    process.stderr.write(`compat: podinfo, cartservice, redis-cart and 3 guestbook frontends Ready ${seconds(corrected)} s after the push\n`);
    expect(of(all, 'default', 'podinfo')[0]?.restarts).toBe(0);

    // shop-frontend's `image: frontend` is untagged: Kubernetes' default policy Always pulls it, and
    // no registry here has it, so its pods wait in ErrImagePull/ImagePullBackOff as on Kubernetes.
    const pulling = await until(async () => {
      const ps = of(await pods(s.store()), 'opentelemetry-demo', 'frontend');
      return ps.length === 3 && ps.every((p) => ['ErrImagePull', 'ImagePullBackOff'].includes(p.status)) && ps;
    }, 'the shop frontend failing to pull `frontend`');
    expect(pulling[0]?.containers[0]?.message).toMatch(/frontend/);
    // guestbook-ui's `memory: 200m` is 0.2 byte (Kubernetes rounds it up to 1): no container can run in it.
    const ui = await until(async () => {
      const ps = of(await pods(s.store()), 'default', 'guestbook-ui');
      return ps.length === 3 && ps.every((p) => !ready(p) && p.containers[0]?.message !== undefined) && ps;
    }, 'guestbook-ui refused by Docker');
    process.stderr.write(`compat: guestbook-ui: ${ui[0]?.status ?? ''}: ${ui[0]?.containers[0]?.message ?? ''}\n`);
    expect(ui[0]?.containers[0]?.message).toMatch(/memory/i);

    // The one change a user of a local image makes: imagePullPolicy IfNotPresent.
    await work.write('shop-frontend.yaml', await frontendIfNotPresent());
    const pushed = Date.now();
    await work.commit('shop-frontend.yaml: IfNotPresent');
    const shop = await until(async () => {
      const ps = await pods(s.store());
      return allReady(ps, { 'opentelemetry-demo/frontend': 3, 'default/cartservice': 1, 'default/redis-cart': 1 }) && ps;
    }, 'the shop frontend Ready');
    process.stderr.write(`compat: the shop frontend's 3 pods Ready ${seconds(pushed)} s after the push\n`);

    const answer = (id: string, host: string, port: number, request: string): Promise<string> =>
      until(async () => (await ask(dockerHost, id, host, port, request)) || undefined, `${host}:${port} from a frontend pod`, 30_000);
    // From a frontend pod, the addresses its environment names: cartservice:7070 and redis-cart:6379.
    const frontends = await containersOf(dockerHost, [node], of(shop, 'opentelemetry-demo', 'frontend'), 'server');
    expect(frontends.size).toBe(3);
    const cart = of(shop, 'default', 'cartservice')[0]?.name ?? '?';
    for (const id of frontends.values()) {
      expect(await answer(id, 'cartservice', 7070, GET)).toBe(`cartservice ${cart}`);
      expect(await answer(id, 'redis-cart', 6379, PING)).toBe('+PONG');
    }
    // frontend-external (a LoadBalancer) is published on the node at its allocated node port.
    const ext = await until(async () => {
      const e = await s.store().get(endpointsKey('opentelemetry-demo', 'frontend-external'));
      const r = e && decode('endpoints', e.key, e.value);
      return r !== undefined && r.endpoints.length === 3 ? r.ports[0]?.nodePort : undefined;
    }, 'frontend-external\'s endpoints');
    const body = await until(async () => {
      const res = await fetch(`http://127.0.0.1:${ext}/`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
      return res?.ok === true ? res.text() : undefined;
    }, `frontend-external at node port ${ext}`);
    expect(body).toMatch(/^frontend /);

    // berth up is killed (SIGKILL: no goodbye, nothing of berth left running): the stubs it made keep
    // forwarding, so a frontend pod still reaches both Services, counted over many connections.
    const [client = '?'] = frontends.values();
    const want = { [`cartservice ${cart}`]: 20, '+PONG': 20 };
    proc.child.kill('SIGKILL');
    await exited(proc.child);
    expect(await counted(dockerHost, client, 20)).toEqual(want);
  }, 600_000);
});

describe('the shop\'s three manifests across two agents of different node names', () => {
  const s = shopBed('compat2');

  it('reaches cartservice:7070 and redis-cart:6379 from the frontend pods of both nodes, the Services\' pods on one node or the other', async () => {
    const { dockerHost, node } = s.bed;
    const other = `${node}-b`;
    const work = await s.bed.repo();
    await work.write('README.md', 'the shop, soon\n');
    await work.commit('nothing to run yet');
    const proc = s.up(work);
    const agent = await s.agent(other);
    const until = <T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 180_000): Promise<T> =>
      waitWhileUp(proc, async () => {
        if (agent.child.exitCode !== null) throw new Error(`the agent of ${other} exited: ${agent.output.toString()}`);
        return check();
      }, what, { timeoutMs, intervalMs: 500 });
    // Both nodes registered before the shop is pushed, so the scheduler has both to spread it over.
    await until(async () => (await s.store().get(nodeKey(node))) !== undefined && (await s.store().get(nodeKey(other))) !== undefined, 'both nodes registered');

    await work.write('shop-cartservice.yaml', await fixture('shop-cartservice.yaml'));
    await work.write('shop-redis.yaml', await redisCorrected());
    await work.write('shop-frontend.yaml', await frontendIfNotPresent());
    const pushed = Date.now();
    await work.commit('the shop');

    const shop = await until(async () => {
      const ps = await pods(s.store());
      return allReady(ps, { 'opentelemetry-demo/frontend': 3, 'default/cartservice': 1, 'default/redis-cart': 1 }) && ps;
    }, 'the shop Ready on two nodes');
    process.stderr.write(`compat: the shop (5 pods, two nodes) Ready ${seconds(pushed)} s after the push\n`);

    const frontends = of(shop, 'opentelemetry-demo', 'frontend');
    const cart = of(shop, 'default', 'cartservice')[0];
    const redis = of(shop, 'default', 'redis-cart')[0];
    // The scheduler spreads the frontends over both nodes: some frontend is on another node than cartservice.
    expect(new Set(frontends.map((p) => p.node))).toEqual(new Set([node, other]));
    const ids = await containersOf(dockerHost, [node, other], frontends, 'server');
    expect(ids.size).toBe(3);
    for (const [pod, id] of ids) {
      const where = frontends.find((p) => p.name === pod)?.node;
      const answer = (host: string, port: number, request: string): Promise<string> =>
        until(async () => (await ask(dockerHost, id, host, port, request)) || undefined, `${host}:${port} from ${pod} on ${where ?? '?'}`, 30_000);
      expect(await answer('cartservice', 7070, GET)).toBe(`cartservice ${cart?.name ?? '?'}`);
      expect(await answer('redis-cart', 6379, PING)).toBe('+PONG');
      expect(await answer('cartservice.default.svc.cluster.local', 7070, GET)).toBe(`cartservice ${cart?.name ?? '?'}`);
    }
    expect(frontends.some((p) => p.node !== cart?.node) && frontends.some((p) => p.node !== redis?.node)).toBe(true);
    // Counted: from every frontend pod, no connection to either Service fails.
    for (const id of ids.values()) expect(await counted(dockerHost, id, 10)).toEqual({ [`cartservice ${cart?.name ?? '?'}`]: 10, '+PONG': 10 });
  }, 600_000);
});
