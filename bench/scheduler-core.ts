// The pure scheduling core at three sizes, its decisions checked and compared with scoring every node.
import { performance } from 'node:perf_hooks';
import { DEFAULT_PROFILE, schedule, type ScheduleResult } from '../src/scheduler/index.js';
import type { NodeRecord, PodRecord } from '../src/store/records.js';
import { benchNodes, benchPods } from './scheduler-cluster.js';
import { quantile, result, type Result } from './result.js';

const BENCH = 'scheduler';
const RUNS = 5;
/** Kubernetes' scheduler_perf threshold for scheduling pods on 5,000 nodes: published, not run here. */
const KUBE_PEER = 'kube-scheduler at 5,000 nodes: 680–810 pods/s (published scheduler_perf threshold, not run here)';
const KUBE_PODS_PER_S = 810;
const EVERY_NODE = 'the same core scoring every feasible node (percentageOfNodesToScore 100)';

interface Size { pods: number; deployments: number; nodes: number; metric: string }
const SIZES: Size[] = [
  { pods: 1000, deployments: 10, nodes: 100, metric: 'core_pods_per_s_100_nodes' },
  { pods: 2000, deployments: 20, nodes: 1000, metric: 'core_pods_per_s_1k_nodes' },
  { pods: 10_000, deployments: 100, nodes: 5000, metric: 'core_pods_per_s_5k_nodes' },
];

interface Timed { podsPerS: number; wallPodsPerS: number; result: ScheduleResult }

/**
 * Median pods per second of `runs` samples placing every pod, after one untimed sample. The round is
 * synchronous on one thread, so it is timed in CPU seconds of this process (GC threads included):
 * the machine is shared, and wall time would also count other processes' turns. On an idle machine
 * the two agree; the wall figure is reported beside it.
 */
function time(pods: PodRecord[], nodes: NodeRecord[], percentage: number, runs: number): Timed {
  // A sample places at least 10,000 pods (a small round is repeated): a 15 ms sample is mostly GC and JIT noise.
  const repeat = Math.max(1, Math.round(10_000 / pods.length));
  const profile = { ...DEFAULT_PROFILE, percentageOfNodesToScore: percentage };
  const cpu: number[] = [];
  const wall: number[] = [];
  let last: ScheduleResult | undefined;
  for (let i = 0; i <= runs; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let r = 0; r < repeat; r++) last = schedule(pods, nodes, [], profile);
    const ms = performance.now() - t0;
    const { user, system } = process.cpuUsage(c0);
    if (i === 0) continue;
    cpu.push((repeat * pods.length * 1e6) / Math.max(1, user + system));
    wall.push((repeat * pods.length * 1000) / ms);
  }
  if (!last) throw new Error('no run');
  return { podsPerS: quantile(cpu, 0.5), wallPodsPerS: quantile(wall, 0.5), result: last };
}

/**
 * Check every placement against the rules themselves, not through the plugins: capacity (pods, cpu,
 * memory), one pod per host port, nodeSelector. Returns the broken rules, one line each.
 */
export function violations(result: ScheduleResult, nodes: NodeRecord[]): string[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const used = new Map<string, { pods: number; cpu: number; memory: number; ports: Set<string> }>();
  const broken: string[] = [];
  for (const { pod, node } of result.bind) {
    const n = byName.get(node);
    if (!n) {
      broken.push(`${pod.name} on unknown node ${node}`);
      continue;
    }
    const u = used.get(node) ?? { pods: 0, cpu: 0, memory: 0, ports: new Set<string>() };
    used.set(node, u);
    u.pods++;
    for (const c of pod.template.containers) {
      u.cpu += c.resources.requests.cpu ?? 0;
      u.memory += c.resources.requests.memory ?? 0;
      for (const p of c.ports) {
        if (p.hostPort === undefined) continue;
        const port = `${p.protocol}/${p.hostPort}`;
        if (u.ports.has(port)) broken.push(`${pod.name}: port ${port} taken on ${node}`);
        u.ports.add(port);
      }
    }
    for (const [k, v] of Object.entries(pod.template.nodeSelector)) if (n.labels[k] !== v) broken.push(`${pod.name}: ${node} lacks ${k}=${v}`);
    if (u.pods > n.capacity.pods || u.cpu > n.capacity.cpu || u.memory > n.capacity.memory) broken.push(`${node} over capacity`);
  }
  return broken;
}

/** How well a round spread and balanced: the most replicas of one Deployment on one node, and the spread of cpu use. */
export function quality(result: ScheduleResult, nodes: NodeRecord[]): { maxReplicasPerNode: number; cpuStddevPct: number } {
  const perOwnerNode = new Map<string, number>();
  const cpu = new Map<string, number>();
  for (const { pod, node } of result.bind) {
    const k = `${pod.owner.name}@${node}`;
    perOwnerNode.set(k, (perOwnerNode.get(k) ?? 0) + 1);
    cpu.set(node, (cpu.get(node) ?? 0) + pod.template.containers.reduce((s, c) => s + (c.resources.requests.cpu ?? 0), 0));
  }
  const shares = nodes.map((n) => (100 * (cpu.get(n.name) ?? 0)) / n.capacity.cpu);
  const mean = shares.reduce((a, b) => a + b, 0) / shares.length;
  const variance = shares.reduce((a, b) => a + (b - mean) ** 2, 0) / shares.length;
  return { maxReplicasPerNode: Math.max(0, ...perOwnerNode.values()), cpuStddevPct: Math.sqrt(variance) };
}

/** Every core metric; throws if a placement breaks a filter or a pod is left unplaced. */
export function runCore(say: (line: string) => void): Result[] {
  const results: Result[] = [];
  // Warm the JIT on a mid-sized round first, so the smallest size is not timed while still cold.
  for (let i = 0; i < 3; i++) schedule(benchPods(20, 100), benchNodes(1000), []);
  for (const size of SIZES) {
    const nodes = benchNodes(size.nodes);
    const pods = benchPods(size.deployments, size.pods / size.deployments);
    const sampled = time(pods, nodes, 0, RUNS);
    // At 5,000 nodes scoring every node takes ~5 s a run: once is enough for its decisions.
    const every = time(pods, nodes, 100, size.nodes >= 5000 ? 1 : RUNS);
    for (const [name, t] of [['sampled', sampled], ['every node', every]] as const) {
      const broken = violations(t.result, nodes);
      if (broken.length > 0) throw new Error(`${size.metric} (${name}): ${broken.length} placements break a filter, first: ${broken[0]}`);
      if (t.result.unschedulable.length > 0) throw new Error(`${size.metric} (${name}): ${t.result.unschedulable.length} pods unplaced: ${t.result.unschedulable[0]?.reason}`);
    }
    say(
      `${BENCH}: ${size.pods} pods of ${size.deployments} Deployments on ${size.nodes} nodes: ${Math.round(sampled.podsPerS)} pods per CPU-second ` +
        `(wall ${Math.round(sampled.wallPodsPerS)}/s), scoring every node ${Math.round(every.podsPerS)} (wall ${Math.round(every.wallPodsPerS)}/s); every placement honours every filter`,
    );
    if (size.nodes < 5000) {
      results.push(result(BENCH, size.metric, sampled.podsPerS, 'pods/CPU-s', EVERY_NODE, every.podsPerS));
      continue;
    }
    results.push(result(BENCH, size.metric, sampled.podsPerS, 'pods/CPU-s', KUBE_PEER, KUBE_PODS_PER_S));
    results.push(result(BENCH, 'core_every_node_pods_per_s_5k_nodes', every.podsPerS, 'pods/CPU-s', KUBE_PEER, KUBE_PODS_PER_S));
    const q = quality(sampled.result, nodes);
    const qe = quality(every.result, nodes);
    results.push(result(BENCH, 'core_max_replicas_per_node_5k_nodes', q.maxReplicasPerNode, 'pods', EVERY_NODE, qe.maxReplicasPerNode));
    results.push(result(BENCH, 'core_cpu_use_stddev_5k_nodes', q.cpuStddevPct, '% of node cpu', EVERY_NODE, qe.cpuStddevPct));
  }
  return results;
}
