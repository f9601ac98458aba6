// converge_50_ms: 50 bindings of one node → 50 containers running, against `docker-compose up -d`
// of the same 50 containers and against dockerode create+start at the agent's concurrency (the floor).
// The peers that do a pod's work put their containers on a user-defined network, as compose does by
// default and as a pod's sandbox is (Docker's DNS for Services needs one); the same peers on Docker's
// default bridge, which has no DNS and costs Docker less per container, are measured beside them.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import Docker from 'dockerode';
import { startAgent } from '../src/agent/agent.js';
import { DockerRuntime } from '../src/agent/docker.js';
import { silentLogger } from '../src/log.js';
import type { Store } from '../src/store/index.js';
import { parseDockerHost } from '../test/support/docker.js';
import { findExecutable, run } from '../test/support/process.js';
import { waitFor } from '../test/support/wait.js';
import { bindPods, sleeper, waitPods } from './agent-pods.js';

export const PODS = 50;
/**
 * The pod network of this bench's agents: its own, made before any clock starts (as a node's is there
 * before its pods) with the subnet the agent makes it with; a network of the shared default name may
 * be an older berth's (no static addresses, so every pod gets a sandbox).
 */
export const BENCH_POD_NETWORK = `berth-bench-pods-${process.pid}`;
/** The agent's default createConcurrency; the floor runs at the same. */
const CONCURRENCY = 4;

/** Milliseconds from `t0` until `count` containers labelled `label` have started (Docker's own start events). */
function startsOf(runtime: DockerRuntime, labels: Record<string, string>, count: number): { done: Promise<number>; close(): Promise<void> } {
  let seen = 0;
  let resolve: (at: number) => void = () => undefined;
  const done = new Promise<number>((r) => (resolve = r));
  const events = runtime.events(labels, (e) => {
    // A pod's sandbox (berth.sandbox) starts too; the count is of the pods' own containers.
    if (e.action === 'start' && e.labels['berth.sandbox'] !== 'true' && ++seen === count) resolve(performance.now());
  });
  return { done, close: () => events.close() };
}

async function removeAll(runtime: DockerRuntime, labels: Record<string, string>): Promise<void> {
  const list = await runtime.list(labels);
  for (let i = 0; i < list.length; i += 8) await Promise.all(list.slice(i, i + 8).map((c) => runtime.remove(c.id)));
}

/** berth: an idle agent, then 50 bindings in txns of 20; until Docker has started all 50 (and, logged, until the statuses say Running). */
export async function convergeBerth(store: Store, dockerHost: string, image: string, node: string, say: (l: string) => void): Promise<number> {
  const runtime = new DockerRuntime({ docker: dockerHost });
  const agent = await startAgent({ store, runtime, node, log: silentLogger(), stopGraceSeconds: 0, resyncMs: 600_000, podNetwork: BENCH_POD_NETWORK });
  const starts = startsOf(runtime, { 'berth.node': node }, PODS);
  try {
    await agent.idle();
    const t0 = performance.now();
    await bindPods(store, node, PODS, sleeper(image), 'converge');
    const ms = (await starts.done) - t0;
    await waitPods(store, node, 'converge', PODS, { intervalMs: 20 });
    say(`  berth: ${ms.toFixed(0)} ms to 50 started; ${(performance.now() - t0).toFixed(0)} ms until the statuses say Running`);
    return ms;
  } finally {
    await starts.close();
    await agent.stop();
    await removeAll(runtime, { 'berth.node': node });
  }
}

/** Where a peer's containers go: a user-defined bridge network of their own (DNS by name), or Docker's default bridge. */
export type PeerNetwork = 'user-defined' | 'default bridge';

/** The floor: create+start of the same 50 containers (same init, restart policy, labels) straight through dockerode. */
export async function convergeFloor(dockerHost: string, image: string, label: string, network: PeerNetwork): Promise<number> {
  const docker = new Docker(parseDockerHost(dockerHost));
  const runtime = new DockerRuntime({ docker: dockerHost });
  const init = ((await docker.version()).Components ?? []).some((c) => c.Name === 'docker-init');
  // Made before the clock starts, as the agent's pod network is there before its pods.
  const net = network === 'user-defined' ? await docker.createNetwork({ Name: label, Driver: 'bridge', Labels: { 'berth-bench': label } }) : undefined;
  let next = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (next < PODS) {
      const i = next++;
      const c = await docker.createContainer({ name: `${label}-${i}`, Image: image, Cmd: ['sleep', '3600'], Labels: { 'berth-bench': label }, HostConfig: { Init: init, RestartPolicy: { Name: 'no' }, ...(net ? { NetworkMode: net.id } : {}) } });
      await c.start();
    }
  };
  try {
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    return performance.now() - t0;
  } finally {
    await removeAll(runtime, { 'berth-bench': label });
    await net?.remove();
  }
}

/** `docker-compose up -d` of a compose file with the same 50 containers: on the project's own network (compose's default), or on Docker's default bridge. */
export async function convergeCompose(dockerHost: string, image: string, project: string, network: PeerNetwork): Promise<number> {
  const compose = await findExecutable('docker-compose');
  if (compose === undefined) throw new Error('docker-compose not found on PATH: run scripts/install-deps.sh (Debian package docker-compose)');
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-compose-'));
  const file = path.join(dir, 'docker-compose.yml');
  const services = Array.from({ length: PODS }, (_, i) => `  s${i}:\n    image: ${image}\n    command: ["sleep", "3600"]\n    init: true\n${network === 'default bridge' ? '    network_mode: bridge\n' : ''}    restart: "no"\n`).join('');
  await fs.writeFile(file, `version: "2.4"\nservices:\n${services}`);
  const env = { ...process.env, DOCKER_HOST: dockerHost, COMPOSE_PROJECT_NAME: project };
  try {
    const t0 = performance.now();
    await run(compose, ['-f', file, 'up', '-d'], { env });
    const ms = performance.now() - t0;
    const runtime = new DockerRuntime({ docker: dockerHost });
    await waitFor(async () => (await runtime.list({ 'com.docker.compose.project': project })).filter((c) => c.state === 'running').length === PODS, { timeoutMs: 60_000, what: 'compose containers running' });
    return ms;
  } finally {
    await run(compose, ['-f', file, 'down', '-t', '0'], { env }).catch(() => undefined);
    await fs.rm(dir, { recursive: true, force: true });
  }
}
