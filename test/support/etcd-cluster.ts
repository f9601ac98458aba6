import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uniqueName } from './names.js';
import { freePorts } from './ports.js';
import { cleanupAfterExit, exited, findExecutable, isRunning, OutputTail, stopProcessScript, terminate } from './process.js';
import { waitFor } from './wait.js';

/** A three-member etcd cluster on loopback, each member with its own data dir and ports, for fault tests. */
export interface EtcdCluster {
  /** Client URLs, one per member, in member order. */
  endpoints: string[];
  /** SIGKILL member `i` (resolves once it is gone). */
  kill(i: number): Promise<void>;
  /** Start member `i` again on its data dir and ports (resolves once its process runs; it serves once a quorum is back). */
  start(i: number): Promise<void>;
  /** The index of the member that leads now, or undefined while none answers or leads. */
  leader(): Promise<number | undefined>;
  /** Resolves once every running member answers /health (a leader elected, a quorum up). */
  healthy(timeoutMs?: number): Promise<void>;
  /** Kill every member and remove the data dirs. */
  stop(): Promise<void>;
}

const MEMBERS = 3;

/** Bash, for the watchdog if the test process dies: stop member $1 (marked by its data dir $2). */
const memberCleanupScript = `${stopProcessScript}
stop_process "$1" "$2" 10
`;

/** Start three members (`--unsafe-no-fsync`: a killed process loses nothing the kernel has; only a machine crash would). */
export async function startEtcdCluster(): Promise<EtcdCluster> {
  const binary = await findExecutable('etcd');
  if (binary === undefined) throw new Error('etcd not found on PATH: run scripts/install-deps.sh (Debian package etcd-server)');
  const dir = await mkdtemp(join(tmpdir(), 'berth-etcd-cluster-'));
  const ports = await freePorts(MEMBERS * 2);
  const names = Array.from({ length: MEMBERS }, (_, i) => `m${i}`);
  const client = (i: number): string => `http://127.0.0.1:${ports[i] ?? 0}`;
  const peer = (i: number): string => `http://127.0.0.1:${ports[MEMBERS + i] ?? 0}`;
  const initialCluster = names.map((n, i) => `${n}=${peer(i)}`).join(',');
  const token = uniqueName('cluster');
  const children: (ChildProcess | undefined)[] = [];
  const cancels: (() => void)[] = [];
  const logs = names.map(() => new OutputTail());

  const start = async (i: number): Promise<void> => {
    const dataDir = join(dir, names[i] ?? `m${i}`);
    const child = spawn(binary, [
      '--name', names[i] ?? '', '--data-dir', dataDir,
      '--listen-client-urls', client(i), '--advertise-client-urls', client(i),
      '--listen-peer-urls', peer(i), '--initial-advertise-peer-urls', peer(i),
      '--initial-cluster', initialCluster, '--initial-cluster-state', 'new', '--initial-cluster-token', token,
      '--unsafe-no-fsync', '--logger', 'zap', '--log-level', 'warn',
    ], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (c: Buffer) => logs[i]?.push(c));
    children[i] = child;
    if (child.pid !== undefined) cancels.push(cleanupAfterExit(memberCleanupScript, [String(child.pid), dataDir]));
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', resolve);
      child.once('error', reject);
    });
  };
  const kill = async (i: number): Promise<void> => {
    const child = children[i];
    if (child === undefined || !isRunning(child)) return;
    child.kill('SIGKILL');
    await exited(child);
  };
  const status = async (i: number): Promise<{ member: string; leader: string } | undefined> => {
    try {
      const res = await fetch(`${client(i)}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(1_000) });
      const body = (await res.json()) as { header?: { member_id?: string }; leader?: string };
      return body.header?.member_id && body.leader ? { member: body.header.member_id, leader: body.leader } : undefined;
    } catch {
      return undefined;
    }
  };
  const healthy = async (i: number): Promise<boolean> => {
    try {
      const res = await fetch(`${client(i)}/health`, { signal: AbortSignal.timeout(1_000) });
      return res.ok && ((await res.json()) as { health?: unknown }).health === 'true';
    } catch {
      return false;
    }
  };

  const cluster: EtcdCluster = {
    endpoints: names.map((_, i) => client(i)),
    kill,
    start,
    leader: async () => {
      const statuses = await Promise.all(names.map((_, i) => status(i)));
      const leaderId = statuses.find((s) => s !== undefined)?.leader;
      const index = statuses.findIndex((s) => s !== undefined && s.member === leaderId);
      return index >= 0 ? index : undefined;
    },
    healthy: async (timeoutMs = 60_000) => {
      const running = names.map((_, i) => i).filter((i) => { const c = children[i]; return c !== undefined && isRunning(c); });
      await waitFor(async () => (await Promise.all(running.map(healthy))).every(Boolean), {
        timeoutMs, intervalMs: 100, what: `etcd members ${running.join(', ')} healthy\n${logs.map((l, i) => `m${i}: ${l.toString()}`).join('\n')}`,
      });
    },
    stop: async () => {
      await Promise.all(children.map((c) => (c ? terminate(c, 5_000) : undefined)));
      for (const cancel of cancels) cancel();
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    for (let i = 0; i < MEMBERS; i++) await start(i);
    await cluster.healthy();
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}
