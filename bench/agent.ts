// agent: what berth's kubelet costs on one node, each figure against a named peer measured in the
// same run: converging 50 bindings (against docker-compose and against bare dockerode create+start),
// healing a `docker kill`, its memory with 100 probed pods, and the CPU its probes take.
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { DockerRuntime } from '../src/agent/docker.js';
import { NETWORK_LABEL, isSandbox } from '../src/agent/sandbox.js';
import { EtcdStore, type Store } from '../src/store/index.js';
import { dockerRequest, ensureDocker } from '../test/support/docker.js';
import { startEtcd } from '../test/support/etcd.js';
import { ensureBusyboxImage, sandboxImage } from '../test/support/image.js';
import { waitFor } from '../test/support/wait.js';
import { BENCH_POD_NETWORK, convergeBerth, convergeCompose, convergeFloor, type PeerNetwork } from './agent-converge.js';
import { driftHeals, KILLS } from './agent-drift.js';
import { agentRss, cpuMs, RSS_PODS, startInstalledAgent } from './agent-rss.js';
import { bindPods, waitPods, web } from './agent-pods.js';
import { quantile, result, type Bench, type Result } from './result.js';

const BENCH = 'agent';
const PROBED_PODS = 100;
const WINDOW_MS = 60_000;
/** Rounds of each converge variant; the median is reported. */
const ROUNDS = 3;

/**
 * converge_50_ms's peers. The goals are against the first two, which do a pod's work: their containers
 * on a user-defined network, as compose puts them by default and as the pods' sandboxes are (Services'
 * DNS needs one). The last two, on Docker's default bridge (no DNS), show what that network costs.
 */
const PEERS: { kind: 'compose' | 'floor'; network: PeerNetwork; peer: string }[] = [
  { kind: 'compose', network: 'user-defined', peer: 'docker-compose up -d (Debian docker-compose 1.29), on the project network' },
  { kind: 'floor', network: 'user-defined', peer: 'dockerode create+start, 4 at a time (the floor), on a user-defined network' },
  { kind: 'compose', network: 'default bridge', peer: 'docker-compose up -d, network_mode: bridge (no DNS)' },
  { kind: 'floor', network: 'default bridge', peer: 'dockerode create+start, 4 at a time, on the default bridge (no DNS)' },
];

/** The 1-minute load average, said beside each figure: the machine is shared. */
async function loadAverage(): Promise<string> {
  return (await readFile('/proc/loadavg', 'utf8')).split(' ')[0] ?? '?';
}

/** Percent of one core process `pid` spent over `ms`. */
async function cpuPercent(pid: number, ms: number): Promise<number> {
  const before = await cpuMs(pid);
  const started = performance.now();
  await new Promise((r) => setTimeout(r, ms));
  return ((await cpuMs(pid)) - before) / (performance.now() - started) * 100;
}

/** Time for an agent's round after its pods turned Ready (statuses written, containers listed) before its CPU is counted. */
const SETTLE_MS = 5_000;

/**
 * probe_cpu_100_pods_pct: a `berth agent` process as installed (bin/berth), 100 busybox httpd pods
 * probed every 10 s, against the same agent process and pods without probes.
 */
async function probeCpu(store: Store, etcd: string, prefix: string, dockerHost: string, runtime: DockerRuntime, image: string, say: (l: string) => void): Promise<Result> {
  const node = 'bench-probe-node';
  const agent = await startInstalledAgent(store, etcd, prefix, dockerHost, node);
  try {
    say(`agent: ${PROBED_PODS} pods without probes`);
    await bindPods(store, node, PROBED_PODS, web(image, false), 'plain', 'web');
    await waitPods(store, node, 'plain', PROBED_PODS, { ready: true });
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const plain = await cpuPercent(agent.pid, WINDOW_MS);
    say(`agent: idle ${plain.toFixed(2)}% of a core; now ${PROBED_PODS} pods with an httpGet readiness probe every 10 s`);
    await bindPods(store, node, PROBED_PODS, web(image, true), 'probed', 'web');
    await waitPods(store, node, 'probed', PROBED_PODS, { ready: true });
    // The pods' own containers: each pod also keeps its sandbox through the template change.
    await waitFor(async () => (await runtime.list({ 'berth.node': node })).filter((c) => !isSandbox(c)).length === PROBED_PODS, { timeoutMs: 120_000, what: 'old containers gone' });
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const probed = await cpuPercent(agent.pid, WINDOW_MS);
    say(`agent: probing ${probed.toFixed(2)}% of a core`);
    return result(BENCH, 'probe_cpu_100_pods_pct', probed, '% of a core', 'the same agent process and pods without probes', plain);
  } finally {
    await agent.stop();
  }
}

export const agentBench: Bench = {
  async run(say): Promise<Result[]> {
    const docker = await ensureDocker();
    const image = await ensureBusyboxImage(docker.host);
    // Every pod runs in a sandbox container of this image (the agent's default --sandbox-image).
    await ensureBusyboxImage(docker.host, sandboxImage, ['sleep', '2147483647']);
    const etcd = await startEtcd();
    const runtime = new DockerRuntime({ docker: docker.host });
    const prefix = `/bench-agent-${process.pid}`;
    let store: Store | undefined;
    try {
      store = await EtcdStore.connect([etcd.endpoint], prefix);
      await runtime.ensureNetwork(BENCH_POD_NETWORK, { [NETWORK_LABEL]: BENCH_POD_NETWORK });
      const results: Result[] = [];

      const berth: number[] = [];
      const peers = PEERS.map((p) => ({ ...p, ms: [] as number[] }));
      for (let round = 1; round <= ROUNDS; round++) {
        say(`agent: converge round ${round} of ${ROUNDS} (load ${await loadAverage()})`);
        berth.push(await convergeBerth(store, docker.host, image, `bench-converge-${round}`, say));
        for (const [i, p] of peers.entries()) {
          const ms = p.kind === 'compose'
            ? await convergeCompose(docker.host, image, `berthbench${process.pid}r${round}p${i}`, p.network)
            : await convergeFloor(docker.host, image, `berth-bench-floor-${process.pid}-${round}-${i}`, p.network);
          p.ms.push(ms);
          say(`  ${p.peer}: ${ms.toFixed(0)} ms (load ${await loadAverage()})`);
        }
      }
      const b = quantile(berth, 0.5);
      for (const p of peers) results.push(result(BENCH, 'converge_50_ms', b, 'ms', p.peer, quantile(p.ms, 0.5)));

      say(`agent: ${KILLS} docker kills`);
      const heals = await driftHeals(store, docker.host, image, 'bench-drift');
      say(`  heals (ms): ${heals.map((h) => h.toFixed(0)).join(' ')}`);
      results.push(result(BENCH, 'drift_heal_p50_ms', quantile(heals, 0.5), 'ms', 'p90 of the same kills', quantile(heals, 0.9)));

      say(`agent: memory of a berth agent process with ${RSS_PODS} probed pods`);
      const [idle, loaded] = await agentRss(store, etcd.endpoint, prefix, docker.host, image, 'bench-rss', say);
      results.push(result(BENCH, 'agent_rss_100_pods_mb', loaded, 'MB', 'the same agent process with no pods', idle));

      results.push(await probeCpu(store, etcd.endpoint, prefix, docker.host, runtime, image, say));
      return results;
    } finally {
      await store?.close();
      await dockerRequest(docker.host, 'DELETE', `/networks/${BENCH_POD_NETWORK}`).catch(() => undefined);
      await etcd.stop();
      await docker.stop();
    }
  },
};
