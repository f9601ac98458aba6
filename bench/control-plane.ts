// control-plane: a simulated cluster on a real etcd (the one `berth up` runs, fsync on). `berth
// controller` and `berth scheduler` run built, as child processes through bin/berth as installed
// (their RSS and CPU are theirs alone); fake agents in this process register 1,000 nodes and acknowledge every binding with a
// ready pod status, as real agents do, without Docker. One commit of many Deployments must reach
// `berth/health success` (every pod running) at three sizes; then a one-Deployment change of 10
// pods; then the processes' memory, their idle CPU, and etcd keys and bytes per pod.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseFiles } from '../src/manifest/index.js';
import {
  BINDINGS, EtcdStore, OUTBOX, PODS, commitChunked, decode, encode, nodeKey, podKey, startLocalEtcd, statusKey, type LocalEtcd,
  type PodStatusRecord, type PutOp, type Store,
} from '../src/store/index.js';
import { applyCommit, type HeadCommit } from '../src/sync/index.js';
import { waitFor } from '../test/support/wait.js';
import { buildBerth } from './agent-rss.js';
import { result, type Bench, type Result } from './result.js';
import { benchNodes } from './scheduler-cluster.js';

const BENCH = 'control-plane';
const NODES = 1000;
const REPLICAS = 30;
/** The Deployment the small change rolls: 10 pods. */
const SMALL = 10;
const SIZES = (process.env.CONTROL_PLANE_PODS ?? '1000,10000,30000').split(',').map(Number).filter((n) => n > SMALL);
const IDLE_MS = 10_000;
const CLK_TCK = 100;

const deploymentYaml = (name: string, replicas: number, image: string): string => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: bench}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
        - name: main
          image: ${image}
          resources: {requests: {cpu: 10m, memory: 16Mi}}
`;

/** A commit of `pods` pods: Deployments of REPLICAS each, and `small` of SMALL at `image`. */
function manifests(pods: number, image: string): { path: string; text: string }[] {
  const files = [{ path: 'small.yaml', text: deploymentYaml('small', SMALL, image) }];
  for (let d = 0; d * REPLICAS < pods - SMALL; d++) files.push({ path: `app-${d}.yaml`, text: deploymentYaml(`app-${d}`, REPLICAS, 'registry.local/app:1') });
  return files;
}

const head = (commit: string): HeadCommit => ({ commit: commit.repeat(40).slice(0, 40), author: 'bench', message: 'bench', time: new Date().toISOString() });

/** Apply a commit of `pods` pods as sync does; resolves when its seal is written (what the figures count from). */
async function apply(store: Store, commit: string, pods: number, image: string): Promise<{ commit: string; sealedAt: number }> {
  const parsed = parseFiles(manifests(pods, image));
  if (parsed.errors.length > 0) throw new Error(`bench manifests invalid: ${JSON.stringify(parsed.errors[0])}`);
  const h = head(commit);
  await applyCommit(store, 'bench', h, parsed.objects, new Date());
  return { commit: h.commit, sealedAt: performance.now() };
}

/**
 * CONTROL_PLANE_TIMELINE=1: every write of the small Deployment's pods, bindings, statuses and
 * events, and of the outbox, in ms from `start` (where a rollout step's time goes).
 */
function timeline(store: Store, from: number): { print(start: number, say: (l: string) => void): void; close(): Promise<void> } {
  const lines: { at: number; text: string }[] = [];
  const watch = process.env.CONTROL_PLANE_TIMELINE === '1'
    ? store.watch('', from, (e) => {
      if (!/\/small-|^outbox\//.test(e.key)) return;
      const what = e.type === 'delete' ? 'deleted' : e.key.startsWith(PODS) ? (e.value.includes('"node":') ? 'bound' : 'created') : e.key.startsWith(OUTBOX) ? /"state":"\w+"/.exec(e.value)?.[0] ?? 'put' : 'put';
      lines.push({ at: performance.now(), text: `${what} ${e.key}` });
    })
    : undefined;
  return {
    print: (start, say) => {
      for (const l of lines) say(`  ${(l.at - start).toFixed(0).padStart(6)} ms ${l.text}`);
    },
    close: async () => watch?.close(),
  };
}

/**
 * The fake agents: one watch on `bindings/` answers each new binding with the status its node's
 * agent would write once the pod runs (Ready, since now), and removes the status of a binding that
 * goes; writes are batched every 10 ms, as many per txn as etcd's limits allow.
 */
function fakeAgents(store: Store, from: number): { close(): Promise<void> } {
  let puts: PutOp[] = [];
  let dels: string[] = [];
  const watch = store.watch(BINDINGS, from, (e) => {
    const [node, namespace, pod] = e.key.slice(BINDINGS.length).split('/');
    if (node === undefined || namespace === undefined || pod === undefined) return;
    if (e.type === 'delete') {
      dels.push(statusKey(node, namespace, pod));
      return;
    }
    const b = decode('binding', e.key, e.value);
    const now = new Date().toISOString();
    const status: PodStatusRecord = {
      type: 'podStatus', node, namespace, pod, templateHash: b.templateHash, phase: 'Running',
      containers: [{ name: 'main', state: 'running', restarts: 0, ready: true }],
      conditions: [{ type: 'Ready', status: 'True', reason: 'ContainersReady', message: '1/1 containers running', observedCommit: b.commit, lastTransitionTime: now }],
      observedAt: now, hostIP: '127.0.0.1', podIP: '10.88.0.2',
    };
    puts.push({ key: statusKey(node, namespace, pod), value: encode(status) });
  });
  let flushing = Promise.resolve();
  const timer = setInterval(() => {
    if (puts.length === 0 && dels.length === 0) return;
    const [p, d] = [puts, dels];
    puts = [];
    dels = [];
    flushing = flushing.then(() => commitChunked(store, p, d).then(() => undefined));
  }, 10);
  return {
    close: async () => {
      clearInterval(timer);
      await watch.close();
      await flushing;
    },
  };
}

/** Resolves when `berth/health` of `commit` is `success` (every replica of the commit running). */
function healthSuccess(store: Store, from: number, commit: string): { done: Promise<number>; close(): Promise<void> } {
  let resolve: (at: number) => void = () => undefined;
  const done = new Promise<number>((r) => (resolve = r));
  const watch = store.watch(OUTBOX, from, (e) => {
    if (e.type !== 'put') return;
    const r = decode('outbox', e.key, e.value);
    if (r.context === 'berth/health' && r.commit === commit && r.state === 'success') resolve(performance.now());
  });
  return { done, close: () => watch.close() };
}

/** Counts pod keys created and bound from a watch (without decoding: the bench's templates name no "node"). */
function podCounts(store: Store, from: number): { created: Map<string, number>; bound: Map<string, number>; close(): Promise<void> } {
  const created = new Map<string, number>();
  const bound = new Map<string, number>();
  const watch = store.watch(PODS, from, (e) => {
    if (e.type !== 'put') return;
    if (!created.has(e.key)) created.set(e.key, performance.now());
    if (e.value.includes('"node":') && !bound.has(e.key)) bound.set(e.key, performance.now());
  });
  return { created, bound, close: () => watch.close() };
}

/** Now on CLOCK_MONOTONIC in µs: the clock of V8's CPU profile timestamps. */
const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

/** /proc/<pid>/status field in MB (VmRSS now, VmHWM the peak). */
export async function memMb(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN) / 1024;
}

/** CPU seconds (user + system) `pid` has used. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/**
 * `berth <command>` built, as a child process on the bench's etcd and prefix: through bin/berth, the
 * launcher npm installs, which gives the controller and the scheduler their V8 flags.
 */
function berth(main: string, command: string, etcd: LocalEtcd, prefix: string): { child: ChildProcess; pid: number; stop(): Promise<void> } {
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}` };
  // CONTROL_PLANE_PROFILE=<dir>: each process writes a CPU profile there when it stops (where the time goes).
  const profile = process.env.CONTROL_PLANE_PROFILE;
  if (profile !== undefined) env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${profile} --cpu-prof-name=${command}-${Date.now()}.cpuprofile`;
  // CONTROL_PLANE_NODE_FLAGS: node run with these V8 flags instead of the launcher's (to try others).
  const flags = process.env.CONTROL_PLANE_NODE_FLAGS;
  const args = [command, '--etcd', etcd.endpoint, '--etcd-ca', etcd.pki.ca, '--etcd-cert', etcd.pki.clientCert, '--etcd-key', etcd.pki.clientKey, '--prefix', prefix, '--log-level', 'warn'];
  const child = flags === undefined
    ? spawn(path.join(path.dirname(main), '../../bin/berth'), args, { stdio: ['ignore', 'ignore', 'inherit'], env })
    : spawn(process.execPath, [...flags.split(' ').filter((f) => f !== ''), main, ...args], { stdio: ['ignore', 'ignore', 'inherit'], env });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`berth ${command} did not start`);
  return {
    child, pid,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The 40 writes of a 10-pod rollout (create, bind, status, delete of each), one txn after another, straight to etcd. */
async function rolloutFloor(store: Store): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < SMALL; i++) {
    const key = podKey('floor', `p-${i}`);
    await store.commit({ put: [{ key, value: '{"type":"pod"}' }] });
    await store.commit({ put: [{ key, value: '{"type":"pod","node":"n"}' }, { key: `bindings/n/floor/p-${i}`, value: '{}' }] });
    await store.commit({ put: [{ key: statusKey('n', 'floor', `p-${i}`), value: '{}' }] });
    await store.commit({ del: [key, `bindings/n/floor/p-${i}`, statusKey('n', 'floor', `p-${i}`)] });
  }
  return performance.now() - t0;
}

interface SizeFigures {
  pods: number;
  readyS: number;
  createdS: number;
  boundS: number;
  smallMs: number;
  rssMb: number;
  idleRssMb: number;
  idleCpuPct: number;
  etcdCpuPct: number;
  keysPerPod: number;
  bytesPerPod: number;
  podBytes: number;
  floorS: number;
}

/** The floor of a cluster's start: the same pod, binding and status keys written straight to etcd, as few txns as its limits allow, one after another. */
async function writeFloor(etcd: LocalEtcd, entries: { key: string; value: string }[], pods: number): Promise<number> {
  const store = await EtcdStore.connect([etcd.endpoint], `/cp-floor-${pods}`, { tls: etcd.tls });
  try {
    const t0 = performance.now();
    await commitChunked(store, entries.filter((e) => /^(pods|bindings|status)\//.test(e.key)), []);
    return (performance.now() - t0) / 1000;
  } finally {
    await store.close();
  }
}

async function runSize(main: string, etcd: LocalEtcd, etcdPid: number | undefined, pods: number, say: (l: string) => void): Promise<SizeFigures> {
  const prefix = `/cp-${pods}`;
  const store = await EtcdStore.connect([etcd.endpoint], prefix, { tls: etcd.tls });
  const stops: (() => Promise<void>)[] = [() => store.close()];
  try {
    await commitChunked(store, benchNodes(NODES).map((n) => ({ key: nodeKey(n.name), value: encode(n) })), []);
    const from = (await store.revision()) + 1;
    const agents = fakeAgents(store, from);
    const counts = podCounts(store, from);
    stops.push(() => agents.close(), () => counts.close());
    const controller = berth(main, 'controller', etcd, prefix);
    const scheduler = berth(main, 'scheduler', etcd, prefix);
    stops.push(() => controller.stop(), () => scheduler.stop());
    const pids = [controller.pid, scheduler.pid];
    const rss = async (field: 'VmRSS' | 'VmHWM'): Promise<number> => (await Promise.all(pids.map((p) => memMb(p, field)))).reduce((a, b) => a + b, 0);
    // Both started and settled on the empty cluster (nodes only): the peer of their memory.
    await waitFor(async () => (await Promise.all(pids.map((p) => cpuSeconds(p)))).every((s) => s > 0.2), { timeoutMs: 60_000, what: 'controller and scheduler started' });
    await new Promise((r) => setTimeout(r, 3000));
    const idleRssMb = await rss('VmRSS');

    const watchFrom = (await store.revision()) + 1;
    const first = healthSuccess(store, watchFrom, head('a').commit);
    stops.push(() => first.close());
    const { commit, sealedAt: t0 } = await apply(store, 'a', pods, 'registry.local/small:1');
    const readyAt = await Promise.race([first.done, new Promise<number>((_, reject) => setTimeout(() => reject(new Error(`${pods} pods not ready after 15 min`)), 900_000).unref())]);
    const lastOf = (m: Map<string, number>): number => Math.max(...m.values());
    const figures = { readyS: (readyAt - t0) / 1000, createdS: (lastOf(counts.created) - t0) / 1000, boundS: (lastOf(counts.bound) - t0) / 1000 };
    say(`${BENCH}: ${pods} pods of ${commit.slice(0, 7)} on ${NODES} nodes: all created ${figures.createdS.toFixed(1)} s, bound ${figures.boundS.toFixed(1)} s, berth/health success ${figures.readyS.toFixed(1)} s after the seal`);

    const changeFrom = (await store.revision()) + 1;
    const second = healthSuccess(store, changeFrom, head('b').commit);
    const steps = timeline(store, changeFrom);
    stops.push(() => second.close(), () => steps.close());
    const { sealedAt } = await apply(store, 'b', pods, 'registry.local/small:2');
    const smallMs = (await second.done) - sealedAt;
    steps.print(sealedAt, say);
    say(`${BENCH}: a change of one Deployment (${SMALL} pods) among ${pods}: berth/health success ${smallMs.toFixed(0)} ms after the seal`);
    // The change's window on the monotonic clock of the CPU profiles' timestamps (µs), to cut it out of them.
    if (process.env.CONTROL_PLANE_PROFILE !== undefined) say(`${BENCH}: small change window ${monotonicUs() - Math.round(smallMs * 1000)}..${monotonicUs()} µs`);

    await new Promise((r) => setTimeout(r, 2000));
    const cpu0 = await Promise.all(pids.map((p) => cpuSeconds(p)));
    const etcd0 = etcdPid === undefined ? 0 : await cpuSeconds(etcdPid);
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const cpu1 = await Promise.all(pids.map((p) => cpuSeconds(p)));
    const etcd1 = etcdPid === undefined ? 0 : await cpuSeconds(etcdPid);
    const idleCpuPct = (cpu1.reduce((a, b) => a + b, 0) - cpu0.reduce((a, b) => a + b, 0)) / (IDLE_MS / 1000) * 100;
    const etcdCpuPct = ((etcd1 - etcd0) / (IDLE_MS / 1000)) * 100;
    const rssMb = await rss('VmHWM');
    const [controllerMb, schedulerMb] = await Promise.all(pids.map((p) => memMb(p, 'VmHWM')));
    say(`${BENCH}: peak RSS: controller ${controllerMb?.toFixed(0)} MB, scheduler ${schedulerMb?.toFixed(0)} MB; now ${(await rss('VmRSS')).toFixed(0)} MB`);

    const all = (await store.list('')).entries;
    const podEntries = all.filter((e) => e.key.startsWith(PODS));
    const bytes = (es: typeof all): number => es.reduce((n, e) => n + Buffer.byteLength(e.key) + Buffer.byteLength(e.value), 0);
    const count = podEntries.length;
    say(`${BENCH}: ${count} pods: controller+scheduler ${rssMb.toFixed(0)} MB peak (${idleRssMb.toFixed(0)} MB before the commit), idle CPU ${idleCpuPct.toFixed(2)} % (etcd ${etcdCpuPct.toFixed(2)} %), ${all.length} keys, ${(bytes(all) / 2 ** 20).toFixed(1)} MiB`);
    const floorS = await writeFloor(etcd, all, pods);
    return {
      pods: count, ...figures, smallMs, rssMb, idleRssMb, idleCpuPct, etcdCpuPct,
      keysPerPod: all.length / count, bytesPerPod: bytes(all) / count, podBytes: bytes(podEntries) / count, floorS,
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}

export const controlPlane: Bench = {
  async run(say: (line: string) => void): Promise<Result[]> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-bench-cp-'));
    const etcd = await startLocalEtcd(dir);
    try {
      say(`${BENCH}: building berth`);
      const main = await buildBerth();
      const pidText = await fs.readFile(path.join(dir, 'etcd.pid'), 'utf8').catch(() => '');
      const etcdPid = Number.parseInt(pidText, 10) || undefined;
      const floorStore = await EtcdStore.connect([etcd.endpoint], '/cp-floor', { tls: etcd.tls });
      const floorMs = await rolloutFloor(floorStore).finally(() => floorStore.close());
      const out: Result[] = [];
      for (const pods of SIZES) {
        const f = await runSize(main, etcd, etcdPid, pods, say).catch((err: unknown) => {
          say(`${BENCH}: ${pods} pods: ${err instanceof Error ? err.message : String(err)}; no figures for this size`);
          return undefined;
        });
        if (f === undefined) continue;
        const k = pods >= 1000 ? `${Math.round(pods / 1000)}k` : String(pods);
        out.push(
          result(BENCH, `cluster_${k}_ready_s`, f.readyS, 's', 'the same pod, binding and status keys written straight to etcd', f.floorS),
          result(BENCH, `small_change_${k}_ms`, f.smallMs, 'ms', `the rollout's ${SMALL * 4} writes as one etcd txn after another`, floorMs),
          result(BENCH, `control_plane_rss_${k}_mb`, f.rssMb, 'MB', 'the same two processes before the commit (nodes only)', f.idleRssMb),
          result(BENCH, `idle_cpu_${k}_pct`, f.idleCpuPct, '% of a core', 'etcd over the same 10 s', f.etcdCpuPct),
          result(BENCH, `etcd_keys_per_pod_${k}`, f.keysPerPod, 'keys', 'the pod record alone', 1),
          result(BENCH, `etcd_bytes_per_pod_${k}`, f.bytesPerPod, 'bytes', 'the pod record alone', f.podBytes),
        );
      }
      return out;
    } finally {
      await etcd.stop();
      await fs.rm(dir, { recursive: true, force: true });
    }
  },
};
