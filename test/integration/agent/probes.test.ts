// Probes and preStop hooks run by the agent against real containers on a real Docker engine.
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { Store } from '../../../src/store/store.js';
import type { BindingRecord, PodStatusRecord } from '../../../src/store/records.js';
import { decode, encode } from '../../../src/store/records.js';
import { bindingKey } from '../../../src/store/keys.js';
import type { ContainerSpec } from '../../../src/manifest/types.js';
import type { Container } from '../../../src/agent/runtime.js';
import { dockerRequest } from '../../support/docker.js';
import { agentTestbed } from '../../support/agent-testbed.js';
import { uniqueName } from '../../support/names.js';
import { waitFor } from '../../support/wait.js';

const dockerHost = inject('dockerHost');
const image = inject('testImage');
const bed = agentTestbed('probes');
const runtime = bed.runtime;
let store: Store;
beforeAll(() => {
  store = bed.store;
});

async function agentFor(stopGraceSeconds = 2): Promise<string> {
  const node = uniqueName('node');
  await bed.start(node, { stopGraceSeconds });
  return node;
}

const PROBE = { initialDelaySeconds: 0, periodSeconds: 1, timeoutSeconds: 2, successThreshold: 1, failureThreshold: 1 };

function container(script: string, over: Partial<ContainerSpec> = {}): ContainerSpec {
  return { name: 'app', image, command: ['sh', '-c', script], args: [], env: [], ports: [], resources: { requests: {}, limits: {} }, ...over };
}

async function bind(node: string, pod: string, c: ContainerSpec, grace?: number): Promise<void> {
  const template = { labels: {}, containers: [c], nodeSelector: {}, restartPolicy: 'Always' as const, ...(grace === undefined ? {} : { terminationGracePeriodSeconds: grace }) };
  const b: BindingRecord = { type: 'binding', node, namespace: 'default', pod, templateHash: 'h1', template, commit: 'c1' };
  await store.commit({ put: [{ key: bindingKey(node, 'default', pod), value: encode(b) }] });
}

const status = (node: string, pod: string): Promise<PodStatusRecord | undefined> => bed.status(node, pod);

const ready = (s: PodStatusRecord | undefined): PodStatusRecord['conditions'][number] | undefined => s?.conditions.find((c) => c.type === 'Ready');

async function until(node: string, pod: string, what: string, test: (s: PodStatusRecord) => boolean): Promise<PodStatusRecord> {
  return waitFor(
    async () => {
      const s = await status(node, pod);
      return s !== undefined && test(s) && s;
    },
    { timeoutMs: 30_000, what },
  );
}

async function only(node: string): Promise<Container> {
  const [c] = (await bed.members(node)).filter((x) => x.state === 'running');
  if (!c) throw new Error('no running container');
  return c;
}

async function sh(id: string, script: string): Promise<void> {
  const r = await runtime.exec(id, ['sh', '-c', script], 5000);
  expect(r.exitCode).toBe(0);
}

async function events(node: string): Promise<string[]> {
  const list = (await store.list('events/pod/default/')).entries.map((e) => decode('event', e.key, e.value));
  return list.filter((e) => e.component === `agent/${node}`).map((e) => `${e.reason}: ${e.message}`);
}

describe('probes on real containers', () => {
  it('a readiness probe (httpGet to the container address, by port name) that starts failing takes the pod out of Ready, and back', async () => {
    const node = await agentFor();
    const web = container('mkdir -p /www && echo ok > /www/ready && exec httpd -f -p 8080 -h /www', {
      ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
      readinessProbe: { httpGet: { path: '/ready', port: 'http', scheme: 'HTTP', httpHeaders: [{ name: 'X-Probe', value: 'berth' }] }, ...PROBE },
    });
    await bind(node, 'web', web);
    const up = await until(node, 'web', 'Ready', (s) => ready(s)?.status === 'True');
    const c = await only(node);
    // The probe reaches the container at its pod's address: a pod of one container holds it itself (no sandbox).
    expect(up.podIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(c.ip).toBe(up.podIP);
    expect(c.joined).toBeUndefined();

    await sh(c.id, 'rm /www/ready');
    const down = await until(node, 'web', 'not Ready', (s) => ready(s)?.status === 'False');
    expect(ready(down)?.message).toMatch(/^app: Readiness probe failed: HTTP probe failed with statuscode: 404$/);
    expect(down.phase).toBe('Running');
    expect(down.containers[0]).toMatchObject({ state: 'running', restarts: 0, ready: false });
    await waitFor(async () => (await events(node)).some((e) => e.startsWith('Unhealthy: Readiness probe failed')), { what: 'Unhealthy event' });

    await sh(c.id, 'echo ok > /www/ready');
    await until(node, 'web', 'Ready again', (s) => ready(s)?.status === 'True');
  });

  it('a liveness failure restarts the container, with Unhealthy then Killing, and no drift', async () => {
    const node = await agentFor();
    await bind(node, 'live', container('touch /tmp/alive; exec sleep 3600', { livenessProbe: { exec: { command: ['cat', '/tmp/alive'] }, ...PROBE } }));
    await until(node, 'live', 'Ready', (s) => ready(s)?.status === 'True');
    const c = await only(node);

    await sh(c.id, 'rm /tmp/alive');
    const restarted = await until(node, 'live', 'restarted and Ready', (s) => s.containers[0]?.restarts === 1 && ready(s)?.status === 'True');
    expect(restarted.containers[0]?.id).toBe(c.id);
    expect(restarted.conditions.find((x) => x.type === 'Drifted')).toBeUndefined();
    const said = await events(node);
    const unhealthy = said.findIndex((e) => e.startsWith('Unhealthy: Liveness probe failed: command exited with code 1'));
    const killing = said.indexOf('Killing: Container app failed liveness probe, will be restarted');
    expect(unhealthy).toBeGreaterThanOrEqual(0);
    expect(killing).toBeGreaterThanOrEqual(0);
  });

  it('a startup probe (tcpSocket) holds readiness back until it succeeds', async () => {
    const node = await agentFor();
    // The port opens only once /tmp/go exists; readiness itself would pass at once.
    const app = container('while [ ! -e /tmp/go ]; do sleep 0.2; done; exec httpd -f -p 7000 -h /', {
      ports: [{ containerPort: 7000, protocol: 'TCP' }],
      startupProbe: { tcpSocket: { port: 7000 }, ...PROBE, failureThreshold: 120 },
      readinessProbe: { exec: { command: ['true'] }, ...PROBE },
    });
    await bind(node, 'slow', app);
    const held = await until(node, 'slow', 'held back', (s) => s.containers[0]?.state === 'running' && ready(s)?.status === 'False');
    expect(ready(held)?.message).toBe('app: startup probe has not succeeded yet');
    expect(held.containers[0]?.ready).toBe(false);
    const c = await only(node);
    await sh(c.id, 'touch /tmp/go');
    const up = await until(node, 'slow', 'Ready', (s) => ready(s)?.status === 'True');
    expect(up.containers[0]?.restarts).toBe(0);
  });
});

describe('stopping as the pod asks', () => {
  it('runs the preStop hook before SIGTERM (seen in the container\'s log across a liveness restart)', async () => {
    const node = await agentFor();
    const app = container("trap 'echo term; exit 0' TERM; touch /tmp/alive; while :; do sleep 0.1; done", {
      livenessProbe: { exec: { command: ['cat', '/tmp/alive'] }, ...PROBE },
      lifecycle: { preStop: { exec: { command: ['sh', '-c', 'echo prestop > /proc/1/fd/1'] } } },
    });
    await bind(node, 'hook', app);
    await until(node, 'hook', 'Ready', (s) => ready(s)?.status === 'True');
    const c = await only(node);
    await sh(c.id, 'rm /tmp/alive');
    await until(node, 'hook', 'restarted', (s) => s.containers[0]?.restarts === 1 && ready(s)?.status === 'True');
    const logs = await dockerRequest(dockerHost, 'GET', `/containers/${c.id}/logs?stdout=1&stderr=1`);
    const text = logs.body.replace(/[^\x20-\x7e\n]/g, '');
    expect(text.indexOf('prestop')).toBeGreaterThanOrEqual(0);
    expect(text.indexOf('term')).toBeGreaterThan(text.indexOf('prestop'));
  });

  it("stops with the pod's terminationGracePeriodSeconds, not the agent's", async () => {
    // The agent's own grace is 60 s; the pod's is 1 s, and its process ignores SIGTERM.
    const node = await agentFor(60);
    await bind(node, 'stubborn', container("trap '' TERM; while :; do sleep 0.1; done"), 1);
    await until(node, 'stubborn', 'Ready', (s) => ready(s)?.status === 'True');
    const c = await only(node);
    expect(c.labels['berth.grace']).toBe('1');
    const started = Date.now();
    await store.commit({ del: [bindingKey(node, 'default', 'stubborn')] });
    await waitFor(async () => (await bed.members(node)).length === 0, { timeoutMs: 30_000, what: 'container removed' });
    expect(Date.now() - started).toBeLessThan(30_000); // bounded by the pod's 1 s, far from the agent's 60 s
  });
});
