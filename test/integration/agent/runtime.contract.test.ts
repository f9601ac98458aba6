// One contract, two runtimes: the in-memory FakeRuntime that unit tests use, and DockerRuntime
// against the real engine. If Docker's behaviour and the fake's part, this file says where.
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { BerthError, InvalidInputError, UnavailableError } from '../../../src/errors.js';
import { DockerRuntime } from '../../../src/agent/docker.js';
import { RUNTIME_DOWN, withPodAddresses } from '../../../src/agent/runtime.js';
import { dockerRequest } from '../../support/docker.js';
import type { Container, ContainerRuntime, RunSpec, RuntimeEvent } from '../../../src/agent/runtime.js';
import { POD_IP_LABEL, addressTaken, formatIPv4, inPool, staticPool } from '../../../src/agent/pod-address.js';
import { FakeRuntime } from '../../support/fake-runtime.js';
import { freeHostPort } from '../../support/ports.js';
import { pushImage, untagImage } from '../../support/registry.js';
import { uniqueName } from '../../support/names.js';
import { waitFor } from '../../support/wait.js';

interface Subject {
  runtime: ContainerRuntime;
  /** A runtime of the same kind whose engine cannot be reached. */
  unreachable: () => ContainerRuntime;
  /** Put the test image in the registry as `name` (and not on the engine), for a pull to fetch. */
  publish: (name: string) => Promise<void>;
}

const image = inject('testImage');
const dockerHost = inject('dockerHost');
const registry = inject('registry');
/** A registry address nothing listens on. */
const DEAD_REGISTRY = '127.0.0.1:1';

const subjects: [string, () => Subject][] = [
  [
    'FakeRuntime',
    () => {
      const runtime = new FakeRuntime({ images: [image], unreachable: [DEAD_REGISTRY] });
      return {
        runtime,
        unreachable: () => {
          const down = new FakeRuntime();
          down.setDown(true);
          return down;
        },
        publish: async (name) => runtime.publish(name),
      };
    },
  ],
  [
    'DockerRuntime',
    () => ({
      runtime: new DockerRuntime({ docker: dockerHost }),
      unreachable: () => new DockerRuntime({ docker: `/tmp/${uniqueName('nodocker')}.sock` }),
      publish: async (name) => {
        await pushImage(dockerHost, image, name);
        await untagImage(dockerHost, name);
      },
    }),
  ],
];

/** A spec of the test image, labelled for test `test`. */
function specFor(test: string, name: string, over: Partial<RunSpec> = {}): RunSpec {
  return {
    name: `${test}-${name}`,
    image,
    command: [],
    args: ['sleep', '3600'],
    env: [],
    labels: { 'berth.test': test, 'berth.case': name },
    ports: [],
    limits: {},
    ...over,
  };
}

describe.each(subjects)('ContainerRuntime contract: %s', (_name, make) => {
  const { runtime, unreachable, publish } = make();
  const test = uniqueName('contract');
  const labels = { 'berth.test': test };
  const spec = (name: string, over: Partial<RunSpec> = {}): RunSpec => specFor(test, name, over);
  /** Image names a case pulled onto the shared engine, removed at the end. */
  const pulled: string[] = [];

  afterEach(async () => {
    for (const c of await runtime.list(labels)) await runtime.remove(c.id);
  });
  afterAll(async () => {
    for (const name of pulled) await untagImage(dockerHost, name);
  });

  it('answers ping', async () => {
    await expect(runtime.ping()).resolves.toBeUndefined();
  });

  it('names the fix when the engine cannot be reached', async () => {
    const err: unknown = await unreachable().ping().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as UnavailableError).code).toBe(RUNTIME_DOWN);
    expect((err as UnavailableError).toLine()).toMatch(/start dockerd or pass --docker <socket\|url>/);
  });

  it('creates, starts, stops, starts again and removes a container', async () => {
    const id = await runtime.create(spec('life', { env: [{ name: 'GREETING', value: 'hi' }], limits: { memory: 64 * 1024 * 1024, cpu: 500 } }));
    let [c] = await runtime.list({ ...labels, 'berth.case': 'life' });
    expect(c).toMatchObject({ id, name: `${test}-life`, image, state: 'created', labels: { ...labels, 'berth.case': 'life' }, ports: [] });
    expect(c?.startedAt).toBeUndefined();

    await runtime.start(id);
    await runtime.start(id); // starting a running container is fine
    [c] = await runtime.list({ ...labels, 'berth.case': 'life' });
    expect(c?.state).toBe('running');
    expect(Date.parse(c?.startedAt ?? '')).toBeGreaterThan(Date.now() - 60_000);

    await runtime.stop(id, 10);
    await runtime.stop(id, 10); // stopping a stopped container is fine (Docker: 304)
    [c] = await runtime.list({ ...labels, 'berth.case': 'life' });
    expect(c).toMatchObject({ state: 'exited', exitCode: 143 });
    expect(c?.finishedAt).toBeDefined();

    await runtime.start(id);
    expect((await runtime.list(labels)).map((x) => x.state)).toEqual(['running']);

    await runtime.remove(id);
    expect(await runtime.list(labels)).toEqual([]);
    await runtime.remove(id); // removing a gone container is fine (Docker: 404)
    await runtime.stop(id, 1);
  });

  it('makes a tmpfs volume on first use, lists it by its labels, keeps it while used and removes it after', async () => {
    const name = `${test}-vol`;
    const mount = { type: 'tmpfs' as const, name, target: '/v', readOnly: false, sizeBytes: 1024 * 1024, labels };
    await runtime.create(spec('va', { mounts: [mount] }));
    await runtime.create(spec('vb', { mounts: [{ ...mount, target: '/w' }] }));
    expect(await runtime.listVolumes(labels)).toEqual([{ name, labels }]);
    expect(await runtime.listVolumes({ 'berth.test': uniqueName('other') })).toEqual([]);
    expect(await runtime.removeVolume(name)).toBe(false);
    for (const c of await runtime.list(labels)) await runtime.remove(c.id);
    expect(await runtime.removeVolume(name)).toBe(true);
    expect(await runtime.listVolumes(labels)).toEqual([]);
    expect(await runtime.removeVolume(name)).toBe(true); // a gone volume is fine (Docker: 404)
  });

  it('runs a container in another one’s network namespace: the owner is on the network and publishes, the member joins it', async () => {
    const net = `${test}-net`;
    let netId = net;
    try {
      // Two agents racing to make it agree on one network, and it stays one.
      const [a, b] = await Promise.all([runtime.ensureNetwork(net, labels), runtime.ensureNetwork(net, labels)]);
      expect(b).toEqual(a);
      netId = a.id;
      expect(await runtime.ensureNetwork(net, labels)).toEqual(a);
      const port = await freeHostPort();
      const owner = await runtime.create(spec('owner', { network: netId, hostname: 'pod-a', publishAll: true, ports: [{ containerPort: 80, protocol: 'TCP', hostIp: '127.0.0.1' }, { containerPort: 81, protocol: 'TCP', hostIp: '127.0.0.1', hostPort: port }] }));
      const member = await runtime.create(spec('member', { netns: `${test}-owner`, ports: [{ containerPort: 80, protocol: 'TCP' }] }));
      await expect(runtime.start(member)).rejects.toThrow(/cannot join network of a non running container/);
      // The port Docker picks for containerPort 80 comes from the kernel's ephemeral range, where another
      // process of the machine may hold it; Docker then fails the start, and the next start picks the next
      // port (as the agent's next round would).
      for (let attempt = 1; ; attempt++) {
        const started = await runtime.start(owner).then(() => true, (err: unknown) => {
          if (attempt >= 5 || !/address already in use/.test(String(err))) throw err;
          return false;
        });
        if (started) break;
      }
      await runtime.start(member);
      const listed = await runtime.list(labels);
      const o = listed.find((c) => c.id === owner);
      const m = listed.find((c) => c.id === member);
      expect(o?.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(o?.published).toEqual([
        { containerPort: 80, protocol: 'TCP', hostPort: expect.any(Number), hostIp: '127.0.0.1' },
        { containerPort: 81, protocol: 'TCP', hostPort: port, hostIp: '127.0.0.1' },
      ]);
      expect(m).toMatchObject({ joined: owner, ports: [] });
      expect(m?.ip).toBeUndefined();
      expect(withPodAddresses(listed).find((c) => c.id === member)?.ip).toBe(o?.ip);
      // Stopped, the owner has no address and publishes nothing.
      await runtime.stop(owner, 1);
      const [stopped] = await runtime.list({ ...labels, 'berth.case': 'owner' });
      expect(stopped?.ip).toBeUndefined();
      expect(stopped?.published ?? []).toEqual([]);
    } finally {
      for (const c of await runtime.list(labels)) await runtime.remove(c.id);
      await dockerRequest(dockerHost, 'DELETE', `/networks/${netId}`);
    }
  });

  it('makes the pod network with a subnet whose upper half holds static addresses: one is kept across a stop and a start while another container came, and a held one is refused', async () => {
    const net = `${test}-static`;
    let netId = net;
    try {
      const info = await runtime.ensureNetwork(net, labels);
      netId = info.id;
      const pool = staticPool(info);
      if ('none' in pool) throw new Error(`no static addresses on the pod network: ${pool.none}`);
      const ip = formatIPv4(pool.first + 5);
      const find = async (id: string): Promise<Container | undefined> => (await runtime.list(labels)).find((c) => c.id === id);
      const solo = await runtime.create(spec('solo', { network: netId, ip, hostname: 'pod-s', labels: { ...labels, 'berth.case': 'solo', [POD_IP_LABEL]: ip } }));
      await runtime.start(solo);
      expect((await find(solo))?.ip).toBe(ip);
      await runtime.stop(solo, 1);
      // A container without an address of its own gets one of Docker's range, never the stopped one's.
      const other = await runtime.create(spec('other', { network: netId }));
      await runtime.start(other);
      const otherIp = (await find(other))?.ip ?? '';
      expect(otherIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(inPool(pool, otherIp)).toBe(false);
      await runtime.start(solo);
      expect((await find(solo))?.ip).toBe(ip);
      // The same address for another container: created, but refused at its start, and the list says why.
      const twin = await runtime.create(spec('twin', { network: netId, ip, labels: { ...labels, 'berth.case': 'twin', [POD_IP_LABEL]: ip } }));
      await expect(runtime.start(twin)).rejects.toThrow(/Address already in use/);
      const refused = await find(twin);
      expect(refused?.state).toBe('created');
      expect(refused && addressTaken(refused)).toBe(true);
    } finally {
      for (const c of await runtime.list(labels)) await runtime.remove(c.id);
      await dockerRequest(dockerHost, 'DELETE', `/networks/${netId}`);
    }
  });

  it('lists only the containers carrying every requested label', async () => {
    await runtime.create(spec('a'));
    await runtime.create(spec('b'));
    const names = async (want: Record<string, string>): Promise<string[]> => (await runtime.list(want)).map((c) => c.name);
    expect(await names(labels)).toEqual([`${test}-a`, `${test}-b`]);
    expect(await names({ ...labels, 'berth.case': 'b' })).toEqual([`${test}-b`]);
    expect(await names({ ...labels, 'berth.case': 'c' })).toEqual([]);
    expect(await names({ 'berth.test': uniqueName('other') })).toEqual([]);
  });

  it('describes containers listed as brief by name, labels and state', async () => {
    const id = await runtime.create(spec('brief'));
    await runtime.start(id);
    const [brief] = await runtime.list(labels, { brief: new Set([id]) });
    expect(brief).toMatchObject({ id, name: `${test}-brief`, labels: { ...labels, 'berth.case': 'brief' }, state: 'running' });
  });

  it('refuses a second container of the same name, and an image that is not there', async () => {
    await runtime.create(spec('dup'));
    await expect(runtime.create(spec('dup'))).rejects.toMatchObject({ code: 'EDOCKERCONFLICT' });
    const absent = 'berth-test/absent:1';
    const err: unknown = await runtime.create(spec('noimage', { image: absent })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BerthError);
    expect(err).toMatchObject({ code: 'EDOCKERNOTFOUND', message: `cannot create container ${test}-noimage: No such image: ${absent}` });
  });

  it('reports events of its labels only, in order', async () => {
    const seen: RuntimeEvent[] = [];
    const mine = runtime.events(labels, (e) => seen.push(e));
    const others: RuntimeEvent[] = [];
    const theirs = runtime.events({ 'berth.test': uniqueName('other') }, (e) => others.push(e));
    try {
      // The stream opens in the background: a container made first shows when it is open.
      const warm = await runtime.create(spec('warm'));
      await waitFor(() => seen.some((e) => e.id === warm), { what: 'the event stream open' });
      await runtime.remove(warm);
      const id = await runtime.create(spec('events'));
      await runtime.start(id);
      await runtime.remove(id);
      await waitFor(() => seen.some((e) => e.id === id && e.action === 'destroy'), { what: 'a destroy event' });
      const actions = seen.filter((e) => e.id === id).map((e) => e.action).filter((a) => ['create', 'start', 'die', 'destroy'].includes(a));
      expect(actions).toEqual(['create', 'start', 'die', 'destroy']);
      expect(seen.find((e) => e.id === id)?.labels).toMatchObject({ ...labels, 'berth.case': 'events' });
      expect(others).toEqual([]);
    } finally {
      await mine.close();
      await theirs.close();
    }
  });

  it('publishes a hostPort on 127.0.0.1, and a second start on that port fails', async () => {
    const hostPort = await freeHostPort();
    const ports = [{ containerPort: 8080, protocol: 'TCP' as const, hostPort, hostIp: '127.0.0.1' }];
    const id = await runtime.create(spec('web', { command: ['httpd', '-f', '-p', '8080', '-h', '/'], args: [], ports }));
    await runtime.start(id);
    const [c] = await runtime.list({ ...labels, 'berth.case': 'web' });
    expect(c?.ports).toEqual(ports);

    const second = await runtime.create(spec('web2', { ports }));
    const err: unknown = await runtime.start(second).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BerthError);
    expect((err as BerthError).message).toMatch(/port is already allocated|address already in use/);
    const [left] = await runtime.list({ ...labels, 'berth.case': 'web2' });
    expect(left?.state).toBe('created');
  });

  it('pulls an image from its registry; then it has it and runs it', async () => {
    const name = `${registry}/${test}/busybox:1`;
    pulled.push(name);
    await publish(name);
    expect(await runtime.hasImage(image)).toBe(true);
    expect(await runtime.hasImage(name)).toBe(false);
    const progress: string[] = [];
    await runtime.pull(name, (p) => progress.push(p.status));
    expect(progress.length).toBeGreaterThan(0);
    expect(await runtime.hasImage(name)).toBe(true);
    await expect(runtime.create(spec('pulled', { image: name }))).resolves.toMatch(/^[0-9a-f]{64}$/);
  });

  // The two ways a pull fails, in the same class, code, words and hint on both runtimes.
  it('names an image its registry does not have as the manifest’s mistake', async () => {
    const absent = `${registry}/${test}/absent:1`;
    expect(await runtime.hasImage(absent)).toBe(false);
    const err: unknown = await runtime.pull(absent).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as BerthError).code).toBe('EIMAGENOTFOUND');
    expect((err as BerthError).toLine()).toMatch(new RegExp(`^cannot pull image ${escape(absent)}: registry ${escape(registry)} has no such image \\(manifest for ${escape(absent)} not found: manifest unknown.*\\); check the image name and tag in the manifest$`));
  });

  it('names an unreachable registry as unavailable', async () => {
    const absent = `${DEAD_REGISTRY}/berth-test/absent:1`;
    const err: unknown = await runtime.pull(absent).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as BerthError).code).toBe('EIMAGEPULL');
    expect((err as BerthError).toLine()).toMatch(new RegExp(`^cannot pull image ${escape(absent)}: registry ${escape(DEAD_REGISTRY)} cannot be reached \\(.*connection refused\\); check that the registry is reachable from the Docker host at (unix|tcp)://`));
  });
});

// What only a real engine does: run processes. The fake has none, so these run on Docker alone.
describe('ContainerRuntime contract, processes: DockerRuntime', () => {
  const runtime = new DockerRuntime({ docker: dockerHost });
  const test = uniqueName('contract-proc');
  const labels = { 'berth.test': test };
  const spec = (name: string, over: Partial<RunSpec> = {}): RunSpec => specFor(test, name, over);

  afterEach(async () => {
    for (const c of await runtime.list(labels)) await runtime.remove(c.id);
  });

  it('stops a shell in well under its grace period (docker-init forwards SIGTERM)', async () => {
    const id = await runtime.create(spec('stop'));
    await runtime.start(id);
    const began = Date.now();
    await runtime.stop(id, 10);
    expect(Date.now() - began).toBeLessThan(3000);
    const [c] = await runtime.list({ ...labels, 'berth.case': 'stop' });
    expect(c).toMatchObject({ state: 'exited', exitCode: 143 });
  });

  it('runs command with args and env, and reports the exit code', async () => {
    const id = await runtime.create(spec('exit', { command: ['sh', '-c'], args: ['exit $CODE'], env: [{ name: 'CODE', value: '7' }] }));
    await runtime.start(id);
    const c = await waitFor(async () => (await runtime.list({ ...labels, 'berth.case': 'exit' })).find((x) => x.state === 'exited'), { what: 'the container to exit' });
    expect(c.exitCode).toBe(7);
  });

  it('serves through a published hostPort', async () => {
    const hostPort = await freeHostPort();
    const id = await runtime.create(spec('web', { command: ['httpd', '-f', '-p', '8080', '-h', '/'], args: [], ports: [{ containerPort: 8080, protocol: 'TCP', hostPort, hostIp: '127.0.0.1' }] }));
    await runtime.start(id);
    const status = await waitFor(
      async () => (await fetch(`http://127.0.0.1:${hostPort}/`, { signal: AbortSignal.timeout(1000) })).status,
      { timeoutMs: 15_000, what: `httpd on 127.0.0.1:${hostPort}` },
    );
    expect(status).toBeGreaterThanOrEqual(200);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
