// The agent loop against the in-memory store and runtime: what it writes, what it runs, what it heals.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { MemoryStore } from '../../../src/store/memory.js';
import type { Lease } from '../../../src/store/store.js';
import type { BindingRecord, EventRecord, NodeRecord, PodRecord, PodStatusRecord } from '../../../src/store/records.js';
import { decode, encode } from '../../../src/store/records.js';
import { bindingKey, desiredKey, nodeKey, podKey, sourceKey, statusKey, statusPrefix } from '../../../src/store/keys.js';
import type { Agent, AgentOptions } from '../../../src/agent/agent.js';
import { startAgent } from '../../../src/agent/agent.js';
import type { Container, PullProgress } from '../../../src/agent/runtime.js';
import { planAddresses, staticPool } from '../../../src/agent/pod-address.js';
import { FakeRuntime } from '../../support/fake-runtime.js';
import { RegistryAuth } from '../../../src/agent/registry-auth.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../support/wait.js';
import { BerthError, UnavailableError } from '../../../src/errors.js';
import { IMAGE, NODE, binding, spec } from './fixtures.js';

/** A MemoryStore that remembers the leases it handed out, so a test can expire one, and can be cut off (its revision reads fail). */
class LeaseRecordingStore extends MemoryStore {
  readonly handedOut: Lease[] = [];
  cutOff = false;
  override async revision(): Promise<number> {
    if (this.cutOff) throw new UnavailableError('EETCDDOWN', 'etcd is unreachable');
    return super.revision();
  }
  override async lease(ttlSeconds: number): Promise<Lease> {
    const l = await super.lease(ttlSeconds);
    this.handedOut.push(l);
    return l;
  }
}

let agents: Agent[] = [];
afterEach(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  agents = [];
});

async function setup(over: Partial<AgentOptions> = {}, runtime = new FakeRuntime({ images: [IMAGE] })): Promise<{ store: LeaseRecordingStore; runtime: FakeRuntime; agent: Agent }> {
  const store = (over.store as LeaseRecordingStore | undefined) ?? new LeaseRecordingStore();
  const agent = await startAgent({ store, runtime, node: NODE, log: silentLogger(), resyncMs: 60_000, stopGraceSeconds: 1, sandboxImage: IMAGE, ...over });
  agents.push(agent);
  return { store, runtime, agent };
}

async function bind(store: MemoryStore, b: BindingRecord): Promise<void> {
  await store.commit({ put: [{ key: bindingKey(b.node, b.namespace, b.pod), value: encode(b) }] });
}

async function unbind(store: MemoryStore, b: BindingRecord): Promise<void> {
  await store.commit({ del: [bindingKey(b.node, b.namespace, b.pod)] });
}

async function status(store: MemoryStore, pod: string, node = NODE): Promise<PodStatusRecord | undefined> {
  const e = await store.get(statusKey(node, 'default', pod));
  return e && decode('podStatus', e.key, e.value);
}

/** The pods' own containers on `node` (their sandboxes left out). */
async function mine(runtime: FakeRuntime, node = NODE): Promise<Container[]> {
  return (await runtime.list({ 'berth.node': node })).filter((c) => c.labels['berth.sandbox'] !== 'true');
}

/** The events written so far as [reason, object, severity, message], oldest first. */
async function eventsOf(store: MemoryStore): Promise<[string, string, string | undefined, string][]> {
  const records = (await store.list('events/')).entries.map((e) => decode('event', e.key, e.value));
  return records.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0)).map((e) => [e.reason, e.object, e.severity, e.message]);
}

const ready = (s: PodStatusRecord | undefined): boolean => s?.conditions.find((c) => c.type === 'Ready')?.status === 'True';

describe('startAgent with small bindings', () => {
  it('runs the template of the pod record a binding names, and leaves alone the containers of one whose pod cannot be read', async () => {
    const { store, runtime, agent } = await setup();
    const full = binding('web');
    const { template, ...small } = full;
    const pod: PodRecord = {
      type: 'pod', namespace: 'default', name: 'web', owner: { source: 'main', kind: 'Deployment', name: 'web' }, templateHash: full.templateHash, template, commit: full.commit,
      createdAt: '2025-06-01T12:00:00.000Z', node: NODE,
    };
    await store.commit({ put: [{ key: podKey('default', 'web'), value: encode(pod) }, { key: bindingKey(NODE, 'default', 'web'), value: encode(small) }] });
    await waitFor(async () => ready(await status(store, 'web')), { what: 'web running from its pod record' });
    expect((await mine(runtime)).map((c) => c.labels['berth.container'])).toEqual(['app']);

    // The pod record goes (by hand: berth deletes a pod and its binding together) and the binding
    // names another template: nothing readable to run, so the container is kept, as kubelet keeps
    // what it was not told about (dropping the binding would remove it).
    await store.commit({ del: [podKey('default', 'web')], put: [{ key: bindingKey(NODE, 'default', 'web'), value: encode({ ...small, templateHash: 'h2' }) }] });
    await agent.idle();
    expect((await mine(runtime)).map((c) => c.state)).toEqual(['running']);
  });
});

describe('startAgent', () => {
  it('registers its node on a lease, and takes it away on stop while containers keep running', async () => {
    const { store, runtime, agent } = await setup({ labels: { zone: 'a' }, address: '10.0.0.9' });
    await bind(store, binding('web'));
    await waitFor(async () => ready(await status(store, 'web')));
    const e = await store.get(nodeKey(NODE));
    const node: NodeRecord | undefined = e && decode('node', e.key, e.value);
    // The version of berth's package.json (read by the agent from the file, not kept by hand).
    const { version } = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(node).toMatchObject({ name: NODE, address: '10.0.0.9', version, labels: { zone: 'a', 'berth.io/hostname': NODE } });
    expect(node?.capacity.cpu).toBeGreaterThan(0);
    expect(node?.capacity.memory).toBeGreaterThan(0);

    await agent.stop();
    agents = [];
    expect(await store.get(nodeKey(NODE))).toBeUndefined();
    expect((await mine(runtime)).map((c) => c.state)).toEqual(['running']);
  });

  it('makes a pod\'s containers right after its sandbox, so the first pods run while later sandboxes are still made', async () => {
    // On a pod network without static addresses (an older berth's) a one-container pod has a sandbox too.
    const { store, runtime, agent } = await setup({ createConcurrency: 1 }, new FakeRuntime({ images: [IMAGE], subnets: false }));
    await agent.idle();
    runtime.calls.length = 0;
    const pods = ['a', 'b', 'c'];
    await store.commit({ put: pods.map((p) => ({ key: bindingKey(NODE, 'default', p), value: encode(binding(p)) })) });
    await waitFor(async () => (await Promise.all(pods.map((p) => status(store, p)))).every(ready), { what: 'three pods ready' });
    const creates = runtime.calls.filter((c) => c.startsWith('create ')).map((c) => /^create berth_n1_default_(\w+)_(POD|app)/.exec(c)?.slice(1, 3).join(' '));
    expect(creates).toEqual(['a POD', 'a app', 'b POD', 'b app', 'c POD', 'c app']);
  });

  it('registers again when its lease is lost', async () => {
    const { store, agent } = await setup();
    await agent.idle();
    const [lease] = store.handedOut;
    const before = await store.get(nodeKey(NODE));
    await store.expireLease(lease?.id ?? '');
    const after = await waitFor(async () => {
      const e = await store.get(nodeKey(NODE));
      return store.handedOut.length === 2 && e && e.createRevision > (before?.modRevision ?? 0) && e;
    }, { what: 'the node to be registered again' });
    expect(after.value).toBe(before?.value);
    expect(store.handedOut.map((l) => l.id)).toEqual([lease?.id, expect.any(String)]);
  });

  it.each([
    { selfFence: undefined, cutOff: true, stops: ['member', 'sandbox'] },
    { selfFence: undefined, cutOff: false, stops: [] },
    { selfFence: false, cutOff: true, stops: [] },
  ])('self-fences when its lease expires and etcd does not answer (selfFence $selfFence, cut off $cutOff): its pods stop, members before their sandbox, within 2 s each', async ({ selfFence, cutOff, stops }) => {
    const { store, runtime, agent } = await setup({ ...(selfFence === undefined ? {} : { selfFence }), stopGraceSeconds: 30 }, new FakeRuntime({ images: [IMAGE], subnets: false }));
    await bind(store, binding('web'));
    await waitFor(async () => ready(await status(store, 'web')));
    await agent.idle();
    const all = await runtime.list({ 'berth.node': NODE });
    const role = new Map(all.map((c) => [c.id, c.labels['berth.sandbox'] === 'true' ? 'sandbox' : 'member']));
    runtime.calls.length = 0;
    const graces: number[] = [];
    const stop = runtime.stop.bind(runtime);
    runtime.stop = (id, grace) => {
      graces.push(grace);
      return stop(id, grace);
    };
    store.cutOff = cutOff;
    await store.expireLease(store.handedOut[0]?.id ?? '');
    if (stops.length > 0) await waitFor(() => graces.length >= stops.length, { what: 'the pod stopped' });
    store.cutOff = false;
    await waitFor(() => store.handedOut.length === 2, { timeoutMs: 30_000, what: 'the node registered again' });
    await agent.idle();
    // Back on a new lease, the pod is still bound here: it runs again (after the agent's own removals, if it stopped).
    await waitFor(async () => ready(await status(store, 'web')) && (await mine(runtime)).every((c) => c.state === 'running'), { what: 'web running again' });
    const stopped = runtime.calls.filter((c) => c.startsWith('stop ')).slice(0, 2).map((c) => c.slice('stop '.length));
    expect(stopped.map((id) => role.get(id))).toEqual(stops);
    expect(graces.slice(0, stops.length)).toEqual(stops.map(() => 2));
  });

  it('fences on a new lease: the containers of pods moved away meanwhile are removed before anything is created', async () => {
    const { store, runtime, agent } = await setup();
    await bind(store, binding('web'));
    await waitFor(async () => ready(await status(store, 'web')));
    const stale = (await runtime.list({ 'berth.node': NODE })).map((c) => `remove ${c.id}`).sort();
    expect(stale).toHaveLength(1); // the pod's one container, which holds its network itself
    await agent.stop();
    agents = [];
    // While the node was away its pod was moved, and another was bound to it.
    await unbind(store, binding('web'));
    await bind(store, binding('api'));
    runtime.calls.length = 0;
    await setup({ store }, runtime);
    await waitFor(async () => ready(await status(store, 'api')));
    const firstCreate = runtime.calls.findIndex((c) => c.startsWith('create '));
    expect(runtime.calls.slice(0, firstCreate).filter((c) => c.startsWith('remove ')).sort()).toEqual(stale);
  });

  it('runs what is bound, labelled, and reports it ready', async () => {
    const { store, runtime, agent } = await setup();
    await bind(store, binding('web', { commit: 'abc', containers: [spec('app'), spec('side')] }));
    await waitFor(async () => ready(await status(store, 'web')), { what: 'web ready' });
    await agent.idle();
    const cs = await mine(runtime);
    expect(cs.map((c) => [c.name, c.state])).toEqual([
      ['berth_n1_default_web_app_h1', 'running'],
      ['berth_n1_default_web_side_h1', 'running'],
    ]);
    expect(cs[0]?.labels).toEqual({ 'berth.node': NODE, 'berth.namespace': 'default', 'berth.pod': 'web', 'berth.container': 'app', 'berth.hash': 'h1', 'berth.commit': 'abc' });
    expect(await status(store, 'web')).toMatchObject({ phase: 'Running', templateHash: 'h1', containers: [{ name: 'app', state: 'running', restarts: 0 }, { name: 'side', state: 'running', restarts: 0 }] });
  });

  it('replaces containers when the template changes and removes them when unbound', async () => {
    const { store, runtime, agent } = await setup();
    await bind(store, binding('web'));
    await waitFor(async () => ready(await status(store, 'web')));
    await bind(store, binding('web', { hash: 'h2' }));
    await waitFor(async () => (await status(store, 'web'))?.templateHash === 'h2' && ready(await status(store, 'web')));
    await agent.idle();
    expect((await mine(runtime)).map((c) => c.name)).toEqual(['berth_n1_default_web_app_h2']);

    await unbind(store, binding('web'));
    await waitFor(async () => (await mine(runtime)).length === 0, { what: 'the container to be removed' });
    await waitFor(async () => (await store.list(statusPrefix(NODE))).entries.length === 0, { what: 'the status to be deleted' });
  });

  it.each([
    { case: 'Kubernetes\' default of 30 s when neither the pod nor the agent sets one', over: { stopGraceSeconds: undefined }, template: {}, grace: 30 },
    { case: 'the agent\'s own when the pod sets none', over: { stopGraceSeconds: 3 }, template: {}, grace: 3 },
    { case: 'the pod\'s terminationGracePeriodSeconds over the agent\'s', over: { stopGraceSeconds: 3 }, template: { terminationGracePeriodSeconds: 7 }, grace: 7 },
  ])('stops a removed pod\'s container with $case', async ({ over, template, grace }) => {
    const { store, runtime } = await setup(over);
    const b = binding('web');
    const withGrace = { ...b, template: { ...b.template, ...template } };
    await bind(store, withGrace);
    await waitFor(async () => ready(await status(store, 'web')));
    const [app] = await mine(runtime);
    await unbind(store, withGrace);
    await waitFor(async () => (await mine(runtime)).length === 0, { what: 'the container to be removed' });
    expect(runtime.graces.get(app?.id ?? '')).toBe(grace);
  });

  it('frees a host port before the replacement that needs it starts', async () => {
    const { store, runtime, agent } = await setup();
    const withPort = (hash: string): BindingRecord => binding('web', { hash, containers: [spec('app', { ports: [{ containerPort: 80, protocol: 'TCP', hostPort: 8080 }] })] });
    await bind(store, withPort('h1'));
    await waitFor(async () => ready(await status(store, 'web')));
    const [old] = await mine(runtime);
    runtime.calls.length = 0;
    await bind(store, withPort('h2'));
    await waitFor(async () => (await status(store, 'web'))?.templateHash === 'h2' && ready(await status(store, 'web')));
    await agent.idle();
    expect(runtime.calls.filter((c) => !c.startsWith('pull'))).toEqual([`stop ${old?.id ?? ''}`, `remove ${old?.id ?? ''}`, 'create berth_n1_default_web_app_h2', expect.stringMatching(/^start /)]);
  });

  it('heals a killed container, counts the restart and records the drift', async () => {
    const { store, runtime, agent } = await setup();
    await bind(store, binding('web'));
    await waitFor(async () => ready(await status(store, 'web')));
    const [c] = await mine(runtime);
    runtime.exit(c?.id ?? '', 137);
    const healed = await waitFor(async () => {
      const s = await status(store, 'web');
      return s?.containers[0]?.restarts === 1 && ready(s) && s;
    }, { what: 'web healed' });
    expect(healed.conditions.find((x) => x.type === 'Drifted')).toMatchObject({ status: 'False', reason: 'Healed' });
    expect((await mine(runtime)).map((x) => x.id)).toEqual([c?.id]);
    // Stopping writes the repeats folded in memory: the second Started.
    await agent.stop();
    agents = [];
    const events = (await store.list('events/')).entries.map((e) => decode('event', e.key, e.value));
    expect(events.map((e: EventRecord) => [e.reason, e.object, e.count, e.severity, e.component, e.message]).sort()).toEqual([
      ['Created', 'pod/default/web', 1, 'Normal', 'agent/n1', 'Created container app'],
      ['Drifted', 'pod/default/web', 1, 'Warning', 'agent/n1', expect.stringMatching(/^container app was stopped from outside \(exited with code 137\)$/)],
      ['Healed', 'pod/default/web', 1, 'Normal', 'agent/n1', expect.stringMatching(/^container app was stopped from outside .*; restarted$/)],
      ['Started', 'pod/default/web', 2, 'Normal', 'agent/n1', 'Started container app'],
    ]);
  });

  it('recreates a removed container and counts it as a restart', async () => {
    const { store, runtime } = await setup();
    await bind(store, binding('web'));
    await waitFor(async () => ready(await status(store, 'web')));
    const [c] = await mine(runtime);
    runtime.removeNow(c?.id ?? '');
    const s = await waitFor(async () => {
      const st = await status(store, 'web');
      return st?.containers[0]?.restarts === 1 && ready(st) && st;
    });
    expect(s.containers[0]?.id).not.toBe(c?.id);
  });

  it('counts a removal seen half done (exited, then gone) as one restart', async () => {
    const { store, runtime } = await setup();
    await bind(store, binding('web'));
    await waitFor(async () => ready(await status(store, 'web')));
    const id = (await mine(runtime))[0]?.id ?? '';
    // What `docker rm -f` looks like from outside: the container dies, and starting it fails until it is gone.
    runtime.failOn('start', (target) => (target === id ? new Error('removal of container in progress') : undefined));
    runtime.exit(id, 137);
    await waitFor(async () => (await status(store, 'web'))?.conditions.find((c) => c.type === 'Drifted')?.status === 'True');
    runtime.removeNow(id);
    const s = await waitFor(async () => {
      const st = await status(store, 'web');
      return ready(st) && st;
    });
    expect(s.containers[0]).toMatchObject({ state: 'running', restarts: 1 });
    expect(s.conditions.find((c) => c.type === 'Drifted')).toMatchObject({ status: 'False', reason: 'Healed' });
  });

  it('backs off a crash loop on the schedule it is given, naming the exit', async () => {
    const { store, runtime } = await setup({ backOff: { initialMs: 1000, maxMs: 4000, resetMs: 60_000 } });
    await bind(store, binding('web'));
    await waitFor(async () => ready(await status(store, 'web')));
    const crash = async (): Promise<void> => runtime.exit((await mine(runtime))[0]?.id ?? '', 1);
    await crash();
    await waitFor(async () => (await status(store, 'web'))?.containers[0]?.restarts === 1 && ready(await status(store, 'web')));
    await crash();
    const waiting = await waitFor(async () => {
      const s = await status(store, 'web');
      return s?.conditions[0]?.reason === 'CrashLoopBackOff' && s;
    });
    expect(waiting.containers[0]).toMatchObject({ state: 'exited', exitCode: 1, restarts: 1, backOff: 1, reason: 'CrashLoopBackOff', lastState: { exitCode: 1, reason: 'Error' } });
    expect(waiting.conditions[0]?.message).toMatch(/back-off 1s restarting failed container app: exited with code 1 \(Error\)/);
    expect(waiting.conditions.find((c) => c.type === 'Drifted')).toBeUndefined();
    // The back-off ends by itself: no event or resync needed.
    const again = await waitFor(async () => {
      const s = await status(store, 'web');
      return s?.containers[0]?.restarts === 2 && s;
    }, { timeoutMs: 5000 });
    // Running again, it still tells how its last run ended, and the loop's count.
    expect(again.containers[0]).toMatchObject({ backOff: 2, lastState: { exitCode: 1, reason: 'Error' } });
    expect(await eventsOf(store)).toContainEqual(['BackOff', 'pod/default/web', 'Warning', 'Back-off restarting failed container app: exited with code 1 (Error)']);
  });

  it('reports a failed pull as ErrImagePull, then ImagePullBackOff while it waits, and pulls once the registry has the image', async () => {
    const runtime = new FakeRuntime({ images: [IMAGE], registry: ['team/app:2'] });
    const { store } = await setup({ imageBackOff: { initialMs: 400, maxMs: 1600 } }, runtime);
    await bind(store, binding('bad', { containers: [spec('app', { image: 'team/nope:1' })] }));
    await bind(store, binding('good', { containers: [spec('app', { image: 'team/app:2' })] }));
    const bad = await waitFor(async () => (await status(store, 'bad'))?.conditions[0]?.reason === 'ErrImagePull' && status(store, 'bad'));
    const answer = 'cannot pull image team/nope:1: registry docker.io has no such image (manifest for team/nope:1 not found: manifest unknown: manifest unknown)';
    expect(bad).toMatchObject({ phase: 'Pending', containers: [{ state: 'waiting', reason: 'ErrImagePull', message: `${answer}; check the image name and tag in the manifest` }] });
    const waiting = await waitFor(async () => (await status(store, 'bad'))?.conditions[0]?.reason === 'ImagePullBackOff' && status(store, 'bad'));
    expect(waiting).toMatchObject({ containers: [{ state: 'waiting', reason: 'ImagePullBackOff', message: expect.stringMatching(/^Back-off pulling image team\/nope:1: cannot pull image team\/nope:1: registry docker.io has no such image/) as unknown }] });
    await waitFor(async () => ready(await status(store, 'good')));
    expect((await eventsOf(store)).filter(([, object]) => object === 'pod/default/good')).toEqual([
      ['Pulling', 'pod/default/good', 'Normal', 'Pulling image team/app:2'],
      ['Pulled', 'pod/default/good', 'Normal', 'Successfully pulled image team/app:2'],
      ['Created', 'pod/default/good', 'Normal', 'Created container app'],
      ['Started', 'pod/default/good', 'Normal', 'Started container app'],
    ]);
    // Tried again after each back-off; once pushed, the next try pulls it and the pod runs.
    await waitFor(() => runtime.calls.filter((c) => c === 'pull team/nope:1').length >= 2);
    runtime.publish('team/nope:1');
    await waitFor(async () => ready(await status(store, 'bad')), { timeoutMs: 10_000 });
    const events = (await eventsOf(store)).filter(([, object]) => object === 'pod/default/bad');
    expect(events.slice(0, 3)).toEqual([
      ['Pulling', 'pod/default/bad', 'Normal', 'Pulling image team/nope:1'],
      ['Failed', 'pod/default/bad', 'Warning', `Error: ${answer}; check the image name and tag in the manifest`],
      ['BackOff', 'pod/default/bad', 'Warning', 'Back-off pulling image team/nope:1'],
    ]);
    expect(events.slice(-2).map(([reason]) => reason)).toEqual(['Created', 'Started']);
  });

  it('shows a pull in progress in the pod status (ContainerCreating, layers and bytes), then the running pod', async () => {
    let release = (): void => undefined;
    const held = new Promise<void>((r) => (release = r));
    class SlowRegistry extends FakeRuntime {
      override async pull(image: string, onProgress?: (p: PullProgress) => void): Promise<void> {
        onProgress?.({ status: 'Pulling fs layer', id: 'aaaaaaaaaaaa' });
        onProgress?.({ status: 'Downloading', id: 'aaaaaaaaaaaa', current: 1_500_000, total: 3_000_000 });
        await held;
        return super.pull(image, onProgress);
      }
    }
    const runtime = new SlowRegistry({ images: [IMAGE], registry: ['team/app:2'] });
    const { store } = await setup({}, runtime);
    try {
      await bind(store, binding('web', { containers: [spec('app', { image: 'team/app:2' })] }));
      // The first line at once, the latest at the end of the 2 s throttle.
      const first = await waitFor(async () => (await status(store, 'web'))?.conditions[0]?.reason === 'ContainerCreating' && status(store, 'web'), { timeoutMs: 5000 });
      expect(first.containers[0]).toMatchObject({ state: 'waiting', reason: 'ContainerCreating', message: 'pulling image team/app:2: 0 of 1 layer done' });
      const latest = await waitFor(async () => (await status(store, 'web'))?.containers[0]?.message?.includes('MB') === true && status(store, 'web'), { timeoutMs: 8000 });
      expect(latest.containers[0]).toMatchObject({ state: 'waiting', reason: 'ContainerCreating', message: 'pulling image team/app:2: 0 of 1 layer done, 1.5 MB of 3.0 MB downloaded' });
    } finally {
      // Released whatever happened: the agent cannot stop while its round waits for this pull.
      release();
    }
    await waitFor(async () => ready(await status(store, 'web')));
  });

  it.each([
    ['no credentials for a registry that asks for them', undefined, 'registry reg.example:5000 asks for credentials and the agent has none for it'],
    ['wrong credentials', { username: 'alice', password: 'wrong' }, 'registry reg.example:5000 refused the credentials'],
  ] as const)('a pull with %s is ErrImagePull naming the registry and the fix; the password is in no status', async (_name, creds, why) => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-auth-'));
    try {
      const file = join(dir, 'config.json');
      await writeFile(file, JSON.stringify({ auths: creds ? { 'reg.example:5000': creds } : {} }), { mode: 0o600 });
      const runtime = new FakeRuntime({ images: [IMAGE], registry: ['reg.example:5000/app:1'], locked: { 'reg.example:5000': 'alice:s3cret' } });
      const { store } = await setup({ registryAuth: new RegistryAuth(file, true), imageBackOff: { initialMs: 300, maxMs: 600 } }, runtime);
      await bind(store, binding('web', { containers: [spec('app', { image: 'reg.example:5000/app:1' })] }));
      const s = await waitFor(async () => (await status(store, 'web'))?.conditions[0]?.reason === 'ErrImagePull' && status(store, 'web'));
      expect(s.containers[0]?.message).toContain(`cannot pull image reg.example:5000/app:1: ${why}`);
      expect(s.containers[0]?.message).toContain("put credentials for reg.example:5000 in the Docker config of the agent's user (docker login reg.example:5000) or in --registry-auth-file");
      // The operator logs in: the file is read again, and the next try after the back-off pulls.
      await writeFile(file, JSON.stringify({ auths: { 'http://reg.example:5000/v2/': { auth: Buffer.from('alice:s3cret').toString('base64') } } }), { mode: 0o600 });
      await waitFor(async () => ready(await status(store, 'web')), { timeoutMs: 20_000 });
      expect(JSON.stringify((await store.list('')).entries.map((e) => e.value.toString()))).not.toContain('s3cret');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a pod asking for what its node\'s operator did not allow, naming the rule and the flag; runs it where --allow says so', async () => {
    const privileged = (pod: string): BindingRecord => {
      const b = binding(pod, { containers: [spec('app', { securityContext: { privileged: true, capabilities: { add: ['NET_ADMIN'] } } })] });
      return { ...b, template: { ...b.template, hostNetwork: true } };
    };
    const { store, runtime } = await setup({ allow: new Set(['privileged']) });
    await bind(store, privileged('root'));
    const s = await waitFor(async () => (await status(store, 'root'))?.conditions[0]?.reason === 'Forbidden' && status(store, 'root'));
    const words = `hostNetwork, containers[app].securityContext.capabilities.add need what only the operator of node ${NODE} may allow (hostNetwork, capabilities); it runs them with berth agent --allow hostNetwork,capabilities`;
    expect(s).toMatchObject({ phase: 'Pending', containers: [{ state: 'waiting', reason: 'Forbidden', message: words }] });
    expect(runtime.calls.filter((c) => c.startsWith('create') || c.startsWith('pull'))).toEqual([]);
    expect(await eventsOf(store)).toContainEqual(['Forbidden', 'pod/default/root', 'Warning', words]);

    const other = await setup({ node: 'n2', allow: new Set(['privileged', 'capabilities', 'hostNetwork']) });
    const b = { ...privileged('root'), node: 'n2' };
    await bind(other.store, b);
    await waitFor(async () => ready(await status(other.store, 'root', 'n2')));
    const c = (await mine(other.runtime, 'n2')).find((x) => x.labels['berth.sandbox'] !== 'true');
    expect(other.runtime.specOf(c?.id ?? '')?.security).toEqual({ privileged: true, capAdd: ['NET_ADMIN'], hostNetwork: true });
  });

  it('records stopping a container it replaces as Killing, with the reason', async () => {
    const { store, runtime } = await setup();
    await bind(store, binding('web'));
    await waitFor(async () => ready(await status(store, 'web')));
    await bind(store, binding('web', { hash: 'h2' }));
    await waitFor(async () => (await mine(runtime)).map((c) => c.name).join() === 'berth_n1_default_web_app_h2');
    await waitFor(async () => (await eventsOf(store)).some(([reason]) => reason === 'Killing'));
    expect((await eventsOf(store)).filter(([reason]) => reason === 'Killing')).toEqual([
      ['Killing', 'pod/default/web', 'Normal', 'Stopping container berth_n1_default_web_app_h1: template changed (h1 → h2)'],
    ]);
  });

  it.each([
    ['Always pulls an image the node already has', 'team/app:2', 'Always', true],
    ['IfNotPresent uses the image the node has', 'team/app:2', 'IfNotPresent', false],
    ['a :latest image is pulled by default', 'team/app:latest', undefined, true],
    ['an untagged image is pulled by default', 'team/app', undefined, true],
    ['any other tag is used as present by default', 'team/app:2', undefined, false],
  ] as const)('imagePullPolicy: %s', async (_name, image, imagePullPolicy, pulls) => {
    const runtime = new FakeRuntime({ images: [image, IMAGE], registry: [image] });
    const { store } = await setup({}, runtime);
    await bind(store, binding('web', { containers: [spec('app', { image, ...(imagePullPolicy ? { imagePullPolicy } : {}) })] }));
    await waitFor(async () => ready(await status(store, 'web')));
    expect(runtime.calls.filter((c) => c.startsWith('pull '))).toEqual(pulls ? [`pull ${image}`] : []);
  });

  it('imagePullPolicy Never: a missing image fails the pod, with no pull', async () => {
    const runtime = new FakeRuntime({ images: [IMAGE], registry: ['team/app:2'] });
    const { store } = await setup({}, runtime);
    await bind(store, binding('web', { containers: [spec('app', { image: 'team/app:2', imagePullPolicy: 'Never' })] }));
    const s = await waitFor(async () => (await status(store, 'web'))?.conditions[0]?.reason === 'ErrImageNeverPull' && status(store, 'web'));
    expect(s).toMatchObject({ phase: 'Pending', containers: [{ state: 'waiting', message: 'image team/app:2 is not on this node and its imagePullPolicy is Never; load it into the node\'s Docker (docker pull team/app:2), or change imagePullPolicy in the manifest' }] });
    expect(runtime.calls.filter((c) => c.startsWith('pull ') || (c.startsWith('create ') && !c.includes('_POD_')))).toEqual([]);
  });

  it('runs each pod in a sandbox of its own and reports its addresses', async () => {
    const { store, runtime } = await setup({ address: '192.0.2.9', hostIp: '127.0.0.1' });
    await bind(store, binding('web', { containers: [spec('app', { ports: [{ containerPort: 80, protocol: 'TCP', hostPort: 8080 }, { containerPort: 90, protocol: 'TCP' }] }), spec('side')] }));
    const s = await waitFor(async () => ready(await status(store, 'web')) && status(store, 'web'));
    const [sandbox] = await runtime.list({ 'berth.node': NODE, 'berth.sandbox': 'true' });
    expect(runtime.networks.get('berth')).toEqual({ 'berth.pod-network': 'berth' });
    expect((await mine(runtime)).map((c) => c.joined)).toEqual([sandbox?.id, sandbox?.id]);
    expect(runtime.specOf(sandbox?.id ?? '')).toMatchObject({ network: 'berth', hostname: 'web', image: IMAGE });
    expect(s).toMatchObject({ podIP: sandbox?.ip, hostIP: '192.0.2.9', hostPorts: [{ containerPort: 80, protocol: 'TCP', hostPort: 8080 }, { containerPort: 90, protocol: 'TCP', hostPort: expect.any(Number) }] });
  });

  it('runs a one-container pod as that container, without a sandbox: on the pod network at a static address it keeps across restarts, with the pod\'s hostname and ports', async () => {
    const { store, runtime } = await setup({ address: '192.0.2.9', hostIp: '127.0.0.1', backOff: { initialMs: 1, maxMs: 1, resetMs: 600_000 } });
    await bind(store, binding('web', { containers: [spec('app', { ports: [{ containerPort: 80, protocol: 'TCP', hostPort: 8080 }, { containerPort: 90, protocol: 'TCP' }] })] }));
    const s = await waitFor(async () => ready(await status(store, 'web')) && status(store, 'web'));
    const all = await runtime.list({ 'berth.node': NODE });
    expect(all.map((c) => c.labels['berth.sandbox'] ?? 'member')).toEqual(['member']);
    const [app] = all;
    const ip = app?.labels['berth.pod-ip'] ?? '';
    expect(ip).toMatch(/^10\.88\.(1(2[89]|[3-9]\d)|2\d\d)\.\d+$/); // the upper half of the fake's 10.88.0.0/16
    expect(runtime.specOf(app?.id ?? '')).toMatchObject({ network: 'berth', ip, hostname: 'web', publishAll: true });
    expect(s).toMatchObject({ podIP: ip, hostIP: '192.0.2.9', hostPorts: [{ containerPort: 80, protocol: 'TCP', hostPort: 8080 }, { containerPort: 90, protocol: 'TCP', hostPort: expect.any(Number) }] });
    runtime.exit(app?.id ?? '', 1);
    const after = await waitFor(async () => { const x = await status(store, 'web'); return x?.containers[0]?.restarts === 1 && ready(x) && x; }, { what: 'web restarted' });
    expect(after.podIP).toBe(ip);
  });

  it('leaves a one-container pod running alone as it is while the pod network cannot be read (no sandbox, no restart)', async () => {
    let t = Date.parse('2026-01-01T00:00:00Z');
    const { store, runtime } = await setup({ now: () => new Date(t) });
    await bind(store, binding('web'));
    await waitFor(async () => ready(await status(store, 'web')));
    const [alone] = await mine(runtime);
    runtime.failOn('ensureNetwork', () => new BerthError('EDOCKER', 'cannot list networks: connection reset'));
    t += 31_000; // past what the agent trusts of the network it read
    // A pod of two containers needs a sandbox on that network: its status says the round ran.
    await bind(store, binding('two', { containers: [spec('a'), spec('b')] }));
    await waitFor(async () => (await status(store, 'two'))?.conditions[0]?.reason === 'FailedCreatePodSandBox', { what: 'a round without the pod network' });
    const during = await runtime.list({ 'berth.node': NODE });
    expect(during.filter((c) => c.labels['berth.pod'] === 'web').map((c) => [c.id, c.state])).toEqual([[alone?.id, 'running']]);
    runtime.failOn('ensureNetwork', undefined);
    await waitFor(async () => ready(await status(store, 'two')), { what: 'two running once the network can be read' });
    expect((await runtime.list({ 'berth.node': NODE, 'berth.pod': 'web' })).map((c) => [c.id, c.state])).toEqual([[alone?.id, 'running']]);
    expect((await status(store, 'web'))?.containers[0]?.restarts).toBe(0);
  });

  it('gives a one-container pod another address when Docker refuses its own (another container holds it)', async () => {
    const { store, runtime } = await setup();
    // Another process's container holds the address the pod's name hashes to.
    const net = await runtime.ensureNetwork('berth', {});
    const pool = staticPool(net);
    if ('none' in pool) throw new Error(pool.none);
    const taken = planAddresses(['default/web'], [], pool).get('default/web') ?? '';
    const squatter = await runtime.create({ name: 'squatter', image: IMAGE, command: [], args: [], env: [], labels: {}, ports: [], limits: {}, network: 'berth', ip: taken });
    await runtime.start(squatter);
    await bind(store, binding('web'));
    const s = await waitFor(async () => { const x = await status(store, 'web'); return ready(x) && x; }, { what: 'web running at another address' });
    expect(s.podIP).toMatch(/^10\.88\./);
    expect(s.podIP).not.toBe(taken);
    expect((await mine(runtime)).map((c) => c.labels['berth.pod-ip'])).toEqual([s.podIP]);
  });

  it('says how to get the sandbox image when the node has none', async () => {
    const { store } = await setup({ sandboxImage: 'berth/sandbox:9' }, new FakeRuntime({ images: [IMAGE], subnets: false }));
    await bind(store, binding('web'));
    const s = await waitFor(async () => (await status(store, 'web'))?.conditions[0]?.reason === 'FailedCreatePodSandBox' && status(store, 'web'));
    expect(s.containers[0]?.message).toMatch(/^cannot make the pod sandbox: the sandbox image berth\/sandbox:9 is not on this node and cannot be pulled \(.*\); build it with scripts\/build-image.sh --sandbox berth\/sandbox:9, or pass the agent --sandbox-image$/);
  });

  it('holds a container whose ConfigMap is missing (CreateContainerConfigError) and makes it once a sealed commit has it', async () => {
    const { store, runtime } = await setup();
    const env = [{ name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'greeting' } } }, { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' as const } } }];
    await bind(store, { ...binding('web', { containers: [spec('app', { env, args: ['echo', '$(GREETING)'] })] }), source: 'src' });
    const held = await waitFor(async () => (await status(store, 'web'))?.conditions[0]?.reason === 'CreateContainerConfigError' && status(store, 'web'));
    expect(held).toMatchObject({ phase: 'Pending', containers: [{ state: 'waiting', message: expect.stringContaining('configmap "cfg" not found') as unknown }] });
    // Only the pod's sandbox was made: its network is there for when the container can be.
    expect(runtime.calls.filter((c) => c.startsWith('create ') && !c.includes('_POD_'))).toEqual([]);

    const cfg = { kind: 'ConfigMap' as const, namespace: 'default', name: 'cfg', labels: {}, path: 'cfg.yaml', line: 1, hash: 'x', spec: { data: { greeting: 'hi' } } };
    const { revision } = await store.commit({ put: [{ key: desiredKey('src', 'ConfigMap/default/cfg'), value: encode({ type: 'desired', object: cfg, commit: 'c1' }) }] });
    const seal = { type: 'seal' as const, source: 'src', commit: 'c1', revision, time: '2026-01-01T00:00:00Z', author: 'a', message: 'm', counts: { objects: 1, created: 1, updated: 0, deleted: 0 } };
    await store.commit({ put: [{ key: sourceKey('src'), value: encode(seal) }] });
    await waitFor(async () => ready(await status(store, 'web')));
    const [made] = runtime.specs().filter((s) => s.labels['berth.sandbox'] !== 'true');
    expect(made?.env).toEqual([{ name: 'GREETING', value: 'hi' }, { name: 'POD', value: 'web' }]);
    expect(made?.args).toEqual(['echo', 'hi']);
  });

  it('never touches containers of another node or without its label', async () => {
    const runtime = new FakeRuntime({ images: [IMAGE] });
    const store = new LeaseRecordingStore();
    const foreign = runtime.inject({ name: 'someone-elses', labels: { app: 'x' }, image: IMAGE, state: 'running', ports: [] });
    const other = await startAgent({ store, runtime, node: 'n2', log: silentLogger(), resyncMs: 60_000, sandboxImage: IMAGE });
    agents.push(other);
    await setup({ store }, runtime);
    await bind(store, binding('web'));
    await bind(store, { ...binding('api'), node: 'n2' });
    await waitFor(async () => ready(await status(store, 'web')) && ready(await status(store, 'api', 'n2')));
    await unbind(store, binding('web'));
    await waitFor(async () => (await mine(runtime)).length === 0);
    expect((await mine(runtime, 'n2')).map((c) => c.name)).toEqual(['berth_n2_default_api_app_h1']);
    expect(runtime.calls.filter((c) => c.includes(foreign))).toEqual([]);
  });

  it('leaves the containers of an unreadable binding alone', async () => {
    const { store, runtime, agent } = await setup();
    await bind(store, binding('web'));
    await waitFor(async () => ready(await status(store, 'web')));
    await store.commit({ put: [{ key: bindingKey(NODE, 'default', 'web'), value: '{"type":"binding"' }] });
    await bind(store, binding('api'));
    await waitFor(async () => ready(await status(store, 'api')));
    await agent.idle();
    expect((await mine(runtime)).map((c) => c.name)).toEqual(['berth_n1_default_api_app_h1', 'berth_n1_default_web_app_h1']);
    expect(await status(store, 'web')).toBeDefined();
  });

  it('rides out an engine outage and catches up on what it missed', async () => {
    const { store, runtime } = await setup();
    await bind(store, binding('web'));
    await waitFor(async () => ready(await status(store, 'web')));
    runtime.setDown(true);
    await bind(store, binding('api'));
    // The engine stays down across several failed rounds: each is retried, none writes a status.
    await waitFor(() => runtime.refused >= 3, { what: 'three refused calls while Docker is down' });
    expect(await status(store, 'api')).toBeUndefined();
    expect((await mine(runtime).catch(() => 'down'))).toBe('down');
    const refused = runtime.refused;
    runtime.setDown(false);
    await waitFor(async () => ready(await status(store, 'api')), { what: 'api ready after the outage' });
    expect(ready(await status(store, 'web'))).toBe(true);
    expect((await mine(runtime)).map((c) => [c.name, c.state])).toEqual([
      ['berth_n1_default_api_app_h1', 'running'],
      ['berth_n1_default_web_app_h1', 'running'],
    ]);
    expect(refused).toBeGreaterThanOrEqual(3);
  });

  it('picks up where a previous agent left off without recreating anything', async () => {
    const { store, runtime, agent } = await setup();
    await bind(store, binding('web'));
    await waitFor(async () => ready(await status(store, 'web')));
    runtime.exit((await mine(runtime))[0]?.id ?? '', 137);
    await waitFor(async () => (await status(store, 'web'))?.containers[0]?.restarts === 1 && ready(await status(store, 'web')));
    await agent.stop();
    agents = [];
    runtime.calls.length = 0;
    const second = await setup({ store }, runtime);
    await second.agent.idle();
    expect(runtime.calls).toEqual([]);
    expect((await status(store, 'web'))?.containers[0]?.restarts).toBe(1);
  });
});
