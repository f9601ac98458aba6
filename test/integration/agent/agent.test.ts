// The agent against real etcd and a real Docker engine: bind, replace, unbind, heal, share an engine.
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { Store } from '../../../src/store/store.js';
import type { BindingRecord, PodStatusRecord } from '../../../src/store/records.js';
import { decode, encode } from '../../../src/store/records.js';
import { bindingKey, nodeKey } from '../../../src/store/keys.js';
import type { ContainerSpec } from '../../../src/manifest/types.js';
import type { Agent } from '../../../src/agent/agent.js';
import type { Container } from '../../../src/agent/runtime.js';
import { dockerRequest } from '../../support/docker.js';
import { planAddresses, staticPool } from '../../../src/agent/pod-address.js';
import { freeHostPort } from '../../support/ports.js';
import { pushImage, untagImage } from '../../support/registry.js';
import { agentTestbed } from '../../support/agent-testbed.js';
import { uniqueName } from '../../support/names.js';
import { waitFor } from '../../support/wait.js';

const dockerHost = inject('dockerHost');
const image = inject('testImage');
const bed = agentTestbed('agent');
const runtime = bed.runtime;
let store: Store;
beforeAll(() => {
  store = bed.store;
});

async function agentFor(node: string): Promise<Agent> {
  return bed.start(node, { hostIp: '127.0.0.1', stopGraceSeconds: 2 });
}

function httpd(hostPort: number): ContainerSpec {
  return {
    name: 'web',
    image,
    command: ['httpd', '-f', '-p', '8080', '-h', '/'],
    args: [],
    env: [{ name: 'GREETING', value: 'hi' }],
    ports: [{ containerPort: 8080, protocol: 'TCP', hostPort }],
    resources: { requests: {}, limits: { memory: 32 * 1024 * 1024 } },
  };
}

function binding(node: string, pod: string, hash: string, containers: ContainerSpec[]): BindingRecord {
  return { type: 'binding', node, namespace: 'default', pod, templateHash: hash, template: { labels: {}, containers, nodeSelector: {}, restartPolicy: 'Always' }, commit: `commit-${hash}` };
}

async function bind(b: BindingRecord): Promise<void> {
  await store.commit({ put: [{ key: bindingKey(b.node, b.namespace, b.pod), value: encode(b) }] });
}

const status = (node: string, pod: string): Promise<PodStatusRecord | undefined> => bed.status(node, pod);

async function readyStatus(node: string, pod: string, test: (s: PodStatusRecord) => boolean = () => true): Promise<PodStatusRecord> {
  return waitFor(
    async () => {
      const s = await status(node, pod);
      return s?.conditions.find((c) => c.type === 'Ready')?.status === 'True' && test(s) && s;
    },
    { timeoutMs: 20_000, what: `${node}/${pod} ready` },
  );
}

async function answers(port: number): Promise<boolean> {
  return waitFor(async () => (await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) })).status > 0, { timeoutMs: 15_000, what: `http on 127.0.0.1:${port}` });
}

const running = async (node: string): Promise<Container[]> => (await bed.members(node)).filter((c) => c.state === 'running');

describe('agent with etcd and Docker', () => {
  it('runs what is bound, replaces it on a new template, removes it when unbound', async () => {
    const node = uniqueName('node');
    await agentFor(node);
    await waitFor(() => store.get(nodeKey(node)), { what: 'node registered' });
    const port = await freeHostPort();

    await bind(binding(node, 'web', 'h1', [httpd(port)]));
    const ready = await readyStatus(node, 'web');
    expect(await answers(port)).toBe(true);
    const [first] = await running(node);
    const ip = first?.labels['berth.pod-ip'] ?? '';
    expect(first?.labels).toEqual({ 'berth.node': node, 'berth.namespace': 'default', 'berth.pod': 'web', 'berth.container': 'web', 'berth.hash': 'h1', 'berth.commit': 'commit-h1', 'berth.pod-ip': ip });
    // A pod of one container runs as that container, as docker-compose runs a service: no sandbox; it
    // publishes the port and holds the pod's static address itself.
    expect(await bed.sandboxes(node)).toEqual([]);
    expect(first?.joined).toBeUndefined();
    expect(first?.published).toEqual([{ containerPort: 8080, protocol: 'TCP', hostPort: port, hostIp: '127.0.0.1' }]);
    expect(first?.ip).toBe(ip);
    expect(ready.podIP).toBe(ip);

    // Same host port: the old container must go before the new one can start.
    await bind(binding(node, 'web', 'h2', [httpd(port)]));
    const replaced = await readyStatus(node, 'web', (s) => s.templateHash === 'h2');
    expect(replaced.conditions[0]?.observedCommit).toBe('commit-h2');
    await waitFor(async () => (await bed.members(node)).length === 1, { what: 'old container gone' });
    expect((await running(node)).map((c) => c.labels['berth.hash'])).toEqual(['h2']);
    expect(await answers(port)).toBe(true);

    await store.commit({ del: [bindingKey(node, 'default', 'web')] });
    await waitFor(async () => (await bed.members(node)).length === 0, { timeoutMs: 20_000, what: 'container removed' });
    await waitFor(async () => (await status(node, 'web')) === undefined, { what: 'status deleted' });
  });

  it('heals a docker kill and a docker rm -f', async () => {
    const node = uniqueName('node');
    await agentFor(node);
    const sleeper: ContainerSpec = { name: 'app', image, command: [], args: ['sleep', '3600'], env: [], ports: [], resources: { requests: {}, limits: {} } };
    await bind(binding(node, 'app', 'h1', [sleeper]));
    await readyStatus(node, 'app');
    const [c] = await running(node);

    const kill = await dockerRequest(dockerHost, 'POST', `/containers/${c?.id ?? ''}/kill`);
    expect(kill.status).toBe(204);
    const healed = await readyStatus(node, 'app', (s) => s.containers[0]?.restarts === 1);
    expect(healed.containers[0]?.id).toBe(c?.id);
    // The pod keeps its address across the restart (a static one: Docker gives it back).
    expect(c?.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(healed.podIP).toBe(c?.ip);
    expect(healed.conditions.find((x) => x.type === 'Drifted')).toMatchObject({ status: 'False', reason: 'Healed' });

    const rm = await dockerRequest(dockerHost, 'DELETE', `/containers/${c?.id ?? ''}?force=1`);
    expect(rm.status).toBe(204);
    const recreated = await readyStatus(node, 'app', (s) => s.containers[0]?.restarts === 2);
    expect(recreated.containers[0]?.id).not.toBe(c?.id);
    expect((await running(node)).length).toBe(1);
    // Made again, it gets the same address: its pod's, which nothing else took meanwhile.
    expect(recreated.podIP).toBe(c?.ip);
  });

  it('gives a pod of one container another address when Docker refuses its own (another process\'s container holds it)', async () => {
    const node = uniqueName('node');
    const info = await runtime.ensureNetwork(bed.podNetwork, { 'berth.pod-network': bed.podNetwork });
    const pool = staticPool(info);
    if ('none' in pool) throw new Error(`no static addresses on the pod network: ${pool.none}`);
    const taken = planAddresses(['default/squat'], [], pool).get('default/squat') ?? '';
    // Not labelled for the agent: it is another process's, which the agent never touches.
    const squatter = await runtime.create({ name: `${node}-squatter`, image, command: [], args: ['sleep', '3600'], env: [], labels: { 'berth.test': node }, ports: [], limits: {}, network: info.id, ip: taken });
    try {
      await runtime.start(squatter);
      await agentFor(node);
      const sleeper: ContainerSpec = { name: 'app', image, command: [], args: ['sleep', '3600'], env: [], ports: [], resources: { requests: {}, limits: {} } };
      await bind(binding(node, 'squat', 'h1', [sleeper]));
      const s = await readyStatus(node, 'squat');
      expect(s.podIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(s.podIP).not.toBe(taken);
      expect((await running(node)).map((c) => [c.labels['berth.pod-ip'], c.ip])).toEqual([[s.podIP, s.podIP]]);
      expect((await runtime.list({ 'berth.test': node })).map((c) => [c.state, c.ip])).toEqual([['running', taken]]);
    } finally {
      await runtime.remove(squatter);
    }
  });

  it('shares an engine with another agent without touching its containers', async () => {
    const [a, b] = [uniqueName('node-a'), uniqueName('node-b')];
    const agentA = await agentFor(a);
    await agentFor(b);
    const sleeper: ContainerSpec = { name: 'app', image, command: [], args: ['sleep', '3600'], env: [], ports: [], resources: { requests: {}, limits: {} } };
    await bind(binding(a, 'one', 'h1', [sleeper]));
    await bind(binding(b, 'two', 'h1', [sleeper]));
    await readyStatus(a, 'one');
    await readyStatus(b, 'two');
    const [theirs] = await running(b);

    await store.commit({ del: [bindingKey(a, 'default', 'one')] });
    await waitFor(async () => (await bed.members(a)).length === 0, { timeoutMs: 20_000, what: 'a’s container removed' });
    await agentA.idle();
    expect((await running(b)).map((c) => c.id)).toEqual([theirs?.id]);

    // Stopping an agent takes its node away and leaves its containers running.
    await bind(binding(a, 'three', 'h1', [sleeper]));
    await readyStatus(a, 'three');
    await bed.stop(agentA);
    expect(await store.get(nodeKey(a))).toBeUndefined();
    expect((await running(a)).length).toBe(1);
    expect((await running(b)).map((c) => c.id)).toEqual([theirs?.id]);
  });

  it('honours imagePullPolicy: Always fetches the registry’s image, IfNotPresent keeps the node’s, Never fails without one', async () => {
    const node = uniqueName('node');
    const agent = await agentFor(node);
    const name = `${inject('registry')}/${uniqueName('pull')}/app:latest`;
    const absent = `${inject('registry')}/${uniqueName('pull')}/never:1`;
    const variants: string[] = [];
    try {
      await pushImage(dockerHost, image, name);
      const published = await imageId(image);
      const local1 = await commitVariant(name);
      variants.push(local1);
      expect(local1).not.toBe(published);

      // :latest, no policy: Always by default, so the registry's content runs, not the node's.
      await bind(binding(node, 'always', 'h1', [sleeperOf(name)]));
      await readyStatus(node, 'always');
      expect(await containerImage(node, 'always')).toBe(published);

      const local2 = await commitVariant(name);
      variants.push(local2);
      await bind(binding(node, 'present', 'h1', [sleeperOf(name, 'IfNotPresent')]));
      await readyStatus(node, 'present');
      expect(await containerImage(node, 'present')).toBe(local2);

      await bind(binding(node, 'never', 'h1', [sleeperOf(absent, 'Never')]));
      const failed = await waitFor(async () => {
        const s = await status(node, 'never');
        return s?.conditions[0]?.reason === 'ErrImageNeverPull' && s;
      }, { timeoutMs: 20_000, what: 'never to fail' });
      expect(failed.containers[0]?.message).toMatch(/^image .* is not on this node and its imagePullPolicy is Never; /);
      expect(await runtime.hasImage(absent)).toBe(false);

      // Each step is an event of its pod: the pull only where the policy asked for one.
      const events = (await store.list('events/pod/default/')).entries.map((e) => decode('event', e.key, e.value)).filter((e) => e.component === `agent/${node}`);
      const of = (pod: string): string[] => events.filter((e) => e.object === `pod/default/${pod}`).sort((a, b) => (a.time < b.time ? -1 : 1)).map((e) => `${e.severity ?? ''} ${e.reason}: ${e.message}`);
      expect(of('always')).toEqual([`Normal Pulling: Pulling image ${name}`, `Normal Pulled: Successfully pulled image ${name}`, 'Normal Created: Created container app', 'Normal Started: Started container app']);
      expect(of('present')).toEqual(['Normal Created: Created container app', 'Normal Started: Started container app']);
      expect(of('never')).toEqual([`Warning ErrImageNeverPull: Error: image ${absent} is not on this node and its imagePullPolicy is Never; load it into the node's Docker (docker pull ${absent}), or change imagePullPolicy in the manifest`]);
    } finally {
      // Stopped first: a running agent would pull `name` again for the Always pod.
      await bed.stop(agent);
      for (const c of await runtime.list({ 'berth.node': node })) await runtime.remove(c.id);
      await untagImage(dockerHost, name);
      for (const id of variants) await dockerRequest(dockerHost, 'DELETE', `/images/${id}`);
    }
  });
});

function sleeperOf(img: string, imagePullPolicy?: ContainerSpec['imagePullPolicy']): ContainerSpec {
  return { name: 'app', image: img, ...(imagePullPolicy ? { imagePullPolicy } : {}), command: [], args: ['sleep', '3600'], env: [], ports: [], resources: { requests: {}, limits: {} } };
}

async function imageId(name: string): Promise<string> {
  const res = await dockerRequest(dockerHost, 'GET', `/images/${name}/json`);
  return (JSON.parse(res.body) as { Id: string }).Id;
}

/** A new local image (the test image plus an env var) under `name`; returns its id. */
async function commitVariant(name: string): Promise<string> {
  const created = await dockerRequest(dockerHost, 'POST', '/containers/create', { body: JSON.stringify({ Image: image, Cmd: ['true'] }), headers: { 'Content-Type': 'application/json' } });
  const { Id } = JSON.parse(created.body) as { Id: string };
  try {
    const colon = name.lastIndexOf(':');
    const query = new URLSearchParams({ container: Id, repo: name.slice(0, colon), tag: name.slice(colon + 1), changes: `ENV BERTH_VARIANT=${uniqueName('v')}` });
    const committed = await dockerRequest(dockerHost, 'POST', `/commit?${query}`);
    if (committed.status !== 201) throw new Error(`docker commit: ${committed.status} ${committed.body}`);
    return (JSON.parse(committed.body) as { Id: string }).Id;
  } finally {
    await dockerRequest(dockerHost, 'DELETE', `/containers/${Id}?force=1`);
  }
}

/** The image id the container of `pod` on `node` was created from. */
async function containerImage(node: string, pod: string): Promise<string> {
  const [c] = (await bed.members(node, { 'berth.pod': pod }));
  const res = await dockerRequest(dockerHost, 'GET', `/containers/${c?.id ?? 'none'}/json`);
  return (JSON.parse(res.body) as { Image: string }).Image;
}
