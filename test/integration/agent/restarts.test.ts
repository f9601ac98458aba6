// Crash loops and resource limits on a real Docker engine: Kubernetes' back-off, restart counts that
// outlive the agent, and an over-limit process reported as OOMKilled.
import { beforeAll, describe, expect, inject, it } from 'vitest';
import type { Store } from '../../../src/store/store.js';
import type { BindingRecord, PodStatusRecord } from '../../../src/store/records.js';
import { encode } from '../../../src/store/records.js';
import { bindingKey } from '../../../src/store/keys.js';
import type { ContainerSpec } from '../../../src/manifest/types.js';
import type { Agent } from '../../../src/agent/agent.js';
import type { BackOffSchedule } from '../../../src/agent/plan.js';
import { dockerRequest } from '../../support/docker.js';
import { agentTestbed } from '../../support/agent-testbed.js';
import { uniqueName } from '../../support/names.js';
import { waitFor } from '../../support/wait.js';

const dockerHost = inject('dockerHost');
const image = inject('testImage');
const bed = agentTestbed('restarts');
let store: Store;
beforeAll(() => {
  store = bed.store;
});

async function start(node: string, backOff?: BackOffSchedule): Promise<Agent> {
  return bed.start(node, { stopGraceSeconds: 1, ...(backOff ? { backOff } : {}) });
}

function crasher(args: string[], limits: ContainerSpec['resources']['limits'] = {}): ContainerSpec {
  return { name: 'app', image, command: ['sh', '-c'], args, env: [], ports: [], resources: { requests: {}, limits } };
}

function binding(node: string, pod: string, containers: ContainerSpec[]): BindingRecord {
  return { type: 'binding', node, namespace: 'default', pod, templateHash: 'h1', template: { labels: {}, containers, nodeSelector: {}, restartPolicy: 'Always' }, commit: 'commit-h1' };
}

async function bind(b: BindingRecord): Promise<void> {
  await store.commit({ put: [{ key: bindingKey(b.node, b.namespace, b.pod), value: encode(b) }] });
}

const status = (node: string, pod: string): Promise<PodStatusRecord | undefined> => bed.status(node, pod);

/** Every run of the pod's one container seen so far, as Docker timed it: startedAt → finishedAt. */
async function collectRuns(node: string, runs: Map<string, string>): Promise<void> {
  for (const c of await bed.members(node)) {
    if (c.state === 'exited' && c.startedAt !== undefined && c.finishedAt !== undefined) runs.set(c.startedAt, c.finishedAt);
  }
}

describe('restarts on Docker', () => {
  it("backs a crash loop off on the agent's schedule, and an agent restart keeps the count", async () => {
    // Kubernetes' schedule scaled down through the agent's own option: 1 s doubling to 4 s.
    const schedule = { initialMs: 1000, maxMs: 4000, resetMs: 60_000 };
    const node = uniqueName('node');
    const first = await start(node, schedule);
    await bind(binding(node, 'crash', [crasher(['sleep 0.3; exit 3'])]));

    const runs = new Map<string, string>();
    await waitFor(async () => (await collectRuns(node, runs), runs.size >= 3), { intervalMs: 50, timeoutMs: 30_000, what: 'three runs' });
    const looping = await waitFor(async () => {
      const s = await status(node, 'crash');
      return s?.containers[0]?.reason === 'CrashLoopBackOff' && s;
    }, { timeoutMs: 30_000, what: 'CrashLoopBackOff' });
    expect(looping.conditions[0]).toMatchObject({ status: 'False', reason: 'CrashLoopBackOff', message: expect.stringMatching(/back-off \ds restarting failed container app: exited with code 3 \(Error\)/) as unknown });
    expect(looping.containers[0]).toMatchObject({ state: 'exited', exitCode: 3, lastState: { exitCode: 3, reason: 'Error' } });

    // A new agent of the same node goes on from the count in etcd, not from zero.
    await bed.stop(first);
    const before = (await status(node, 'crash'))?.containers[0]?.restarts ?? 0;
    expect(before).toBeGreaterThanOrEqual(2);
    await start(node, schedule);
    await waitFor(async () => (await collectRuns(node, runs), runs.size >= 6), { intervalMs: 50, timeoutMs: 60_000, what: 'six runs' });

    const ordered = [...runs].sort(([a], [b]) => Date.parse(a) - Date.parse(b));
    const gaps = ordered.slice(1).map(([started], i) => Date.parse(started) - Date.parse(ordered[i]?.[1] ?? ''));
    // Run 1 → 2 at once, then 1 s, 2 s, 4 s, 4 s (the cap). Lower bounds are the schedule; upper ones only say "not hung".
    const want = [0, 1000, 2000, 4000, 4000];
    gaps.slice(0, want.length).forEach((gap, i) => {
      expect(gap, `gap ${i + 1}: ${gaps.join(', ')} ms`).toBeGreaterThanOrEqual((want[i] ?? 0) - 50);
      expect(gap, `gap ${i + 1}: ${gaps.join(', ')} ms`).toBeLessThan((want[i] ?? 0) + 5000);
    });
    const after = await waitFor(async () => {
      const s = await status(node, 'crash');
      return (s?.containers[0]?.restarts ?? 0) >= 5 && s;
    }, { timeoutMs: 20_000, what: 'five restarts' });
    expect(after.containers[0]?.backOff).toBeGreaterThanOrEqual(4);
  }, 90_000);

  it('backs off the restarts of a container whose liveness probe keeps failing, as kubelet does', async () => {
    const node = uniqueName('node');
    await start(node, { initialMs: 3000, maxMs: 3000, resetMs: 60_000 });
    const probe = { exec: { command: ['cat', '/nonexistent'] }, initialDelaySeconds: 0, periodSeconds: 1, timeoutSeconds: 2, successThreshold: 1, failureThreshold: 1 };
    await bind(binding(node, 'sick', [{ ...crasher(['exec sleep 3600']), livenessProbe: probe }]));
    const runs = new Map<string, string>();
    const looping = await waitFor(async () => {
      await collectRuns(node, runs);
      const s = await status(node, 'sick');
      return s?.containers[0]?.reason === 'CrashLoopBackOff' && s;
    }, { intervalMs: 50, timeoutMs: 40_000, what: 'CrashLoopBackOff after liveness failures' });
    expect(looping.containers[0]?.lastState?.reason).toBe('Error');
    // The agent's own stop is no drift.
    expect(looping.conditions.find((c) => c.type === 'Drifted')).toBeUndefined();
    await waitFor(async () => (await collectRuns(node, runs), runs.size >= 3), { intervalMs: 50, timeoutMs: 40_000, what: 'three runs' });
    const ordered = [...runs].sort(([a], [b]) => Date.parse(a) - Date.parse(b));
    const gap = Date.parse(ordered[2]?.[0] ?? '') - Date.parse(ordered[1]?.[1] ?? '');
    expect(gap).toBeGreaterThanOrEqual(3000 - 50);
  }, 90_000);

  it('reports a container killed over its memory limit as OOMKilled', async () => {
    const node = uniqueName('node');
    await start(node);
    await bind(binding(node, 'hog', [crasher(['head -c 100m /dev/zero | tail'], { memory: 20 * 1024 * 1024 })]));
    const s = await waitFor(async () => {
      const st = await status(node, 'hog');
      return st?.containers[0]?.lastState?.reason === 'OOMKilled' && st;
    }, { timeoutMs: 30_000, what: 'an OOMKilled last state' });
    expect(s.containers[0]?.lastState).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
    // An OOM kill is the program's own end, not drift: no Drifted condition.
    expect(s.conditions.find((c) => c.type === 'Drifted')).toBeUndefined();
    // The limit is the whole of it: no swap on top, as in Kubernetes.
    const [c] = await bed.members(node);
    const inspect = await dockerRequest(dockerHost, 'GET', `/containers/${c?.id ?? ''}/json`);
    expect(JSON.parse(inspect.body) as unknown).toMatchObject({ HostConfig: { Memory: 20 * 1024 * 1024, MemorySwap: 20 * 1024 * 1024 } });
  }, 60_000);
});
