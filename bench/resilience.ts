// resilience: how long berth takes to run a lost node's pods elsewhere. node_failure_reschedule_ms:
// SIGKILL of a `berth agent` process (default --node-lease-ttl 4s, --node-lease-renew 1s, the
// controller's default --node-grace 5s) → its pod's container started on the other node, by Docker's
// event time. Peer, in the same run: the same with the agent stopped by SIGTERM, which revokes its
// lease at once (the grace and the rescheduling alone). leader_failover_ms: a leader's connection
// closed without a word → the follower elected and started, against the lease TTL.
// dockerd_restart_converge_ms: see dockerd-restart.ts.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startAgent } from '../src/agent/agent.js';
import { DockerRuntime } from '../src/agent/docker.js';
import { startController } from '../src/controller/index.js';
import { silentLogger } from '../src/log.js';
import { parseFiles } from '../src/manifest/index.js';
import { startScheduler } from '../src/scheduler/index.js';
import { EtcdStore, nodeKey, startElection, type Store } from '../src/store/index.js';
import { applyCommit } from '../src/sync/index.js';
import { spawnBerth } from '../test/support/berth.js';
import { ensureDocker } from '../test/support/docker.js';
import { startEtcd } from '../test/support/etcd.js';
import { ensureBusyboxImage, sandboxImage } from '../test/support/image.js';
import { deploymentYaml } from '../test/support/manifests.js';
import { waitFor } from '../test/support/wait.js';
import { measureDockerdRestart } from './dockerd-restart.js';
import { quantile, result, type Bench, type Result } from './result.js';

const BENCH = 'resilience';
const ROUNDS = 3;

/** One failure of node a: ms from the signal to the pod's container started on node b. */
async function nodeFailure(etcdEndpoint: string, dockerHost: string, image: string, round: string, signal: 'SIGKILL' | 'SIGTERM'): Promise<number> {
  const prefix = `/bench-resilience-${process.pid}-${round}`;
  const [a, b] = [`bench-${round}-a`, `bench-${round}-b`];
  const store: Store = await EtcdStore.connect([etcdEndpoint], prefix);
  const runtime = new DockerRuntime({ docker: dockerHost });
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-bench-'));
  const log = silentLogger();
  const stops: (() => Promise<void>)[] = [];
  const started = new Map<string, number>();
  const events = runtime.events({ 'berth.node': b }, (e) => {
    if (e.action === 'start') started.set(e.id, e.time);
  });
  try {
    stops.push((await startController({ store, log })).stop);
    stops.push((await startScheduler({ store, log })).stop);
    const agentA = spawnBerth(['agent', '--node', a, '--docker', dockerHost, '--etcd', etcdEndpoint, '--prefix', prefix, '--data-dir', dataDir]);
    stops.push(() => agentA.stop());
    await waitFor(async () => (await store.get(nodeKey(a))) !== undefined, { timeoutMs: 60_000, what: `node ${a} registered` });
    const { objects } = parseFiles([{ path: 'web.yaml', text: deploymentYaml({ name: 'web', namespace: 'default', replicas: 1, image, command: ['sleep', '100000'] }) }]);
    await applyCommit(store, 'main', { commit: 'c1', author: 'bench', message: 'web', time: new Date().toISOString() }, objects, new Date());
    await waitFor(async () => (await runtime.list({ 'berth.node': a, 'berth.container': 'web' })).some((c) => c.state === 'running'), { timeoutMs: 60_000, what: `web running on ${a}` });
    const agentB = await startAgent({ store, runtime, node: b, log, dataDir });
    stops.push(() => agentB.stop());

    const at = Date.now();
    agentA.child.kill(signal);
    const id = await waitFor(async () => (await runtime.list({ 'berth.node': b, 'berth.container': 'web' })).find((c) => started.has(c.id))?.id, {
      timeoutMs: 120_000, intervalMs: 20, what: `web started on ${b}`,
    });
    return (started.get(id) ?? Number.NaN) - at;
  } finally {
    await events.close();
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    for (const n of [a, b]) for (const c of await runtime.list({ 'berth.node': n })) await runtime.remove(c.id);
    const { entries } = await store.list('');
    for (const e of entries) await store.commit({ del: [e.key] });
    await store.close();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}

/** One leader election: ms from the leader's death (its connection closed, its lease left to expire) to the follower's start. */
async function failover(etcdEndpoint: string, round: string): Promise<number> {
  const prefix = `/bench-failover-${process.pid}-${round}`;
  const stores = [await EtcdStore.connect([etcdEndpoint], prefix), await EtcdStore.connect([etcdEndpoint], prefix)];
  let started = 0;
  const [first, second] = stores;
  if (first === undefined || second === undefined) throw new Error('no stores');
  const log = silentLogger();
  const leader = await startElection({ store: first, log, name: 'controller', start: async () => ({ stop: async () => undefined }) });
  const follower = await startElection({ store: second, log, name: 'controller', start: async () => {
    started = Date.now();
    return { stop: async () => undefined };
  } });
  try {
    const at = Date.now();
    await first.close();
    await waitFor(() => started > 0, { timeoutMs: 60_000, intervalMs: 10, what: 'the follower elected' });
    return started - at;
  } finally {
    await leader.stop().catch(() => undefined);
    await follower.stop();
    await second.close();
  }
}

export const resilience: Bench = {
  async run(say): Promise<Result[]> {
    const docker = await ensureDocker();
    const image = await ensureBusyboxImage(docker.host);
    await ensureBusyboxImage(docker.host, sandboxImage, ['sleep', '2147483647']);
    const etcd = await startEtcd();
    try {
      const killed: number[] = [];
      const stopped: number[] = [];
      for (let round = 1; round <= ROUNDS; round++) {
        killed.push(await nodeFailure(etcd.endpoint, docker.host, image, `k${round}`, 'SIGKILL'));
        stopped.push(await nodeFailure(etcd.endpoint, docker.host, image, `t${round}`, 'SIGTERM'));
        say(`resilience: round ${round} of ${ROUNDS}: agent killed → pod running elsewhere in ${Math.round(killed.at(-1) ?? 0)} ms; agent stopped (lease revoked): ${Math.round(stopped.at(-1) ?? 0)} ms`);
      }
      const failovers: number[] = [];
      for (let round = 1; round <= ROUNDS; round++) failovers.push(await failover(etcd.endpoint, `f${round}`));
      say(`resilience: leader failovers (ms): ${failovers.map((f) => Math.round(f)).join(' ')}`);
      const restarts = await measureDockerdRestart(etcd.endpoint, ROUNDS, say);
      return [
        result(BENCH, 'node_failure_reschedule_ms', quantile(killed, 0.5), 'ms', 'the same, the agent stopped by SIGTERM (lease revoked at once)', quantile(stopped, 0.5)),
        result(BENCH, 'leader_failover_ms', quantile(failovers, 0.5), 'ms', 'the leader lease TTL (5 s)', 5_000),
        result(BENCH, 'dockerd_restart_converge_ms', quantile(restarts.agentMs, 0.5), 'ms', 'the dead containers started by hand the moment dockerd answers (no agent)', quantile(restarts.floorMs, 0.5)),
      ];
    } finally {
      await etcd.stop();
      await docker.stop();
    }
  },
};
