import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EtcdHttpStore, EtcdStore, commitChunked, type EtcdStoreOptions, type Store } from '../../src/store/index.js';
import { uniqueName } from './names.js';
import { freePorts } from './ports.js';
import { cleanupAfterExit, findExecutable, isRunning, OutputTail, stopProcessScript, terminate } from './process.js';
import { GiveUp, waitFor } from './wait.js';

/** A running single-member etcd for tests. */
export interface EtcdHandle {
  /** Client URL, e.g. `http://127.0.0.1:40123`. */
  endpoint: string;
  dataDir: string;
  /** Kill etcd; remove the data dir when startEtcd created it. */
  stop(): Promise<void>;
}

export interface StartEtcdOptions {
  /** Reuse this data dir (kept on stop), e.g. to restart etcd over the same data. */
  dataDir?: string;
  /** Listen on this client port (e.g. to restart at the same endpoint); default: a free one. */
  clientPort?: number;
  /** Give up waiting for /health after this long (default 20 s). */
  timeoutMs?: number;
  /** More etcd flags, e.g. `['--max-request-bytes', '65536']`. */
  args?: string[];
  /** Serve clients over TLS with these PEM files, asking for a client certificate signed by `ca` (health is read on a plain metrics port). */
  tls?: { cert: string; key: string; ca: string };
}

const attempts = 3;

/**
 * Start the `etcd` binary on free loopback ports with `--unsafe-no-fsync`
 * (tests only: a crash may lose writes) and wait until `/health` says true.
 */
export async function startEtcd(opts: StartEtcdOptions = {}): Promise<EtcdHandle> {
  const binary = await findExecutable('etcd');
  if (binary === undefined) {
    throw new Error('etcd not found on PATH: run scripts/install-deps.sh (Debian package etcd-server)');
  }
  const ownDir = opts.dataDir === undefined ? await mkdtemp(join(tmpdir(), 'berth-etcd-')) : undefined;
  const dataDir = opts.dataDir ?? join(ownDir ?? '', 'data');
  try {
    // A free port can be taken between freePorts() and etcd's bind: retry with new ones.
    for (let attempt = 1; ; attempt++) {
      try {
        return await launch(binary, dataDir, ownDir, opts);
      } catch (error) {
        const portClash = error instanceof Error && /address already in use/.test(error.message);
        if (!portClash || attempt >= attempts || opts.clientPort !== undefined) throw error;
        if (ownDir !== undefined) await rm(dataDir, { recursive: true, force: true });
      }
    }
  } catch (error) {
    if (ownDir !== undefined) await rm(ownDir, { recursive: true, force: true });
    throw error;
  }
}

async function launch(
  binary: string,
  dataDir: string,
  ownDir: string | undefined,
  opts: StartEtcdOptions,
): Promise<EtcdHandle> {
  const [freeClient, peerPort, metricsPort] = await freePorts(3);
  const clientPort = opts.clientPort ?? freeClient;
  if (clientPort === undefined || peerPort === undefined || metricsPort === undefined) throw new Error('no free ports');
  const endpoint = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${clientPort}`;
  const metrics = `http://127.0.0.1:${metricsPort}`;
  const tls = opts.tls ? ['--cert-file', opts.tls.cert, '--key-file', opts.tls.key, '--trusted-ca-file', opts.tls.ca, '--client-cert-auth'] : [];
  const peer = `http://127.0.0.1:${peerPort}`;
  const child = spawn(
    binary,
    [
      '--name', 'berth-test',
      '--data-dir', dataDir,
      '--listen-client-urls', endpoint,
      '--advertise-client-urls', endpoint,
      '--listen-peer-urls', peer,
      '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `berth-test=${peer}`,
      '--initial-cluster-state', 'new',
      '--unsafe-no-fsync',
      // A single voter: a short election timeout makes it leader in ~0.1 s instead of ~1 s.
      '--heartbeat-interval', '10',
      '--election-timeout', '100',
      '--logger', 'zap',
      '--log-level', 'warn',
      '--listen-metrics-urls', metrics,
      ...tls,
      ...(opts.args ?? []),
    ],
    // Own process group: a Ctrl-C in the terminal reaches vitest, not etcd; the watchdog stops it.
    { detached: true, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const cancelWatchdog =
    child.pid === undefined ? () => undefined : cleanupAfterExit(etcdCleanupScript, [String(child.pid), dataDir, ownDir ?? '']);
  const log = new OutputTail();
  child.stderr?.on('data', (chunk: Buffer) => log.push(chunk));
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  try {
    await waitFor(
      async () => {
        if (spawnError !== undefined) throw new GiveUp(spawnError.message);
        if (!isRunning(child)) throw new GiveUp(`etcd exited (${child.exitCode ?? child.signalCode})`);
        return isHealthy(metrics);
      },
      { timeoutMs: opts.timeoutMs ?? 20_000, intervalMs: 25, what: `etcd at ${endpoint} to be healthy` },
    );
  } catch (error) {
    cancelWatchdog();
    await terminate(child, 2000);
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`etcd did not start: ${reason}\n${log}`, { cause: error });
  }
  let stopping: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    cancelWatchdog();
    await terminate(child, 5000);
    if (ownDir !== undefined) await rm(ownDir, { recursive: true, force: true });
  };
  return { endpoint, dataDir, stop: () => (stopping ??= stop()) };
}

/** Bash, for the watchdog if the test process dies: stop etcd ($1, marked by $2), remove our dir ($3). */
const etcdCleanupScript = `${stopProcessScript}
stop_process "$1" "$2" 10
if [[ -n $3 ]]; then rm -rf "$3"; fi
`;

async function isHealthy(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
    const body = (await response.json()) as { health?: unknown };
    return response.ok && body.health === 'true';
  } catch {
    return false;
  }
}

/** How a test opens a store on etcd: one of berth's two clients. */
export type ConnectStore = (endpoints: string[], prefix?: string, opts?: EtcdStoreOptions) => Promise<Store>;

/** berth's two etcd clients, for suites that run on each: etcd3 (gRPC) and the agent's, over etcd's JSON gateway. */
export const STORE_CLIENTS: [string, ConnectStore][] = [
  ['etcd3', (endpoints, prefix, opts) => EtcdStore.connect(endpoints, prefix, opts)],
  ['JSON gateway', (endpoints, prefix, opts) => EtcdHttpStore.connect(endpoints, prefix, opts)],
];

/**
 * A store on its own key prefix (`/<name>-<random>`), and `dispose`, which deletes every key
 * under it (in as many txns as etcd's limits need) and closes the store.
 */
export async function openTestStore(
  endpoint: string,
  name: string,
  opts?: EtcdStoreOptions,
): Promise<{ store: EtcdStore; dispose: () => Promise<void> }>;
export async function openTestStore(endpoint: string, name: string, opts: EtcdStoreOptions, connect: ConnectStore): Promise<{ store: Store; dispose: () => Promise<void> }>;
export async function openTestStore(
  endpoint: string,
  name: string,
  opts: EtcdStoreOptions = {},
  connect?: ConnectStore,
): Promise<{ store: Store; dispose: () => Promise<void> }> {
  const store = connect === undefined ? await EtcdStore.connect([endpoint], `/${uniqueName(name)}`, opts) : await connect([endpoint], `/${uniqueName(name)}`, opts);
  return {
    store,
    dispose: async () => {
      const { entries } = await store.list('');
      await commitChunked(store, [], entries.map((e) => e.key));
      await store.close();
    },
  };
}
