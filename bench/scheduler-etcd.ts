// Bindings through real etcd: 100 Deployments of 100 replicas applied as sync would, pods created by
// the controller, then bound by the scheduler with compare-and-swap onto 1,000 registered nodes.
// The peer is the floor: the same bind transactions written straight to etcd, one after another.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startController } from '../src/controller/index.js';
import { silentLogger } from '../src/log.js';
import { parseFiles } from '../src/manifest/index.js';
import { commitBinds } from '../src/scheduler/bind.js';
import { startScheduler } from '../src/scheduler/index.js';
import {
  BINDINGS, EtcdStore, PODS, commitChunked, decode, encode, nodeKey, podKey, startLocalEtcd, type LocalEtcd, type PodRecord, type Store,
} from '../src/store/index.js';
import { applyCommit } from '../src/sync/index.js';
import { waitFor } from '../test/support/wait.js';
import { benchManifest, benchNodes } from './scheduler-cluster.js';
import { violations } from './scheduler-core.js';
import { result, type Result } from './result.js';

const BENCH = 'scheduler';
const DEPLOYMENTS = 100;
const REPLICAS = 100;
const NODE_COUNT = 1000;
const PODS_TOTAL = DEPLOYMENTS * REPLICAS;
const PEER = "the scheduler's bind txns for the same placements, written straight to etcd (no read, no placement)";

/** Counts pods created and pods bound, from a watch on `pods/`. */
function countPods(store: Store, fromRevision: number): { created: () => number; bound: () => number; close: () => Promise<void> } {
  const created = new Set<string>();
  const bound = new Set<string>();
  const watch = store.watch(PODS, fromRevision, (e) => {
    if (e.type !== 'put') return;
    created.add(e.key);
    // Not decode(): this watch runs in the scheduler's process, and should cost it little. A bound
    // pod's JSON has a top-level "node" key; the bench's templates carry no label or key named so.
    if (e.value.includes('"node":')) bound.add(e.key);
  });
  return { created: () => created.size, bound: () => bound.size, close: () => watch.close() };
}

/**
 * The floor: the scheduler's own bind txns for the same placements (commitBinds, with its txns in
 * flight), without its read, decode and placement. The pods are put unbound under another prefix
 * first, untimed.
 */
async function floor(etcd: LocalEtcd, placed: PodRecord[]): Promise<number> {
  const store = await EtcdStore.connect([etcd.endpoint], '/bench-floor', { tls: etcd.tls });
  try {
    await commitChunked(store, placed.map((p) => ({ key: podKey(p.namespace, p.name), value: encode({ ...p, node: undefined }) })), []);
    const pods = new Map((await store.list(PODS)).entries.map((e) => [e.key, e.modRevision]));
    const binds = placed.map((p) => ({ pod: { ...p, node: undefined }, node: p.node ?? '' }));
    const t0 = performance.now();
    const { bound, lost } = await commitBinds(store, binds, { pods, nodes: new Map(binds.map((b) => [b.node, 0])) });
    if (lost || bound !== placed.length) throw new Error(`floor: ${bound} of ${placed.length} bound`);
    return (placed.length * 1000) / (performance.now() - t0);
  } finally {
    await store.close();
  }
}

const HEAD = { commit: 'b'.repeat(40), author: 'bench', message: 'bench', time: '2026-01-01T00:00:00.000Z' };

/** A keyspace under `prefix` with the nodes registered, and a counter of its pods from now on. */
async function seed(etcd: LocalEtcd, prefix: string): Promise<{ store: Store; pods: ReturnType<typeof countPods> }> {
  const store = await EtcdStore.connect([etcd.endpoint], prefix, { tls: etcd.tls });
  await commitChunked(store, benchNodes(NODE_COUNT).map((n) => ({ key: nodeKey(n.name), value: encode(n) })), []);
  return { store, pods: countPods(store, (await store.revision()) + 1) };
}

/** Apply the bench's Deployments as sync does: desired objects, then the seal. */
async function applyDeployments(store: Store): Promise<void> {
  const parsed = parseFiles(Array.from({ length: DEPLOYMENTS }, (_, d) => ({ path: `app-${d}.yaml`, text: benchManifest(d, REPLICAS) })));
  if (parsed.errors.length > 0) throw new Error(`bench manifests invalid: ${JSON.stringify(parsed.errors[0])}`);
  await applyCommit(store, 'bench', HEAD, parsed.objects, new Date());
}

/** Every pod bound, one binding each, every placement within the filters; the bound pods. */
async function checkBound(store: Store): Promise<PodRecord[]> {
  const pods = (await store.list(PODS)).entries.map((e) => decode('pod', e.key, e.value));
  const bindings = (await store.list(BINDINGS)).entries.length;
  const broken = violations({ bind: pods.map((p) => ({ pod: p, node: p.node ?? '' })), unschedulable: [], nextStart: 0 }, benchNodes(NODE_COUNT));
  if (pods.length !== PODS_TOTAL || bindings !== PODS_TOTAL || broken.length > 0) {
    throw new Error(`${pods.length} pods, ${bindings} bindings; ${broken.length} placements break a filter: ${broken[0]}`);
  }
  return pods;
}

const waitCount = (count: () => number, what: string): Promise<unknown> =>
  waitFor(() => count() >= PODS_TOTAL, { timeoutMs: 600_000, intervalMs: 20, what: `${PODS_TOTAL} pods ${what} (${count()} so far)` });

/**
 * `etcd_bindings_per_s_1k_nodes`: the controller creates the pods, then the scheduler alone binds
 * them (a running controller re-reads every pod on each bind txn, its own cost: issue 8's watch
 * caches). Then `etcd_created_and_bound_per_s_1k_nodes`: both running from the seal, as `berth up` runs them.
 */
export async function runEtcd(say: (line: string) => void): Promise<Result[]> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-bench-sched-'));
  // The etcd `berth up` runs (fsync on, as in production), in a temp dir.
  const etcd = await startLocalEtcd(dir);
  const log = silentLogger();
  const stops: (() => Promise<void>)[] = [];
  try {
    const alone = await seed(etcd, '/bench');
    stops.push(() => alone.store.close(), alone.pods.close);
    const t0 = performance.now();
    await applyDeployments(alone.store);
    const controller = await startController({ store: alone.store, log });
    await waitCount(alone.pods.created, 'created');
    const createMs = performance.now() - t0;
    await controller.stop();
    say(`${BENCH}: the controller created ${PODS_TOTAL} pods of ${DEPLOYMENTS} Deployments at ${Math.round((PODS_TOTAL * 1000) / createMs)}/s; starting the scheduler`);
    const t1 = performance.now();
    const scheduler = await startScheduler({ store: alone.store, log });
    await waitCount(alone.pods.bound, 'bound');
    const bindMs = performance.now() - t1;
    await scheduler.stop();
    say(`${BENCH}: the scheduler alone bound ${PODS_TOTAL} pods onto ${NODE_COUNT} nodes at ${Math.round((PODS_TOTAL * 1000) / bindMs)}/s; measuring the floor`);
    const floorPerS = await floor(etcd, await checkBound(alone.store));

    const together = await seed(etcd, '/bench-together');
    stops.push(() => together.store.close(), together.pods.close);
    const t2 = performance.now();
    await applyDeployments(together.store);
    stops.push((await startController({ store: together.store, log })).stop, (await startScheduler({ store: together.store, log })).stop);
    await waitCount(together.pods.bound, 'bound');
    const togetherMs = performance.now() - t2;
    say(`${BENCH}: controller and scheduler together created and bound ${PODS_TOTAL} pods at ${Math.round((PODS_TOTAL * 1000) / togetherMs)}/s`);
    for (const stop of stops.splice(4).reverse()) await stop();
    await checkBound(together.store);

    return [
      result(BENCH, 'etcd_bindings_per_s_1k_nodes', (PODS_TOTAL * 1000) / bindMs, 'pods/s', PEER, floorPerS),
      result(BENCH, 'etcd_created_and_bound_per_s_1k_nodes', (PODS_TOTAL * 1000) / togetherMs, 'pods/s', 'the controller, then the scheduler, each alone (above)', (PODS_TOTAL * 1000) / (createMs + bindMs)),
    ];
  } finally {
    for (const stop of stops.reverse()) await stop();
    await etcd.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}
