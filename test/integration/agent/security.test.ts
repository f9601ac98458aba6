// securityContext on a real Docker engine: what the pod asks to take away is taken away, and
// runAsNonRoot refuses an image that would run as root, saying so in the pod status.
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { Store } from '../../../src/store/store.js';
import type { BindingRecord, PodStatusRecord } from '../../../src/store/records.js';
import { encode } from '../../../src/store/records.js';
import { bindingKey } from '../../../src/store/keys.js';
import type { ContainerSpec, PodTemplate } from '../../../src/manifest/types.js';
import { dockerRequest } from '../../support/docker.js';
import type { AllowRule } from '../../../src/agent/policy.js';
import { agentTestbed } from '../../support/agent-testbed.js';
import { uniqueName } from '../../support/names.js';
import { waitFor } from '../../support/wait.js';

const dockerHost = inject('dockerHost');
const image = inject('testImage');
const bed = agentTestbed('security');
const runtime = bed.runtime;
let store: Store;
beforeAll(() => {
  store = bed.store;
});

async function agentFor(allow: AllowRule[] = []): Promise<string> {
  const node = uniqueName('node');
  await bed.start(node, { stopGraceSeconds: 1, allow: new Set(allow) });
  return node;
}

function sleeper(securityContext?: ContainerSpec['securityContext']): ContainerSpec {
  return { name: 'app', image, command: [], args: ['sleep', '3600'], env: [], ports: [], resources: { requests: {}, limits: {} }, ...(securityContext ? { securityContext } : {}) };
}

async function bind(node: string, pod: string, containers: ContainerSpec[], over: Partial<PodTemplate> = {}): Promise<void> {
  const b: BindingRecord = { type: 'binding', node, namespace: 'default', pod, templateHash: 'h1', template: { labels: {}, containers, nodeSelector: {}, restartPolicy: 'Always', ...over }, commit: 'commit-h1' };
  await store.commit({ put: [{ key: bindingKey(node, 'default', pod), value: encode(b) }] });
}

const status = (node: string, pod: string): Promise<PodStatusRecord | undefined> => bed.status(node, pod);

describe('securityContext on Docker', () => {
  it('runs as the asked user and group, read-only, without new privileges or dropped capabilities', async () => {
    const node = await agentFor();
    await bind(node, 'locked', [sleeper({ runAsUser: 1000, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } })], { securityContext: { runAsUser: 1, runAsGroup: 2000 } });
    await waitFor(async () => (await status(node, 'locked'))?.conditions[0]?.status === 'True', { timeoutMs: 20_000, what: 'locked ready' });
    const [c] = await bed.members(node);
    const id = c?.id ?? '';
    expect((await runtime.exec(id, ['id', '-u'], 5000)).output.trim()).toBe('1000');
    expect((await runtime.exec(id, ['id', '-g'], 5000)).output.trim()).toBe('2000');
    const write = await runtime.exec(id, ['touch', '/written'], 5000);
    expect(write.exitCode).not.toBe(0);
    expect(write.output).toMatch(/Read-only file system/);
    const inspect = JSON.parse((await dockerRequest(dockerHost, 'GET', `/containers/${id}/json`)).body) as { HostConfig: Record<string, unknown>; Config: { User: string } };
    expect(inspect.Config.User).toBe('1000:2000');
    expect(inspect.HostConfig).toMatchObject({ ReadonlyRootfs: true, SecurityOpt: ['no-new-privileges'], CapDrop: ['ALL'] });
  });

  it('refuses runAsNonRoot for an image that runs as root, naming the rule in the pod status', async () => {
    const node = await agentFor();
    await bind(node, 'rooted', [sleeper()], { securityContext: { runAsNonRoot: true } });
    const s = await waitFor(async () => {
      const st = await status(node, 'rooted');
      return st?.conditions[0]?.reason === 'CreateFailed' && st;
    }, { timeoutMs: 20_000, what: 'CreateFailed' });
    expect(s.containers[0]?.message).toMatch(/container has runAsNonRoot and image will run as root/);
    expect(await bed.members(node)).toEqual([]);
    // With a non-root runAsUser the same image runs.
    await bind(node, 'rooted', [sleeper({ runAsUser: 1000 })], { securityContext: { runAsNonRoot: true } });
    await waitFor(async () => (await status(node, 'rooted'))?.conditions[0]?.status === 'True', { timeoutMs: 20_000, what: 'non-root ready' });
  });

  it('refuses a privileged container without --allow privileged, naming the rule and the flag', async () => {
    const node = await agentFor(['hostPID']);
    await bind(node, 'root', [sleeper({ privileged: true })], { hostPID: true });
    const s = await waitFor(async () => {
      const st = await status(node, 'root');
      return st?.conditions[0]?.reason === 'Forbidden' && st;
    }, { timeoutMs: 20_000, what: 'root refused' });
    expect(s.containers[0]?.message).toBe(`containers[app].securityContext.privileged needs what only the operator of node ${node} may allow (privileged); it runs them with berth agent --allow privileged`);
    expect(await runtime.list({ 'berth.node': node })).toEqual([]);
  });

  it('with --allow, runs what the operator allowed: added capabilities, the host\'s network and PID namespace, no seccomp profile, and the pod\'s groups', async () => {
    const node = await agentFor(['capabilities', 'hostNetwork', 'hostPID', 'seccompUnconfined']);
    await bind(node, 'host', [sleeper({ capabilities: { add: ['NET_ADMIN'] }, seccompProfile: { type: 'Unconfined' } })], { hostNetwork: true, hostPID: true, securityContext: { fsGroup: 2000, supplementalGroups: [3000] } });
    await waitFor(async () => (await status(node, 'host'))?.conditions[0]?.status === 'True', { timeoutMs: 20_000, what: 'host ready' });
    const all = await runtime.list({ 'berth.node': node });
    const c = all.find((x) => x.labels['berth.sandbox'] !== 'true');
    const sb = all.find((x) => x.labels['berth.sandbox'] === 'true');
    const id = c?.id ?? '';
    const hostConfig = async (of: string): Promise<Record<string, unknown>> => (JSON.parse((await dockerRequest(dockerHost, 'GET', `/containers/${of}/json`)).body) as { HostConfig: Record<string, unknown> }).HostConfig;
    // The pod's sandbox holds the node's network namespace; the container joins it.
    expect(await hostConfig(sb?.id ?? '')).toMatchObject({ NetworkMode: 'host' });
    expect(await hostConfig(id)).toMatchObject({ CapAdd: ['NET_ADMIN'], NetworkMode: `container:${sb?.id ?? ''}`, PidMode: 'host', SecurityOpt: expect.arrayContaining(['seccomp=unconfined']) as unknown, GroupAdd: ['2000', '3000'] });
    expect((await runtime.exec(id, ['id', '-G'], 5000)).output.split(' ')).toEqual(expect.arrayContaining(['2000', '3000']));
    // The host's PID 1 is not this pod's init, and the host's interfaces are the container's.
    expect((await runtime.exec(id, ['cat', '/proc/1/comm'], 5000)).output.trim()).not.toMatch(/^(docker-init|sleep)$/);
    expect((await runtime.exec(id, ['ip', 'link'], 5000)).output).not.toMatch(/^\d+: eth0@/m);
  });

  it('a hostNetwork pod is reached at the node\'s address: its podIP (also as status.podIP in its env) and host ports, and its probes', async () => {
    const node = uniqueName('node');
    await bed.start(node, { stopGraceSeconds: 1, allow: new Set(['hostNetwork']) });
    // A free port on the host's own network, for the container to listen on.
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    const web: ContainerSpec = {
      ...sleeper(),
      args: ['httpd', '-f', '-p', String(port)],
      ports: [{ containerPort: port, protocol: 'TCP' }],
      env: [{ name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' as const } } }],
      // The probe reaches the pod at its podIP, which for a pod on the host's network is the node's address.
      readinessProbe: { tcpSocket: { port }, initialDelaySeconds: 0, periodSeconds: 1, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
    };
    await bind(node, 'hostweb', [web], { hostNetwork: true });
    const s = await waitFor(async () => {
      const got = await status(node, 'hostweb');
      return got?.conditions.find((c) => c.type === 'Ready')?.status === 'True' ? got : undefined;
    }, { timeoutMs: 30_000, what: 'hostweb ready through its tcpSocket probe' });
    expect(s.podIP).toBe(s.hostIP);
    expect(s.hostPorts).toEqual([{ containerPort: port, protocol: 'TCP', hostPort: port }]);
    const [c] = await bed.members(node);
    expect((await runtime.exec(c?.id ?? '', ['sh', '-c', 'echo "$POD_IP"'], 5000)).output.trim()).toBe(s.hostIP);
  });

  it('with --allow privileged, creates the container privileged', async () => {
    const node = await agentFor(['privileged']);
    await bind(node, 'root', [sleeper({ privileged: true })]);
    // NOTE: whether it then starts depends on the engine (a dockerd in a container may lack the capabilities to grant).
    const c = await waitFor(async () => (await runtime.list({ 'berth.node': node })).find((x) => x.labels['berth.sandbox'] !== 'true'), { timeoutMs: 20_000, what: 'root created' });
    const inspect = JSON.parse((await dockerRequest(dockerHost, 'GET', `/containers/${c.id}/json`)).body) as { HostConfig: Record<string, unknown> };
    expect(inspect.HostConfig).toMatchObject({ Privileged: true });
  });
});
