import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { EtcdStore, agentApiKey, decode } from '../../src/store/index.js';
import { runBerth, spawnBerth, type BerthProcess } from '../support/berth.js';
import { parsePrometheus, total } from '../support/prometheus.js';
import { listContainers, removeContainers } from '../support/containers.js';
import { isRunning } from '../support/process.js';
import { createRepo } from '../support/repo.js';
import { uniqueName } from '../support/names.js';
import { deploymentYaml } from '../support/manifests.js';
import { GiveUp, waitFor } from '../support/wait.js';

// The components as separate processes, as they would run on separate machines, talking only
// through etcd: one sync, one controller, one scheduler, two agents (simulated nodes) on one engine.
describe('each component alone, two agents on one Docker engine', () => {
  const dockerHost = inject('dockerHost');
  const id = uniqueName('split');
  const nodes = [`${id}-a`, `${id}-b`];
  const procs: BerthProcess[] = [];
  let dataDir = '';

  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    for (const n of nodes) await removeContainers(dockerHost, 'berth.node', n);
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('spreads the replicas over both nodes; a nodeSelector picks the node by its --label; logs and exec reach each agent through berth api', async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-split-'));
    const repo = await createRepo(inject('gitRoot'), uniqueName('split'));
    await repo.write('app.yaml', deploymentYaml({ name: 'app', namespace: 'split', replicas: 4, image: inject('testImage'), command: ['sleep', '3600'] }));
    await repo.write('pinned.yaml', deploymentYaml({ name: 'pinned', namespace: 'split', replicas: 2, image: inject('testImage'), command: ['sleep', '3600'], nodeSelector: { 'example.com/zone': 'b' } }));
    await repo.write('nowhere.yaml', deploymentYaml({ name: 'nowhere', namespace: 'split', replicas: 1, image: inject('testImage'), command: ['sleep', '3600'], nodeSelector: { 'example.com/zone': 'c' } }));
    await repo.commit('four replicas anywhere, two in zone b, one in a zone no node has');
    await repo.push();

    const conn = ['--etcd', inject('etcdEndpoint'), '--prefix', `/${id}`, '--log-level', 'debug'];
    // The API server's token, shared with the agents' endpoints (--listen), as an operator copies it to each node.
    const tokenFile = path.join(dataDir, 'api-token');
    await fs.writeFile(tokenFile, 'split-token\n', { mode: 0o600 });
    const apiDir = path.join(dataDir, 'api');
    procs.push(spawnBerth(['api', '--listen', '127.0.0.1:0', '--token-file', tokenFile, '--data-dir', apiDir, ...conn]));
    // sync, controller and scheduler alone serve their own metrics (--metrics-listen, port 0: picked).
    const metered = ['--metrics-listen', '127.0.0.1:0'];
    const [sync, controller, scheduler] = [
      spawnBerth(['sync', '--repo', repo.url(inject('gitBaseUrl')), '--interval', '200ms', '--data-dir', dataDir, ...metered, ...conn]),
      spawnBerth(['controller', ...metered, ...conn]),
      spawnBerth(['scheduler', ...metered, ...conn]),
    ];
    procs.push(sync, controller, scheduler);
    for (const [i, node] of nodes.entries()) {
      procs.push(spawnBerth(['agent', '--node', node, '--host-ip', '127.0.0.1', '--label', `example.com/zone=${'ab'[i] ?? ''}`, '--label', 'disk=ssd', '--docker', dockerHost, '--listen', '127.0.0.1:0', '--token-file', tokenFile, ...conn]));
    }

    const perNode = async (deployment = 'app'): Promise<number[]> =>
      Promise.all(nodes.map(async (n) => (await listContainers(dockerHost, 'berth.node', n)).filter((c) => c.state === 'running' && c.labels['berth.container'] === deployment).length));
    try {
      await waitFor(async () => {
        const dead = procs.find((p) => !isRunning(p.child));
        if (dead) throw new GiveUp('a component exited');
        const [app, pinned] = [await perNode('app'), await perNode('pinned')];
        return app[0] === 2 && app[1] === 2 && pinned[0] === 0 && pinned[1] === 2;
      }, { timeoutMs: 90_000, what: '2 app containers on each node, both pinned ones on node b' });
    } catch (err) {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n${procs.map((p) => p.output.toString()).join('\n---\n')}`, { cause: err });
    }
    for (const n of nodes) {
      for (const c of await listContainers(dockerHost, 'berth.node', n)) expect(c.labels['berth.node']).toBe(n);
    }

    // What happened, as `berth events` tells it: each pod scheduled with its node, created and
    // started by its node's agent (two app pods on a; two app and two pinned on b); the pod no node can take, with the scheduler's reason.
    const events = async (): Promise<{ reason: string; object: string; message: string; component: string; severity: string }[]> =>
      (JSON.parse((await runBerth(['events', '-o', 'json', ...conn.slice(0, 4)])).stdout) as { items: { reason: string; object: string; message: string; component: string; severity: string }[] }).items;
    const seen = await waitFor(async () => {
      const all = await events();
      return all.filter((e) => e.reason === 'Started').length === 6 && all;
    }, { timeoutMs: 30_000, what: 'six Started events' });
    const scheduled = seen.filter((e) => e.reason === 'Scheduled');
    expect(scheduled).toHaveLength(6);
    for (const e of scheduled) expect(e.message).toMatch(new RegExp(`^Successfully assigned split/(app|pinned)-\\S+ to (${nodes.join('|')})$`));
    expect(seen.filter((e) => e.reason === 'Created').map((e) => e.component).sort()).toEqual([...Array<string>(2).fill(`agent/${nodes[0] ?? ''}`), ...Array<string>(4).fill(`agent/${nodes[1] ?? ''}`)].sort());
    expect(seen.filter((e) => e.reason === 'FailedScheduling')).toEqual([
      expect.objectContaining({ object: expect.stringMatching(/^pod\/split\/nowhere-/) as unknown, severity: 'Warning', component: 'scheduler', message: "0/2 nodes are available: 2 node(s) didn't match node selector" }),
    ]);
    const table = await runBerth(['events', ...conn.slice(0, 4)]);
    expect(table.stdout).toMatch(/^LAST SEEN\s+TYPE\s+COMPONENT\s+REASON\s+OBJECT\s+MESSAGE\n/);
    expect(table.stdout).toMatch(/\sWarning\s+scheduler\s+FailedScheduling\s+pod\/split\/nowhere-\S+\s+0\/2 nodes are available/);

    const shown = await runBerth(['get', 'nodes', ...conn.slice(0, 4)]);
    for (const [i, node] of nodes.entries()) {
      expect(shown.stdout).toMatch(new RegExp(`^${node}\\s.*\\sberth\\.io/arch=[^,]+,berth\\.io/hostname=${node},berth\\.io/os=linux,disk=ssd,example\\.com/zone=${'ab'[i] ?? ''}$`, 'm'));
    }

    // berth logs and exec through `berth api` to each standalone agent's endpoint (--listen), found under agentapi/<node>.
    const server = ['--server', (await fs.readFile(path.join(apiDir, 'api-endpoint'), 'utf8')).trim(), '--token-file', tokenFile];
    const pods = (JSON.parse((await runBerth(['get', 'pods', '-n', 'split', '-o', 'json', ...server])).stdout) as { items: { name: string; node: string }[] }).items;
    for (const node of nodes) {
      const pod = pods.find((p) => p.node === node && p.name.startsWith('app-'))?.name ?? '';
      const ran = await runBerth(['exec', pod, ...server, '--', 'sh', '-c', 'hostname; echo said-by-$(hostname) > /proc/1/fd/1']);
      expect(ran).toMatchObject({ code: 0, stdout: `${pod}\n` });
      const said = await waitFor(async () => {
        const res = await runBerth(['logs', pod, ...server]);
        return res.stdout.includes('said-by') && res;
      }, { timeoutMs: 30_000, what: `the line in ${pod}'s log` });
      expect(said.stdout).toBe(`said-by-${pod}\n`);
    }
    // Each standalone agent shows its own metrics on its endpoint, behind the token.
    const store = await EtcdStore.connect([inject('etcdEndpoint')], `/${id}`);
    try {
      const entry = await store.get(agentApiKey(nodes[0] ?? ''));
      const agentUrl = entry ? decode('agentApi', entry.key, entry.value).url : '';
      expect((await fetch(`${agentUrl}/metrics`)).status).toBe(401);
      const scraped = await (await fetch(`${agentUrl}/metrics`, { headers: { authorization: 'Bearer split-token' } })).text();
      expect(total(parsePrometheus(scraped).samples, 'berth_container_operations_total', { operation: 'create', result: 'ok' })).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
    // Each component's own figures, scraped from its --metrics-listen.
    const scrape = async (proc: BerthProcess): Promise<ReturnType<typeof parsePrometheus>['samples']> => {
      const url = /serving metrics on (http:\/\/\S+\/metrics)/.exec(proc.output.toString())?.[1];
      if (url === undefined) throw new Error(`no metrics address in:\n${proc.output.toString()}`);
      return parsePrometheus(await (await fetch(url)).text()).samples;
    };
    expect(total(await scrape(sync), 'berth_sync_objects_applied_total', { action: 'create' })).toBe(3);
    expect(total(await scrape(sync), 'berth_sync_last_success_timestamp_seconds')).toBeGreaterThan(0);
    expect(total(await scrape(controller), 'berth_reconciles_total', { result: 'ok' })).toBeGreaterThan(0);
    expect(total(await scrape(scheduler), 'berth_scheduling_latency_seconds_count')).toBe(6);
    expect(total(await scrape(scheduler), 'berth_sync_objects_applied_total')).toBe(0);

    const noToken = await runBerth(['agent', '--node', `${id}-c`, '--listen', '127.0.0.1:0', '--token-file', path.join(dataDir, 'absent'), '--docker', dockerHost, ...conn]);
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toContain(`berth: the token file ${path.join(dataDir, 'absent')} does not exist; copy the API server's token file (its <data-dir>/api-token) here, or pass --token-file`);
  }, 180_000);
});
