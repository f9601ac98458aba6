// e2e-latency: a commit in a local repository → the new container started by berth, against the floor
// of starting the same container directly with `docker run -d`.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DockerRuntime } from '../src/agent/docker.js';
import { spawnBerth } from '../test/support/berth.js';
import { ensureDocker } from '../test/support/docker.js';
import { ensureBusyboxImage } from '../test/support/image.js';
import { run } from '../test/support/process.js';
import { waitFor } from '../test/support/wait.js';
import { deploymentYaml } from '../test/support/manifests.js';
import { quantile, result, type Bench, type Result } from './result.js';

const ROUNDS = 20;
const BENCH = 'e2e-latency';

function manifest(image: string, round: number): string {
  return deploymentYaml({ name: 'app', namespace: 'bench', replicas: 1, image, command: ['sh', '-c', 'exec sleep 3600'], env: { ROUND: String(round) } });
}

export const e2eLatency: Bench = {
  async run(say): Promise<Result[]> {
    const docker = await ensureDocker();
    const env = { ...process.env, DOCKER_HOST: docker.host };
    const image = await ensureBusyboxImage(docker.host);
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-bench-'));
    const repo = path.join(dir, 'repo');
    const node = `bench-${process.pid}`;
    const runtime = new DockerRuntime({ docker: docker.host });
    const git = (...args: string[]): Promise<unknown> => run('git', ['-C', repo, ...args], { env });
    await fs.mkdir(repo);
    await git('init', '-q', '-b', 'main');
    await git('config', 'gc.auto', '0');
    await git('config', 'user.name', 'bench');
    await git('config', 'user.email', 'bench@localhost');
    await fs.writeFile(path.join(repo, 'app.yaml'), manifest(image, 0));
    await git('add', '-A');
    await git('commit', '-qm', 'round 0');

    const berth = spawnBerth(['up', '--repo', repo, '--node', node, '--docker', docker.host, '--interval', '30s', '--data-dir', path.join(dir, 'berth'), '--log-level', 'warn'], env);
    const starts: number[] = [];
    const events = runtime.events({ 'berth.node': node }, (e) => {
      if (e.action === 'start') starts.push(performance.now());
    });
    const runningCount = async (): Promise<number> => (await runtime.list({ 'berth.node': node })).filter((c) => c.state === 'running').length;
    const samples: number[] = [];
    const peerSamples: number[] = [];
    try {
      await waitFor(async () => (await runningCount()) === 1, { timeoutMs: 60_000, what: `the first container; berth: ${berth.output.toString()}` });
      say(`${BENCH}: berth up, measuring ${ROUNDS} commits`);
      for (let round = 1; round <= ROUNDS; round++) {
        await fs.writeFile(path.join(repo, 'app.yaml'), manifest(image, round));
        const before = starts.length;
        const t0 = performance.now();
        await git('commit', '-qam', `round ${round}`);
        const started = await waitFor(() => starts[before], { timeoutMs: 30_000, intervalMs: 2, what: `round ${round} to start` });
        samples.push(started - t0);
        await waitFor(async () => (await runningCount()) === 1, { timeoutMs: 30_000, what: `round ${round} to settle` });
      }
      say(`${BENCH}: measuring the peer, docker run -d, ${ROUNDS} times`);
      for (let i = 0; i < ROUNDS; i++) {
        const t0 = performance.now();
        const { stdout } = await run('docker', ['run', '-d', '--label', `berth-bench=${node}`, '-e', `ROUND=${i}`, image, 'sh', '-c', 'exec sleep 3600'], { env });
        peerSamples.push(performance.now() - t0);
        await run('docker', ['rm', '-f', stdout.trim()], { env });
      }
    } finally {
      await events.close();
      await berth.stop();
      const leftovers = [...(await runtime.list({ 'berth.node': node })), ...(await runtime.list({ 'berth-bench': node }))];
      await Promise.all(leftovers.map((c) => runtime.remove(c.id)));
      await fs.rm(dir, { recursive: true, force: true });
      await docker.stop();
    }
    const peer = 'docker run -d';
    return [
      result(BENCH, 'push_to_running_p50_ms', quantile(samples, 0.5), 'ms', peer, quantile(peerSamples, 0.5)),
      result(BENCH, 'push_to_running_p99_ms', quantile(samples, 0.99), 'ms', peer, quantile(peerSamples, 0.99)),
    ];
  },
};
