// services: what a Service costs on the wire and how fast it follows its pods, on real Docker and
// etcd, with the endpoints controller and one node's Service stubs running.
//  - service_vs_direct_ratio: p50 of 1,000 short TCP connections (connect, one HTTP request, the
//    answer, close) from the host to the Service's stub, against the same to the pod directly.
//  - endpoint_update_ms: a ready pod's status turns not ready (its pod killed) → its stub's rules
//    replaced without it (the iptables-restore returned); p50 of 10. Peer: the 1,000 ms goal.
//  - services_100_setup_ms: 100 Services applied in one commit → every one answers through its
//    stub. Peer: the same commit → the controller's 100 endpoints records written (the rest is Docker).
import { connect } from 'node:net';
import pino from 'pino';
import { DockerStubs } from '../src/agent/service-docker.js';
import { startServiceProxy } from '../src/agent/services.js';
import { startEndpointsController } from '../src/controller/index.js';
import { hashObject, type ServiceObject } from '../src/manifest/index.js';
import { EtcdStore, ENDPOINTS, encode, nodeKey, podKey, statusKey, type PodRecord, type PodStatusRecord, type Store } from '../src/store/index.js';
import { applyCommit } from '../src/sync/index.js';
import { ensureDocker } from '../test/support/docker.js';
import { startEtcd } from '../test/support/etcd.js';
import { ensureBusyboxImage } from '../test/support/image.js';
import { ServiceBed } from '../test/support/service-bed.js';
import { waitFor } from '../test/support/wait.js';
import { node as nodeRecord, pod as podRecord } from '../test/unit/scheduler/fixtures.js';
import { statusOf } from '../test/unit/controller/healthFixtures.js';
import { quantile, result, type Bench, type Result } from './result.js';

const BENCH = 'services';
const NODE = 'bench-svc-node';
const STUB_IMAGE = 'berth/service-proxy:1';

/** Milliseconds of one connection: connect, send a request, read to the end. */
function once(host: string, port: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const s = connect({ host, port }, () => s.end('GET / HTTP/1.0\r\n\r\n'));
    s.on('data', () => undefined);
    s.on('end', () => resolve(performance.now() - started));
    s.on('error', reject);
    s.setTimeout(5000, () => s.destroy(new Error(`timeout to ${host}:${port}`)));
  });
}

async function p50(host: string, port: number, n: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) samples.push(await once(host, port));
  return quantile(samples, 0.5);
}

function service(name: string): ServiceObject {
  const meaning = {
    kind: 'Service' as const, namespace: 'bench', name, labels: {},
    spec: { type: 'ClusterIP' as const, headless: false, selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' as const }], sessionAffinity: 'None' as const },
  };
  return { ...meaning, path: `${name}.yaml`, line: 1, hash: hashObject(meaning) };
}

function webPod(name: string): PodRecord {
  const p = podRecord(name, { node: NODE, namespace: 'bench' });
  const [c] = p.template.containers;
  if (c) c.ports = [{ containerPort: 8080, protocol: 'TCP' }];
  return p;
}

async function put(store: Store, key: string, value: string): Promise<void> {
  await store.commit({ put: [{ key, value }] });
}

export const services: Bench = {
  async run(say): Promise<Result[]> {
    const docker = await ensureDocker();
    const image = await ensureBusyboxImage(docker.host);
    const etcd = await startEtcd();
    const bed = new ServiceBed(docker.host, image, `bench-svc-${process.pid}`);
    const stubs = new DockerStubs({ docker: docker.host });
    const stops: (() => Promise<void>)[] = [];
    /** When the proxy last finished loading rules (its log line), by performance.now(). */
    const loads: number[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void ((JSON.parse(line) as { msg?: string; loaded?: number }).loaded ? loads.push(performance.now()) : undefined) });
    try {
      const store = await EtcdStore.connect([etcd.endpoint], '/bench-services');
      stops.push(() => store.close());
      await bed.createNetwork();
      await stubs.ensureImage(STUB_IMAGE);
      await put(store, nodeKey(NODE), encode({ ...nodeRecord(NODE), address: await bed.gateway() }));
      const controller = await startEndpointsController({ store, log });
      stops.push(() => controller.stop());
      const proxy = await startServiceProxy({ store, stubs, log, node: NODE, network: bed.network, image: STUB_IMAGE, hostIp: '127.0.0.1' });
      stops.push(() => proxy.stop());

      const backends = await Promise.all(['a', 'b'].map((n) => bed.backend(n, n)));
      const status = (p: PodRecord, ip: string, ready: boolean): PodStatusRecord => ({
        ...statusOf(p, ready ? {} : { ready: { status: 'False', reason: 'ContainersNotReady' } }), podIP: ip, hostIP: '127.0.0.1',
      });
      const pods = backends.map((b, i) => ({ pod: webPod(`web-${i}`), ip: b.ip }));
      for (const p of pods) {
        await put(store, podKey('bench', p.pod.name), encode(p.pod));
        await put(store, statusKey(NODE, 'bench', p.pod.name), encode(status(p.pod, p.ip, true)));
      }

      // One Service, its stub's address, and the direct address of one of its pods.
      say('services: one Service over 2 pods; 1,000 connections through its stub and 1,000 directly');
      await applyCommit(store, 'main', { commit: 'c1', author: 'bench', message: 'one', time: new Date().toISOString() }, [service('web')], new Date());
      const stubIp = await waitFor(async () => (await stubs.list(NODE)).find((c) => c.state === 'running')?.ip, { timeoutMs: 60_000, what: 'the stub' });
      await waitFor(async () => (await once(stubIp, 80).catch(() => undefined)) !== undefined, { timeoutMs: 30_000, what: 'the stub answering' });
      const direct = await p50(backends[0]?.ip ?? '', 8080, 1000);
      const through = await p50(stubIp, 80, 1000);
      say(`services: p50 ${through.toFixed(3)} ms through the stub, ${direct.toFixed(3)} ms direct`);

      say('services: 10 readiness flips → rules replaced');
      const flips: number[] = [];
      const flipped = pods[0];
      for (let i = 0; i < 10 && flipped !== undefined; i++) {
        for (const ready of [false, true]) {
          const before = loads.length;
          const t0 = performance.now();
          await put(store, statusKey(NODE, 'bench', flipped.pod.name), encode({ ...status(flipped.pod, flipped.ip, ready), observedAt: new Date().toISOString() }));
          await waitFor(() => loads.length > before, { timeoutMs: 30_000, intervalMs: 5, what: 'the rules replaced' });
          if (!ready) flips.push((loads[before] ?? t0) - t0);
        }
      }
      const update = quantile(flips, 0.5);
      say(`services: endpoint update p50 ${update.toFixed(1)} ms`);

      say('services: 100 Services in one commit');
      const hundred = Array.from({ length: 100 }, (_, i) => service(`s${String(i).padStart(3, '0')}`));
      const t0 = performance.now();
      await applyCommit(store, 'main', { commit: 'c2', author: 'bench', message: 'hundred', time: new Date().toISOString() }, [service('web'), ...hundred], new Date());
      await waitFor(async () => (await store.list(ENDPOINTS)).entries.length === 101, { timeoutMs: 60_000, intervalMs: 10, what: '101 endpoints records' });
      const recorded = performance.now() - t0;
      const reachable = new Set<string>();
      await waitFor(
        async () => {
          const running = (await stubs.list(NODE)).filter((c) => c.state === 'running' && c.ip !== undefined);
          await Promise.all(running.map(async (c) => {
            if (reachable.has(c.id)) return;
            if ((await once(c.ip ?? '', 80).catch(() => undefined)) !== undefined) reachable.add(c.id);
          }));
          return reachable.size >= 101;
        },
        { timeoutMs: 600_000, intervalMs: 100, what: '101 Services answering' },
      );
      const setup = performance.now() - t0;
      say(`services: 100 Services reachable after ${setup.toFixed(0)} ms (endpoints written after ${recorded.toFixed(0)} ms)`);

      return [
        result(BENCH, 'service_vs_direct_ratio', through, 'ms p50', 'direct to the pod', direct),
        result(BENCH, 'endpoint_update_ms', update, 'ms p50', 'goal', 1000),
        result(BENCH, 'services_100_setup_ms', setup, 'ms', 'endpoints records written', recorded),
      ];
    } finally {
      for (const stop of stops.reverse()) await stop().catch(() => undefined);
      await bed.dispose((await stubs.list(NODE)).map((c) => c.id)).catch(() => undefined);
      await etcd.stop();
    }
  },
};
