import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, open, readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { cleanupAfterExit, findExecutable, isRunning, run, searchPath, stopProcessScript, terminate } from './process.js';
import { GiveUp, waitFor } from './wait.js';

/** A Docker engine the tests may use. */
export interface DockerHandle {
  /** `unix:///path/docker.sock` or `tcp://host:port`: what DOCKER_HOST would hold. */
  host: string;
  /** True when ensureDocker started this dockerd itself (then stop() ends it). */
  started: boolean;
  /** Ends the dockerd we started and removes everything it made; a no-op for an engine we found. */
  stop(): Promise<void>;
}

/** Where to connect for a DOCKER_HOST value: node:http and dockerode both take these fields. */
export type DockerEndpoint = { socketPath: string } | { host: string; port: number };

export const defaultSocket = '/var/run/docker.sock';

/** Parse `unix:///path` or `tcp://host:port` (what DOCKER_HOST holds). */
export function parseDockerHost(dockerHost: string): DockerEndpoint {
  if (dockerHost.startsWith('unix://')) return { socketPath: dockerHost.slice('unix://'.length) };
  const url = new URL(dockerHost.replace(/^tcp:/, 'http:'));
  return { host: url.hostname, port: Number(url.port || 2375) };
}

/** One plain HTTP request to the Docker API; the body is returned as text. */
export function dockerRequest(
  dockerHost: string,
  method: string,
  path: string,
  opts: { body?: Readable | string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { ...parseDockerHost(dockerHost), method, path, headers: opts.headers, timeout: opts.timeoutMs ?? 60_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`docker ${method} ${path}: timed out`)));
    req.on('error', reject);
    if (opts.body === undefined || typeof opts.body === 'string') {
      req.end(opts.body);
    } else {
      opts.body.on('error', (error) => req.destroy(error));
      opts.body.pipe(req);
    }
  });
}

/** True when an engine at `dockerHost` answers `GET /_ping` with 200 OK. */
export async function pingDocker(dockerHost: string, timeoutMs = 1000): Promise<boolean> {
  try {
    const { status, body } = await dockerRequest(dockerHost, 'GET', '/_ping', { timeoutMs });
    return status === 200 && body === 'OK';
  } catch {
    return false;
  }
}

/**
 * A Docker engine for the tests: the one at DOCKER_HOST if it answers, else
 * the one at /var/run/docker.sock, else a private dockerd started here.
 *
 * The private dockerd shares the host's network stack with any other dockerd
 * on the machine (a developer's, another test run's), so it keeps out of their
 * way: its own bridge and subnet instead of docker0, and it leaves iptables and
 * ip_forward alone. Published ports still work on the host's loopback, which is
 * all the tests use: docker-proxy listens on 127.0.0.1:<hostPort> and connects
 * to the container over the bridge.
 * NOTE: with bridge-nf-call-iptables on and a FORWARD policy of DROP (which a
 * dockerd with iptables on sets, and leaves behind when it stops), traffic
 * between containers on one bridge is dropped, and the Service tests (a stub
 * forwarding to pods on the pod network) fail. A fresh machine has neither; on a
 * machine that ran a system dockerd, point DOCKER_HOST at it or restore the
 * policy (iptables -P FORWARD ACCEPT).
 */
export async function ensureDocker(opts: { timeoutMs?: number } = {}): Promise<DockerHandle> {
  const fromEnv = process.env.DOCKER_HOST;
  if (fromEnv !== undefined && fromEnv !== '' && (await pingDocker(fromEnv))) return found(fromEnv);
  const local = `unix://${defaultSocket}`;
  if (existsSync(defaultSocket) && (await pingDocker(local))) return found(local);
  const blocked = await forwardBlocked();
  if (blocked !== undefined) throw new Error(blocked);
  return startDockerd(opts.timeoutMs ?? 60_000);
}

/**
 * Why containers on the private dockerd's bridge could not reach each other (the NOTE above), or
 * undefined: said before any test runs, instead of every Service test failing on its own.
 */
async function forwardBlocked(): Promise<string | undefined> {
  const bridged = await readFile('/proc/sys/net/bridge/bridge-nf-call-iptables', 'utf8').catch(() => '0');
  if (bridged.trim() !== '1') return undefined;
  const iptables = await findExecutable('iptables');
  if (iptables === undefined) return undefined;
  const rules = await run(iptables, ['-S', 'FORWARD']).catch(() => undefined);
  if (rules?.stdout.split('\n')[0]?.trim() !== '-P FORWARD DROP') return undefined;
  return 'test harness: the host drops forwarded traffic (iptables FORWARD policy DROP with bridge-nf-call-iptables=1, which a dockerd with iptables on leaves behind), so containers on the tests\' Docker bridge cannot reach each other and every Service test would fail; run `iptables -P FORWARD ACCEPT`, or point DOCKER_HOST at that dockerd';
}

function found(host: string): DockerHandle {
  return { host, started: false, stop: async () => {} };
}

/**
 * Bash, run once dockerd has exited (normal stop) or by the watchdog after the
 * test process died: stop dockerd ($1) and its containerd if still there, undo
 * leftover mounts, delete our bridge ($3), remove the dir ($2).
 */
const dockerdCleanupScript = `${stopProcessScript}
stop_process "$1" "$2" 30
stop_process "$(cat "$2/exec/containerd/containerd.pid" 2>/dev/null)" "$2" 5
awk -v d="$2" '$5 == d || index($5, d "/") == 1 {print $5}' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l
if [[ -n $3 ]]; then ip link del "$3" 2>/dev/null || true; fi
rm -rf "$2"
`;

/** A dockerd of a test's own (always --iptables=false), which the test may restart: its containers live on (--live-restore, unless asked otherwise). */
export interface PrivateDocker extends DockerHandle {
  /**
   * Stop dockerd (SIGTERM, its containers left running) and start it again on the same data; resolves
   * once it answers. `whileDown` runs in between (e.g. to kill a container's process behind its back).
   */
  restart(whileDown?: () => Promise<void>): Promise<void>;
}

/**
 * Start a dockerd of the test's own, never the shared one: only a test that restarts dockerd needs it.
 * With `netns`, it runs inside that network namespace (made by `ip netns add`), with no default bridge: a
 * simulated host of its own (test/faults/support/hosts.ts).
 */
export function startPrivateDockerd(timeoutMs = 60_000, opts: { netns?: string } = {}): Promise<PrivateDocker> {
  return startDockerd(timeoutMs, ['--live-restore'], opts.netns);
}

async function startDockerd(timeoutMs: number, extra: string[] = [], netns?: string): Promise<PrivateDocker> {
  const noEngine = 'no Docker engine answers at DOCKER_HOST or /var/run/docker.sock';
  if (process.getuid?.() !== 0) {
    throw new Error(`${noEngine}, and starting one needs root: run scripts/start-dockerd.sh as root and export the DOCKER_HOST it prints`);
  }
  const dockerd = await findExecutable('dockerd');
  const ip = await findExecutable('ip');
  if (dockerd === undefined || ip === undefined) {
    throw new Error(`${noEngine}, and ${dockerd === undefined ? 'dockerd' : 'ip'} is not installed: run scripts/install-deps.sh`);
  }

  // NOTE: unix socket paths are limited to 107 bytes, and containerd's lives at
  // <dir>/exec/containerd/containerd.sock.ttrpc: keep <dir> short.
  const dir = await mkdtemp(join(tmpdir().length <= 40 ? tmpdir() : '/tmp', 'berth-dockerd-'));
  const id = randomBytes(3).toString('hex');
  const bridge = `berth${id}`; // interface names are at most 15 characters
  const host = `unix://${join(dir, 'docker.sock')}`;
  let hasBridge = false;
  let child: ChildProcess | undefined;
  let cancelWatchdog: (() => void) | undefined;
  let stopping: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (stopping ??= (async () => {
      cancelWatchdog?.();
      if (child !== undefined && isRunning(child)) {
        await removeAllContainers(host);
        await terminate(child, 30_000);
      }
      const args = [String(child?.pid ?? ''), dir, hasBridge ? bridge : ''];
      await run('bash', ['-c', dockerdCleanupScript, 'berth-cleanup', ...args], { env: { PATH: searchPath() } });
    })());

  /** Start dockerd on `dir` and wait until it answers. */
  const spawnDaemon = async (): Promise<void> => {
    const logPath = join(dir, 'dockerd.log');
    const log = await open(logPath, 'a');
    const args = [
      '--data-root', join(dir, 'data'),
      '--exec-root', join(dir, 'exec'),
      '--pidfile', join(dir, 'docker.pid'),
      '--host', host,
      '--bridge', netns === undefined ? bridge : 'none',
      '--iptables=false',
      '--ip-masq=false',
      '--ip-forward=false',
      // Only matters when a system containerd is running (dockerd then uses it instead of its own).
      '--containerd-namespace', `berth-test-${id}`,
      '--containerd-plugins-namespace', `berth-test-${id}-plugins`,
      ...extra,
    ];
    // nsenter execs dockerd (the pid is dockerd's) in the namespace's network only: `ip netns exec`
    // would also mount a sysfs of its own over /sys, hiding the cgroups dockerd needs.
    const started = spawn(
      netns === undefined ? dockerd : 'nsenter',
      netns === undefined ? args : [`--net=/run/netns/${netns}`, dockerd, ...args],
      // Own process group: a Ctrl-C in the terminal reaches vitest, not dockerd; the watchdog stops it.
      { detached: true, stdio: ['ignore', log.fd, log.fd], env: { ...process.env, PATH: searchPath() } },
    );
    child = started;
    await log.close();
    let spawnError: Error | undefined;
    started.once('error', (error) => (spawnError = error));
    if (started.pid !== undefined) {
      cancelWatchdog = cleanupAfterExit(dockerdCleanupScript, [String(started.pid), dir, bridge]);
    }
    try {
      await waitFor(
        async () => {
          if (spawnError !== undefined) throw new GiveUp(spawnError.message);
          if (!isRunning(started)) throw new GiveUp(`dockerd exited (${started.exitCode ?? started.signalCode})`);
          return pingDocker(host, 500);
        },
        { timeoutMs, intervalMs: 50, what: `dockerd at ${host}` },
      );
    } catch (error) {
      const tail = (await readFile(logPath, 'utf8').catch(() => '')).slice(-4000);
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`could not start dockerd: ${reason}\n${tail}`, { cause: error });
    }
  };

  try {
    if (netns === undefined) {
      const subnet = await pickSubnet(ip);
      await run(ip, ['link', 'add', 'name', bridge, 'type', 'bridge']);
      hasBridge = true;
      await run(ip, ['addr', 'add', `${subnet}.1/24`, 'dev', bridge]);
      await run(ip, ['link', 'set', bridge, 'up']);
    }

    await spawnDaemon();
  } catch (error) {
    await cleanup();
    throw error;
  }
  return {
    host,
    started: true,
    stop: cleanup,
    restart: async (whileDown) => {
      cancelWatchdog?.();
      if (child !== undefined) await terminate(child, 30_000);
      await whileDown?.();
      await spawnDaemon();
    },
  };
}

/** Force-remove every container: only for our private engine, so dockerd exits at once. */
async function removeAllContainers(host: string): Promise<void> {
  const list = await dockerRequest(host, 'GET', '/containers/json?all=1', { timeoutMs: 10_000 }).catch(() => undefined);
  const ids = list?.status === 200 ? (JSON.parse(list.body) as { Id: string }[]).map((c) => c.Id) : [];
  await Promise.all(
    ids.map((id) => dockerRequest(host, 'DELETE', `/containers/${id}?force=1&v=1`, { timeoutMs: 30_000 }).catch(() => undefined)),
  );
}

/**
 * A `10.213.N` /24 that overlaps no address or route on this host; N is random
 * so two test runs starting at once are unlikely to pick the same one.
 * Docker's own default pools (172.17-31/16, 192.168/16) are avoided on purpose.
 */
async function pickSubnet(ip: string): Promise<string> {
  const [routes, addresses] = await Promise.all([
    run(ip, ['-4', '-o', 'route', 'show', 'table', 'all']),
    run(ip, ['-4', '-o', 'addr', 'show']),
  ]);
  const taken = [...`${routes.stdout}\n${addresses.stdout}`.matchAll(/\b(\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?/g)].map(
    ([, address, bits]) => ({ base: toInt(address ?? ''), bits: Number(bits ?? 32) }),
  );
  const start = randomBytes(1)[0] ?? 0;
  for (let i = 0; i < 256; i++) {
    const n = (start + i) % 256;
    const candidate = toInt(`10.213.${n}.0`);
    const overlaps = taken.some(({ base, bits }) => {
      const shorter = Math.min(bits, 24);
      const mask = shorter === 0 ? 0 : (~0 << (32 - shorter)) >>> 0;
      return ((base & mask) >>> 0) === ((candidate & mask) >>> 0);
    });
    if (!overlaps) return `10.213.${n}`;
  }
  throw new Error('no free 10.213.N.0/24 subnet for the test bridge');
}

function toInt(address: string): number {
  return address.split('.').reduce((sum, part) => sum * 256 + Number(part), 0);
}
