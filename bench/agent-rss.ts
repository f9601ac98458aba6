// agent_rss_100_pods_mb: the resident memory of `berth agent` (built, run through bin/berth as a user
// runs it: no tsx loader in the process, the launcher's V8 flags) with 100 pods of one httpGet readiness probe each, against the same
// agent with no pods.
import { spawn, type ChildProcess } from 'node:child_process';
import { BENCH_POD_NETWORK } from './agent-converge.js';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DockerRuntime } from '../src/agent/docker.js';
import { nodeKey, type Store } from '../src/store/index.js';
import { run } from '../test/support/process.js';
import { waitFor } from '../test/support/wait.js';
import { bindPods, waitPods, web } from './agent-pods.js';

export const RSS_PODS = 100;
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Resident memory of `pid` in MB (VmRSS of /proc/<pid>/status). */
async function rssMb(pid: number): Promise<number> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

/** The largest RSS of `pid` over `ms`, sampled every second. */
async function peakRss(pid: number, ms: number): Promise<number> {
  let peak = 0;
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 1000))) peak = Math.max(peak, await rssMb(pid));
  return peak;
}

/** Build berth into dist/ (what `npm run build` makes and the `berth` bin runs). */
export async function buildBerth(): Promise<string> {
  await run(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', path.join(ROOT, 'tsconfig.build.json')], { cwd: ROOT });
  return path.join(ROOT, 'dist/cli/main.js');
}

/** A `berth agent` child process, run as installed (dist/, through bin/berth and its V8 flags). */
export interface InstalledAgent {
  readonly pid: number;
  /** SIGTERM, wait for its exit, and remove the node's containers. */
  stop(): Promise<void>;
}

/** Build berth and start `berth agent` for `node` through bin/berth; resolves once the node is registered. */
export async function startInstalledAgent(store: Store, etcd: string, prefix: string, dockerHost: string, node: string): Promise<InstalledAgent> {
  await buildBerth();
  // As `berth agent` runs once installed: through bin/berth, the launcher that gives it its V8 flags, on this node.
  const env = { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}` };
  const child: ChildProcess = spawn(path.join(ROOT, 'bin/berth'), ['agent', '--etcd', etcd, '--prefix', prefix, '--node', node, '--docker', dockerHost, '--pod-network', BENCH_POD_NETWORK, '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'pipe'], env });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  const runtime = new DockerRuntime({ docker: dockerHost });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    for (const c of await runtime.list({ 'berth.node': node })) await runtime.remove(c.id);
  };
  try {
    const pid = child.pid;
    if (pid === undefined) throw new Error('berth agent did not start');
    await waitFor(async () => (await store.get(nodeKey(node))) !== undefined, { timeoutMs: 60_000, what: `berth agent to register ${node}; ${stderr}` });
    return { pid, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** CPU time (user + system) of `pid` so far, in ms, from /proc/<pid>/stat (clock ticks of 10 ms). */
export async function cpuMs(pid: number): Promise<number> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
  // The fields after the command (which may hold spaces) in parentheses: utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** [idle, with RSS_PODS probed pods] peak RSS of a `berth agent` child process, in MB. */
export async function agentRss(store: Store, etcd: string, prefix: string, dockerHost: string, image: string, node: string, say: (l: string) => void): Promise<[number, number]> {
  const agent = await startInstalledAgent(store, etcd, prefix, dockerHost, node);
  try {
    const idle = await peakRss(agent.pid, 10_000);
    say(`  agent alone: ${idle.toFixed(1)} MB; binding ${RSS_PODS} pods with a readiness probe`);
    await bindPods(store, node, RSS_PODS, web(image, true), 'rss');
    await waitPods(store, node, 'rss', RSS_PODS, { ready: true });
    const loaded = await peakRss(agent.pid, 30_000);
    return [idle, loaded];
  } finally {
    await agent.stop();
  }
}
