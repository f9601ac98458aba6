// Two hosts simulated with network namespaces made here, each with its own dockerd and `berth
// agent`, over one etcd (reached through a proxy on the hosts' private subnet); sync, controller and
// scheduler run on this machine. One host's link is cut: its pods run on the other within the goal
// (15 s after the cut), and the cut agent, unable to renew its lease, stops its own pods before
// their replacements start (self-fencing: the same pod never runs on both sides). The link back,
// the returning node removes the stale containers of the pods moved away (fencing).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { EtcdStore, nodeKey } from '../../src/store/index.js';
import { berthCommandLine, spawnBerth, type BerthProcess } from '../support/berth.js';
import { dockerRequest } from '../support/docker.js';
import { ensureBusyboxImage, sandboxImage } from '../support/image.js';
import { uniqueName } from '../support/names.js';
import { OutputTail, isRunning, searchPath, terminate } from '../support/process.js';
import { createRepo, type TestRepo } from '../support/repo.js';
import { waitFor } from '../support/wait.js';
import { appYaml } from './support/app.js';
import { startBlackhole, type Blackhole } from './support/blackhole.js';
import { makeHosts, type SimHost, type SimNetwork } from './support/hosts.js';
import { recordFaultRow } from './support/table.js';

/** An app container as its host's Docker shows it. */
interface App {
  id: string;
  pod: string;
  running: boolean;
  startedAt: number;
  finishedAt: number | undefined;
}

async function apps(dockerHost: string): Promise<App[]> {
  const filters = encodeURIComponent(JSON.stringify({ label: ['berth.container=app'] }));
  const listed = await dockerRequest(dockerHost, 'GET', `/containers/json?all=1&filters=${filters}`, { timeoutMs: 10_000 });
  const out: App[] = [];
  for (const { Id } of JSON.parse(listed.body) as { Id: string }[]) {
    const inspected = await dockerRequest(dockerHost, 'GET', `/containers/${Id}/json`, { timeoutMs: 10_000 });
    if (inspected.status !== 200) continue; // removed meanwhile
    const c = JSON.parse(inspected.body) as { State: { Running: boolean; StartedAt: string; FinishedAt: string }; Config: { Labels: Record<string, string> } };
    const finished = Date.parse(c.State.FinishedAt);
    out.push({
      id: Id, pod: c.Config.Labels['berth.pod'] ?? '', running: c.State.Running, startedAt: Date.parse(c.State.StartedAt),
      finishedAt: c.State.Running || !(finished > 0) ? undefined : finished,
    });
  }
  return out;
}

describe('two hosts in network namespaces, one cut off', () => {
  const procs: BerthProcess[] = [];
  let network: SimNetwork | undefined;
  let proxy: Blackhole | undefined;
  let repo: TestRepo | undefined;
  let dir = '';
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await network?.remove();
    await proxy?.close();
    await repo?.dispose();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('moves the cut host\'s pods to the other within the goal, the cut agent stops its own first, and the returning node is fenced', async (context) => {
    const id = uniqueName('hosts');
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-hosts-'));
    network = await makeHosts(2);
    const net = network;
    for (const h of net.hosts) {
      await ensureBusyboxImage(h.docker.host);
      await ensureBusyboxImage(h.docker.host, sandboxImage, ['sleep', '2147483647']);
    }
    proxy = await startBlackhole(inject('etcdEndpoint'), net.gateway);
    const prefix = `/${id}`;
    const onHost = ['--etcd', inject('etcdEndpoint'), '--prefix', prefix];
    const r = await createRepo(inject('gitRoot'), id);
    repo = r;
    await r.write('app.yaml', appYaml({ namespace: 'hosts', image: inject('testImage'), replicas: 2, graceSeconds: 1 }));
    await r.commit('two replicas');
    await r.push();
    const track = (p: BerthProcess): void => void procs.push(p);
    track(spawnBerth(['sync', '--repo', r.url(inject('gitBaseUrl')), '--interval', '200ms', '--data-dir', path.join(dir, 'sync'), ...onHost]));
    track(spawnBerth(['controller', ...onHost]));
    track(spawnBerth(['scheduler', ...onHost]));
    const nodes = net.hosts.map((_, i) => `${id}-h${i}`);
    for (const [i, h] of net.hosts.entries()) {
      const args = ['agent', '--node', nodes[i] ?? '', '--docker', h.docker.host, '--address', h.address, '--data-dir', path.join(dir, `agent-${i}`), '--etcd', proxy.endpoint, '--prefix', prefix];
      track(agentIn(h, args));
    }
    const output = (): string => procs.map((p) => p.output.toString()).join('\n---\n');
    const running = async (h: SimHost): Promise<App[]> => (await apps(h.docker.host)).filter((a) => a.running);
    await waitFor(async () => {
      if (procs.some((p) => !isRunning(p.child))) throw new Error('a component exited');
      const counts = await Promise.all(net.hosts.map(async (h) => (await running(h)).length));
      return counts.reduce((a, b) => a + b, 0) === 2 && counts.every((n) => n > 0) && counts;
    }, { timeoutMs: 180_000, intervalMs: 250, what: `one app pod running on each host\n${output()}` });

    const [cut, other] = net.hosts;
    if (cut === undefined || other === undefined) throw new Error('two hosts were made');
    const before = await running(cut);
    const stayed = new Set((await running(other)).map((a) => a.id));
    const failures: string[] = [];
    await cut.cut();
    const cutAt = Date.now();
    process.stderr.write(`link cut at ${new Date(cutAt).toISOString()}\n`);
    // The pods run on the other host alone: two running there, the cut one's stopped by its own agent.
    let movedMs: number | undefined;
    try {
      await waitFor(async () => (await running(other)).length === 2, { timeoutMs: 120_000, intervalMs: 100, what: `both app pods running on the other host\n${output()}` });
      movedMs = Date.now() - cutAt;
    } catch (err) {
      failures.push(err instanceof Error ? err.message : String(err));
    }
    const fenced = await waitFor(async () => {
      const old = (await apps(cut.docker.host)).filter((a) => before.some((b) => b.id === a.id));
      return old.every((a) => !a.running) && old;
    }, { timeoutMs: 60_000, what: 'the cut host\'s app containers stopped by its agent' }).catch((err: unknown) => {
      failures.push(err instanceof Error ? err.message : String(err));
      return [];
    });
    const replacements = (await running(other)).filter((a) => !stayed.has(a.id));
    // No split brain: every stopped container had finished before any replacement started.
    const firstStart = Math.min(...replacements.map((a) => a.startedAt));
    if (replacements.length !== before.length) failures.push(`${replacements.length} replacement(s) on the other host for the ${before.length} pod(s) of the cut one`);
    for (const a of fenced) {
      if (a.finishedAt === undefined || a.finishedAt > firstStart) failures.push(`${a.pod} on the cut host still ran when its replacement started (${a.finishedAt === undefined ? 'never stopped' : `${a.finishedAt - firstStart} ms after`}; cut at ${cutAt}, started ${a.startedAt}, finished ${String(a.finishedAt)}, replacement started ${firstStart})`);
    }
    if (!procs.some((p) => p.output.toString().includes('self-fencing'))) failures.push('the cut agent logged no self-fencing');
    recordFaultRow(context, { scenario: 'two hosts (netns, own dockerd each): one link cut', trials: 1, faults: 1, failures: failures.length, convergeMs: movedMs === undefined ? [] : [movedMs] });

    // The link back: the returning agent registers again and first removes what it no longer runs.
    const store = await EtcdStore.connect([inject('etcdEndpoint')], prefix);
    const backFailures: string[] = [];
    let backMs: number | undefined;
    try {
      await cut.restore();
      const restoredAt = Date.now();
      await waitFor(async () => (await store.get(nodeKey(nodes[0] ?? ''))) !== undefined && (await apps(cut.docker.host)).length === 0, {
        timeoutMs: 120_000, intervalMs: 250, what: `the returning node registered and its stale app containers removed\n${output()}`,
      }).then(() => (backMs = Date.now() - restoredAt), (err: unknown) => backFailures.push(err instanceof Error ? err.message : String(err)));
      if ((await running(other)).length !== 2) backFailures.push('the other host no longer runs both pods');
    } finally {
      await store.close();
      recordFaultRow(context, { scenario: 'the cut host back: fenced before it runs anything', trials: 1, faults: 1, failures: backFailures.length, convergeMs: backMs === undefined ? [] : [backMs] });
    }
    expect(failures, output()).toEqual([]);
    expect(backFailures, output()).toEqual([]);
  }, 600_000);
});

/** `berth agent ARGS` inside the host's network namespace. */
function agentIn(host: SimHost, args: string[]): BerthProcess {
  const child = spawn('nsenter', [`--net=/run/netns/${host.netns}`, ...berthCommandLine(args)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PATH: searchPath() } });
  const output = new OutputTail(20_000);
  child.stdout.on('data', (c: Buffer) => output.push(c));
  child.stderr.on('data', (c: Buffer) => output.push(c));
  return { child, output, stop: () => terminate(child, 15_000) };
}
