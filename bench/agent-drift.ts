// drift_heal_p50_ms: `docker kill` of a berth container → the agent starts it again, by Docker's own
// event timestamps (die → start of the same container), over 20 kills of 20 different pods.
import { startAgent } from '../src/agent/agent.js';
import { BENCH_POD_NETWORK } from './agent-converge.js';
import { DockerRuntime } from '../src/agent/docker.js';
import { silentLogger } from '../src/log.js';
import type { Store } from '../src/store/index.js';
import { dockerRequest } from '../test/support/docker.js';
import { waitFor } from '../test/support/wait.js';
import { bindPods, sleeper, waitPods } from './agent-pods.js';

export const KILLS = 20;

/** The heal time of each of KILLS kills, in ms. */
export async function driftHeals(store: Store, dockerHost: string, image: string, node: string): Promise<number[]> {
  const runtime = new DockerRuntime({ docker: dockerHost });
  const agent = await startAgent({ store, runtime, node, log: silentLogger(), stopGraceSeconds: 0, resyncMs: 600_000, podNetwork: BENCH_POD_NETWORK });
  const died = new Map<string, number>();
  const healed = new Map<string, number>();
  const events = runtime.events({ 'berth.node': node }, (e) => {
    if (e.action === 'die') died.set(e.id, e.time);
    else if (e.action === 'start' && died.has(e.id) && !healed.has(e.id)) healed.set(e.id, e.time);
  });
  try {
    await bindPods(store, node, KILLS, sleeper(image), 'drift');
    await waitPods(store, node, 'drift', KILLS);
    await agent.idle();
    // The pods' own containers: a killed sandbox takes its pod down and makes it again, which is not this measure.
    const containers = (await runtime.list({ 'berth.node': node })).filter((c) => c.state === 'running' && c.labels['berth.sandbox'] !== 'true');
    const samples: number[] = [];
    for (const c of containers.slice(0, KILLS)) {
      const res = await dockerRequest(dockerHost, 'POST', `/containers/${c.id}/kill`);
      if (res.status !== 204) throw new Error(`docker kill ${c.name}: ${res.status} ${res.body}`);
      const at = await waitFor(() => healed.get(c.id), { timeoutMs: 30_000, intervalMs: 5, what: `${c.name} started again` });
      samples.push(at - (died.get(c.id) ?? at));
      // The next kill finds the agent at rest, as a kill from outside usually does.
      await agent.idle();
    }
    return samples;
  } finally {
    await events.close();
    await agent.stop();
    for (const c of await runtime.list({ 'berth.node': node })) await runtime.remove(c.id);
  }
}
