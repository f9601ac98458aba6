// agent: what probing costs. 100 pods of one node, each a busybox httpd with an httpGet readiness
// probe every 10 s (Kubernetes' default period): the agent's CPU over 60 s, as a percent of one core,
// against the same agent over the same 100 pods without probes.
import { startAgent, type Agent } from '../src/agent/agent.js';
import { DockerRuntime } from '../src/agent/docker.js';
import { silentLogger } from '../src/log.js';
import type { ContainerSpec } from '../src/manifest/types.js';
import { EtcdStore, bindingKey, decode, encode, statusPrefix, type Store } from '../src/store/index.js';
import type { BindingRecord } from '../src/store/records.js';
import { ensureDocker } from '../test/support/docker.js';
import { startEtcd } from '../test/support/etcd.js';
import { ensureBusyboxImage } from '../test/support/image.js';
import { waitFor } from '../test/support/wait.js';
import { result, type Bench, type Result } from './result.js';

const BENCH = 'agent';
const PODS = 100;
const WINDOW_MS = 60_000;
const NODE = 'bench-probe-node';

function web(image: string, probed: boolean): ContainerSpec {
  return {
    name: 'web',
    image,
    command: ['sh', '-c', 'mkdir -p /www && echo ok > /www/ready && exec httpd -f -p 8080 -h /www'],
    args: [],
    env: [],
    ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
    resources: { requests: {}, limits: {} },
    ...(probed
      ? { readinessProbe: { httpGet: { path: '/ready', port: 'http', scheme: 'HTTP' as const, httpHeaders: [] }, initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 } }
      : {}),
  };
}

async function bindAll(store: Store, image: string, probed: boolean): Promise<void> {
  const hash = probed ? 'probed' : 'plain';
  for (let i = 0; i < PODS; i += 20) {
    const put = Array.from({ length: Math.min(20, PODS - i) }, (_, k) => {
      const pod = `web-${i + k}`;
      const b: BindingRecord = { type: 'binding', node: NODE, namespace: 'bench', pod, templateHash: hash, template: { labels: {}, containers: [web(image, probed)], nodeSelector: {}, restartPolicy: 'Always' }, commit: hash };
      return { key: bindingKey(NODE, 'bench', pod), value: encode(b) };
    });
    await store.commit({ put });
  }
  await waitFor(
    async () => {
      const list = await store.list(statusPrefix(NODE));
      const ready = list.entries.map((e) => decode('podStatus', e.key, e.value)).filter((s) => s.templateHash === hash && s.conditions.some((c) => c.type === 'Ready' && c.status === 'True'));
      return ready.length === PODS;
    },
    { timeoutMs: 600_000, intervalMs: 1000, what: `${PODS} pods ready (${hash})` },
  );
}

/** Percent of one core this process spent over `ms`. */
async function cpuPercent(ms: number): Promise<number> {
  const before = process.cpuUsage();
  const started = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  const used = process.cpuUsage(before);
  return ((used.user + used.system) / 1000 / (performance.now() - started)) * 100;
}

export const agentBench: Bench = {
  async run(say): Promise<Result[]> {
    const docker = await ensureDocker();
    const image = await ensureBusyboxImage(docker.host);
    const etcd = await startEtcd();
    const runtime = new DockerRuntime({ docker: docker.host });
    let store: Store | undefined;
    let agent: Agent | undefined;
    try {
      store = await EtcdStore.connect([etcd.endpoint], '/bench-agent');
      agent = await startAgent({ store, runtime, node: NODE, log: silentLogger(), stopGraceSeconds: 2 });
      say(`agent: ${PODS} pods without probes`);
      await bindAll(store, image, false);
      await agent.idle();
      const plain = await cpuPercent(WINDOW_MS);
      say(`agent: idle ${plain.toFixed(2)}% of a core; now ${PODS} pods with an httpGet readiness probe every 10 s`);
      await bindAll(store, image, true);
      await waitFor(async () => (await runtime.list({ 'berth.node': NODE })).length === PODS, { timeoutMs: 120_000, what: 'old containers gone' });
      await agent.idle();
      const probed = await cpuPercent(WINDOW_MS);
      say(`agent: probing ${probed.toFixed(2)}% of a core`);
      return [result(BENCH, 'probe_cpu_100_pods_pct', probed, '% of a core', 'the same agent and pods without probes', plain)];
    } finally {
      await agent?.stop();
      for (const c of await runtime.list({ 'berth.node': NODE })) await runtime.remove(c.id);
      await store?.close();
      await etcd.stop();
      await docker.stop();
    }
  },
};
