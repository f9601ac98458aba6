// Pod sandboxes on a real Docker engine: one network namespace per pod, its ports published by the
// sandbox, and the whole pod made again (sandbox first, then its containers) when the sandbox dies.
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { Store } from '../../../src/store/store.js';
import type { BindingRecord, PodStatusRecord } from '../../../src/store/records.js';
import { decode } from '../../../src/store/records.js';
import { bindingKey } from '../../../src/store/keys.js';
import type { ContainerSpec } from '../../../src/manifest/types.js';
import type { Container, RuntimeEvent } from '../../../src/agent/runtime.js';
import { agentTestbed } from '../../support/agent-testbed.js';
import { dockerRequest } from '../../support/docker.js';
import { freeHostPort } from '../../support/ports.js';
import { uniqueName } from '../../support/names.js';
import { waitFor } from '../../support/wait.js';

const dockerHost = inject('dockerHost');
const image = inject('testImage');
const bed = agentTestbed('sandbox');
const runtime = bed.runtime;
let store: Store;
beforeAll(() => {
  store = bed.store;
});

const ADDRESS = '192.0.2.77';

/** A pod of two containers: `web` serves on 8080 (published on `hostPort` or a port Docker picks); `client` fetches 127.0.0.1:8080 into /tmp/got. */
function pod(node: string, name: string, hostPort?: number): BindingRecord {
  const web: ContainerSpec = {
    name: 'web',
    image,
    command: ['sh', '-c', 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www'],
    args: [],
    env: [],
    ports: [{ containerPort: 8080, protocol: 'TCP', ...(hostPort === undefined ? {} : { hostPort }) }],
    resources: { requests: {}, limits: {} },
  };
  const client: ContainerSpec = {
    name: 'client',
    image,
    command: ['sh', '-c', 'while :; do wget -q -O /tmp/got.new http://127.0.0.1:8080/ && mv /tmp/got.new /tmp/got; sleep 0.2; done'],
    args: [],
    env: [],
    ports: [],
    resources: { requests: {}, limits: {} },
  };
  return { type: 'binding', node, namespace: 'default', pod: name, templateHash: 'h1', template: { labels: {}, containers: [web, client], nodeSelector: {}, restartPolicy: 'Always', terminationGracePeriodSeconds: 2 }, commit: 'commit-h1' };
}

async function agentFor(node: string): Promise<void> {
  await bed.start(node, { hostIp: '127.0.0.1', address: ADDRESS, stopGraceSeconds: 2 });
}

const isReady = (s: PodStatusRecord | undefined): boolean => s?.conditions.find((c) => c.type === 'Ready')?.status === 'True';

async function readyStatus(node: string, name: string, test: (s: PodStatusRecord) => boolean = () => true): Promise<PodStatusRecord> {
  return waitFor(async () => {
    const s = await bed.status(node, name);
    return isReady(s) && s !== undefined && test(s) && s;
  }, { timeoutMs: 40_000, what: `${node}/${name} ready` }).catch(async (err: unknown) => {
    throw new Error(`${String(err)}: ${JSON.stringify(await bed.status(node, name))}`);
  });
}

/** What the pod's web server answers on the host at `port`, or undefined when nothing does. */
async function fetchHost(port: number): Promise<string | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) });
    return (await res.text()).trim();
  } catch {
    return undefined;
  }
}

/** The running sandbox of the node, and its running members (each must sit in that sandbox's namespace). */
async function podContainers(node: string): Promise<{ sandbox: Container; members: Container[] }> {
  const sandboxes = (await bed.sandboxes(node)).filter((c) => c.state === 'running');
  const members = (await bed.members(node)).filter((c) => c.state === 'running');
  const [sandbox] = sandboxes;
  if (sandboxes.length !== 1 || !sandbox) throw new Error(`expected one running sandbox, found ${sandboxes.length}`);
  return { sandbox, members };
}

/** Every member sits in a running sandbox's namespace: none is stranded in a dead one. */
async function noneStranded(node: string): Promise<boolean> {
  const all = await runtime.list({ 'berth.node': node });
  const running = new Set(all.filter((c) => c.labels['berth.sandbox'] === 'true' && c.state === 'running').map((c) => c.id));
  return all.filter((c) => c.labels['berth.sandbox'] !== 'true').every((c) => c.joined !== undefined && running.has(c.joined));
}

/** What the client container last fetched from 127.0.0.1:8080 (its pod's own web container). */
async function clientGot(node: string): Promise<string> {
  const client = (await bed.members(node, { 'berth.container': 'client' })).find((c) => c.state === 'running');
  const r = await runtime.exec(client?.id ?? '', ['cat', '/tmp/got'], 5000);
  return r.exitCode === 0 ? r.output.trim() : '';
}

async function eventsOf(node: string, name: string): Promise<string[]> {
  const list = (await store.list(`events/pod/default/${name}/`)).entries.map((e) => decode('event', e.key, e.value));
  return list.filter((e) => e.component === `agent/${node}`).map((e) => `${e.reason}: ${e.message}`);
}

describe('pod sandboxes', () => {
  it('gives a pod one network namespace: its containers share localhost, its IP and published ports are reported', async () => {
    const node = uniqueName('node');
    await agentFor(node);
    await bed.bind(pod(node, 'duo'));
    const s = await readyStatus(node, 'duo', (x) => x.hostPorts !== undefined);
    const { sandbox, members } = await podContainers(node);

    expect(members.map((c) => c.labels['berth.container']).sort()).toEqual(['client', 'web']);
    for (const c of members) expect(c.joined).toBe(sandbox.id);
    // The client reaches the web server on 127.0.0.1: the same namespace. The hostname is the pod's name.
    await waitFor(async () => (await clientGot(node)) === 'duo', { timeoutMs: 20_000, what: 'the client to fetch from localhost' });

    expect(s.podIP).toBe(sandbox.ip);
    expect(s.podIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(s.hostIP).toBe(ADDRESS);
    // No hostPort asked: Docker picked one, and the status says which.
    const [published] = s.hostPorts ?? [];
    expect(s.hostPorts).toEqual([{ containerPort: 8080, protocol: 'TCP', hostPort: expect.any(Number) }]);
    expect(await fetchHost(published?.hostPort ?? 0)).toBe('duo');
  });

  it('publishes a declared hostPort on the sandbox', async () => {
    const node = uniqueName('node');
    await agentFor(node);
    const port = await freeHostPort();
    await bed.bind(pod(node, 'fixed', port));
    const s = await readyStatus(node, 'fixed', (x) => x.hostPorts !== undefined);
    expect(s.hostPorts).toEqual([{ containerPort: 8080, protocol: 'TCP', hostPort: port }]);
    expect(await fetchHost(port)).toBe('fixed');
  });

  it.each([
    ['killed', (id: string) => dockerRequest(dockerHost, 'POST', `/containers/${id}/kill`), /^pod sandbox \S+ exited with code 137$/],
    ['removed', (id: string) => dockerRequest(dockerHost, 'DELETE', `/containers/${id}?force=1`), /^pod sandbox [0-9a-f]{12} was removed$/],
  ] as const)('a sandbox %s from outside: the pod is made again, sandbox first, and works', async (_how, act, drift) => {
    const node = uniqueName('node');
    await agentFor(node);
    const port = await freeHostPort();
    await bed.bind(pod(node, 'phoenix', port));
    await readyStatus(node, 'phoenix');
    await waitFor(async () => (await clientGot(node)) === 'phoenix', { timeoutMs: 20_000, what: 'the client to fetch' });
    const before = await podContainers(node);

    const res = await act(before.sandbox.id);
    expect(res.status).toBe(204);

    // Every container counts one restart, as kubelet counts a pod made again in a new sandbox.
    const healed = await readyStatus(node, 'phoenix', (s) => s.containers.every((c) => c.restarts === 1));
    const after = await podContainers(node);
    expect(after.sandbox.id).not.toBe(before.sandbox.id);
    expect(after.members.map((c) => c.id).some((id) => before.members.some((b) => b.id === id))).toBe(false);
    for (const c of after.members) expect(c.joined).toBe(after.sandbox.id);
    expect(await noneStranded(node)).toBe(true);
    expect(healed.podIP).toBe(after.sandbox.ip);
    const drifted = healed.conditions.find((c) => c.type === 'Drifted');
    expect(drifted).toMatchObject({ status: 'False', reason: 'Healed' });
    expect(drifted?.message.replace(/; restarted$/, '')).toMatch(drift);
    expect(await eventsOf(node, 'phoenix')).toContain('SandboxChanged: Pod sandbox changed, it will be killed and re-created.');
    // It works again: on the host port, and on localhost between its containers.
    await waitFor(async () => (await fetchHost(port)) === 'phoenix', { timeoutMs: 20_000, what: 'the host port to answer again' });
    await waitFor(async () => {
      const client = after.members.find((c) => c.labels['berth.container'] === 'client');
      const r = await runtime.exec(client?.id ?? '', ['sh', '-c', 'wget -q -O - http://127.0.0.1:8080/'], 5000);
      return r.exitCode === 0 && r.output.trim() === 'phoenix';
    }, { timeoutMs: 20_000, what: 'localhost to work in the new sandbox' });
  });

  it('never removes a sandbox before its containers', async () => {
    const node = uniqueName('node');
    await agentFor(node);
    await bed.bind(pod(node, 'gone'));
    await readyStatus(node, 'gone');
    const { sandbox } = await podContainers(node);
    const destroyed: RuntimeEvent[] = [];
    const watch = runtime.events({ 'berth.node': node }, (e) => {
      if (e.action === 'destroy') destroyed.push(e);
    });
    try {
      await store.commit({ del: [bindingKey(node, 'default', 'gone')] });
      await waitFor(() => destroyed.some((e) => e.id === sandbox.id), { timeoutMs: 30_000, what: 'the sandbox to be removed' });
      expect(destroyed.map((e) => e.labels['berth.container'] ?? 'POD')).toEqual([expect.any(String), expect.any(String), 'POD']);
      expect(destroyed.slice(0, 2).map((e) => e.labels['berth.container']).sort()).toEqual(['client', 'web']);
    } finally {
      await watch.close();
    }
  });
});
