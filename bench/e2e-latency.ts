// e2e-latency: a commit in a local repository → the new container started by berth, and a push to a
// repository served over HTTP, announced by a GitHub webhook → the same, against the floor of
// starting the same container directly with `docker run -d`.
import { createHmac } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DockerRuntime } from '../src/agent/docker.js';
import { spawnBerth } from '../test/support/berth.js';
import { ensureDocker } from '../test/support/docker.js';
import { ensureBusyboxImage } from '../test/support/image.js';
import { startGitServer } from '../test/support/git-server.js';
import { run } from '../test/support/process.js';
import { waitFor } from '../test/support/wait.js';
import { deploymentYaml } from '../test/support/manifests.js';
import { quantile, result, type Bench, type Result } from './result.js';

const ROUNDS = 20;
const BENCH = 'e2e-latency';

function manifest(image: string, round: number): string {
  // sleep as PID 1 ignores SIGTERM: a short grace period lets each round's old pod go within a second.
  return deploymentYaml({ name: 'app', namespace: 'bench', replicas: 1, image, command: ['sh', '-c', 'exec sleep 3600'], env: { ROUND: String(round) } })
    .replace('    spec:\n      containers:', '    spec:\n      terminationGracePeriodSeconds: 1\n      containers:');
}

/** How one round reaches berth: `change` writes the manifest; `announce` makes it known (commit, or push and webhook). */
interface Rounds {
  change(round: number): Promise<void>;
  announce(round: number): Promise<void>;
}

/** `berth up` with `args` on `node`: the time from each round's announce to its container's start, `ROUNDS` times. */
async function measure(dockerHost: string, node: string, args: string[], rounds: Rounds, env: NodeJS.ProcessEnv): Promise<number[]> {
  const runtime = new DockerRuntime({ docker: dockerHost });
  const berth = spawnBerth(['up', '--node', node, '--docker', dockerHost, '--log-level', 'warn', ...args], env);
  const starts: number[] = [];
  const events = runtime.events({ 'berth.node': node }, (e) => {
    // The pod's own container, not its sandbox, which starts first.
    if (e.action === 'start' && e.labels['berth.sandbox'] !== 'true') starts.push(performance.now());
  });
  const runningCount = async (): Promise<number> => (await runtime.list({ 'berth.node': node })).filter((c) => c.state === 'running' && c.labels['berth.sandbox'] !== 'true').length;
  const samples: number[] = [];
  try {
    await waitFor(async () => (await runningCount()) === 1, { timeoutMs: 60_000, what: `the first container; berth: ${berth.output.toString()}` });
    for (let round = 1; round <= ROUNDS; round++) {
      await rounds.change(round);
      const before = starts.length;
      const t0 = performance.now();
      await rounds.announce(round);
      const started = await waitFor(() => starts[before], { timeoutMs: 30_000, intervalMs: 2, what: `round ${round} to start; berth: ${berth.output.toString()}` });
      samples.push(started - t0);
      await waitFor(async () => (await runningCount()) === 1, { timeoutMs: 30_000, what: `round ${round} to settle` });
    }
  } finally {
    await events.close();
    await berth.stop();
    await Promise.all((await runtime.list({ 'berth.node': node })).map((c) => runtime.remove(c.id)));
  }
  return samples;
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
    // The same repository over smart HTTP, for the webhook rounds.
    const served = path.join(dir, 'served');
    await fs.mkdir(served);
    await run('git', ['clone', '-q', '--bare', repo, path.join(served, 'repo.git')], { env });
    await run('git', ['-C', path.join(served, 'repo.git'), 'config', 'gc.auto', '0'], { env });
    await git('remote', 'add', 'origin', path.join(served, 'repo.git'));
    const server = await startGitServer(served);
    const url = `${server.url}/repo.git`;
    const secret = 'bench-webhook-secret';
    await fs.writeFile(path.join(dir, 'webhook-secret'), secret, { mode: 0o600 });
    const change = async (round: number): Promise<void> => {
      await fs.writeFile(path.join(repo, 'app.yaml'), manifest(image, round));
    };

    let samples: number[] = [];
    let hookSamples: number[] = [];
    const peerSamples: number[] = [];
    try {
      say(`${BENCH}: berth up on a local repository, measuring ${ROUNDS} commits`);
      samples = await measure(docker.host, node, ['--repo', repo, '--interval', '30s', '--data-dir', path.join(dir, 'berth')], {
        change,
        announce: async (round) => {
          await git('commit', '-qam', `round ${round}`);
        },
      }, env);

      say(`${BENCH}: berth up on the repository over HTTP, measuring ${ROUNDS} pushes announced by a webhook (poll: 10 min)`);
      const hookData = path.join(dir, 'berth-hook');
      const body = Buffer.from(JSON.stringify({ ref: 'refs/heads/main', repository: { clone_url: url } }));
      const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
      hookSamples = await measure(docker.host, `${node}-hook`, ['--repo', url, '--interval', '10m', '--data-dir', hookData, '--webhook-secret-file', path.join(dir, 'webhook-secret'), '--status', 'none'], {
        change: async (round) => {
          await change(round);
          await git('commit', '-qam', `pushed round ${round}`);
        },
        announce: async () => {
          await git('push', '-q', 'origin', 'main');
          const api = (await fs.readFile(path.join(hookData, 'api-endpoint'), 'utf8')).trim();
          const res = await fetch(`${api}/hooks/github`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': signature }, body });
          if (res.status !== 202) throw new Error(`the webhook was answered ${res.status}: ${await res.text()}`);
        },
      }, env);

      say(`${BENCH}: measuring the peer, docker run -d, ${ROUNDS} times`);
      for (let i = 0; i < ROUNDS; i++) {
        const t0 = performance.now();
        const { stdout } = await run('docker', ['run', '-d', '--label', `berth-bench=${node}`, '-e', `ROUND=${i}`, image, 'sh', '-c', 'exec sleep 3600'], { env });
        peerSamples.push(performance.now() - t0);
        await run('docker', ['rm', '-f', stdout.trim()], { env });
      }
    } finally {
      await Promise.all((await runtime.list({ 'berth-bench': node })).map((c) => runtime.remove(c.id)));
      await server.stop();
      await fs.rm(dir, { recursive: true, force: true });
      await docker.stop();
    }
    const peer = 'docker run -d';
    return [
      result(BENCH, 'push_to_running_p50_ms', quantile(samples, 0.5), 'ms', peer, quantile(peerSamples, 0.5)),
      result(BENCH, 'push_to_running_p99_ms', quantile(samples, 0.99), 'ms', peer, quantile(peerSamples, 0.99)),
      result(BENCH, 'webhook_push_to_running_p50_ms', quantile(hookSamples, 0.5), 'ms', peer, quantile(peerSamples, 0.5)),
      result(BENCH, 'webhook_push_to_running_p99_ms', quantile(hookSamples, 0.99), 'ms', peer, quantile(peerSamples, 0.99)),
    ];
  },
};
