import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { UnavailableError } from '../errors.js';
import { ensureLocalPki, readLocalEtcdTls, type LocalEtcdTls, type LocalPki } from './local-pki.js';

/** An etcd that `berth up` started for itself: TLS on loopback, a client certificate required. */
export interface LocalEtcd {
  /** `https://localhost:<port>` (it listens on 127.0.0.1). */
  endpoint: string;
  /** What a client connects with (EtcdStoreOptions.tls). */
  tls: LocalEtcdTls;
  /** The PEM files, for a command started with --etcd-ca/--etcd-cert/--etcd-key. */
  pki: LocalPki;
  /** SIGTERM (sent before this returns), then SIGKILL after `graceMs` (default 5 s). */
  stop(graceMs?: number): Promise<void>;
}

const START_TIMEOUT_MS = 20_000;
const ENDPOINT_FILE = 'endpoint';
const PID_FILE = 'etcd.pid';

/** The client URL of the etcd that `berth up` runs under `dataDir`, if one is running. */
export function localEtcdEndpoint(dataDir: string): string | undefined {
  try {
    return fs.readFileSync(path.join(dataDir, ENDPOINT_FILE), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Find an executable on PATH, or undefined. */
export function findOnPath(name: string, envPath = process.env.PATH ?? ''): string | undefined {
  for (const dir of envPath.split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, name);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Start a single-member etcd on free loopback ports with its data under `dataDir`, kept healthy for
 * months of pushes: periodic auto-compaction and a space quota. Its client and peer ports speak TLS
 * and want a certificate of its own CA (`local-pki.ts`, made on first start under `dataDir/pki`):
 * loopback is open to every user of the machine, and etcd holds berth's whole state. A data dir of
 * an older berth, whose etcd spoke plain HTTP, is kept: its etcd starts on it with TLS.
 */
export async function startLocalEtcd(dataDir: string, opts: { etcdBinary?: string; ports?: () => Promise<number> } = {}): Promise<LocalEtcd> {
  const binary = opts.etcdBinary ?? findOnPath('etcd');
  if (!binary) {
    throw new UnavailableError('ENOETCD', 'etcd not found on PATH', {
      hint: 'install it (apt-get install etcd-server) or pass --etcd <url> of a running etcd',
    });
  }
  fs.mkdirSync(dataDir, { recursive: true });
  await stopOrphan(dataDir);
  const { pki } = await ensureLocalPki(dataDir);
  const tls = await readLocalEtcdTls(dataDir);
  if (tls === undefined) throw new UnavailableError('EETCDTLS', `the certificates under ${pki.dir} cannot be read`, { hint: `remove ${pki.dir}; berth up makes them again` });
  // A port found free may be taken before etcd binds it (another process's connection draws from the
  // same range): etcd then exits saying so, and starts again on other ports.
  const pick = opts.ports ?? freePort;
  let started: Started | undefined;
  for (let attempt = 1; started === undefined; attempt++) {
    const ports = { client: await pick(), peer: await pick() };
    const logFile = path.join(dataDir, 'etcd.log');
    const from = fs.existsSync(logFile) ? fs.statSync(logFile).size : 0;
    try {
      started = await launch(binary, dataDir, pki, tls, ports);
    } catch (err) {
      const said = fs.readFileSync(logFile).subarray(from).toString();
      if (attempt >= PORT_ATTEMPTS || !said.includes('address already in use')) throw err;
    }
  }
  const { child, client } = started;
  // Other commands on this machine (`berth get`, `berth history`) find this etcd through the data dir.
  const endpointFile = path.join(dataDir, ENDPOINT_FILE);
  fs.writeFileSync(endpointFile, `${client}\n`);
  return {
    endpoint: client,
    tls,
    pki,
    stop: (graceMs = 5_000) =>
      new Promise<void>((resolve) => {
        fs.rmSync(endpointFile, { force: true });
        fs.rmSync(path.join(dataDir, PID_FILE), { force: true });
        if (started.exited()) return resolve();
        const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
        child.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        child.kill('SIGTERM');
      }),
  };
}

/** etcd's /health over TLS with berth's client certificate (fetch cannot present one). */
function healthy(url: string, tls: LocalEtcdTls): Promise<boolean> {
  return new Promise((resolve) => {
    const req = https.get(`${url}/health`, { ...tls, timeout: 1_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/**
 * A `berth up` that was killed (SIGKILL, a crash) leaves its etcd running on the data dir, which a new
 * etcd cannot open. Stop it, but only if the recorded pid is still an etcd of this very data dir.
 */
async function stopOrphan(dataDir: string): Promise<void> {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(path.join(dataDir, PID_FILE), 'utf8').trim());
  } catch {
    return;
  }
  const isOurs = (): boolean => {
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return path.basename(argv[0] ?? '') === 'etcd' && argv.includes(path.join(dataDir, 'data'));
    } catch {
      return false;
    }
  };
  if (Number.isInteger(pid) && pid > 0 && isOurs()) {
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + 10_000;
    while (isOurs() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    if (isOurs()) process.kill(pid, 'SIGKILL');
    while (isOurs()) await new Promise((r) => setTimeout(r, 20));
  }
  fs.rmSync(path.join(dataDir, PID_FILE), { force: true });
}

/** How many times etcd is started on newly found ports when one it was given was taken meanwhile. */
const PORT_ATTEMPTS = 3;

/** An etcd started and answering. */
interface Started {
  child: ChildProcess;
  client: string;
  /** Whether it has exited since. */
  exited(): boolean;
}

/** Start etcd on `ports` and wait until it answers; throws (having killed it) when it exits or never answers. */
async function launch(binary: string, dataDir: string, pki: LocalPki, tls: LocalEtcdTls, ports: { client: number; peer: number }): Promise<Started> {
  const listen = `https://127.0.0.1:${ports.client}`;
  // Clients name it `localhost` (a SAN of its certificate): grpc-js sets the TLS server name to the
  // host it dials, and node warns (DEP0123) when that is an IP address.
  const client = `https://localhost:${ports.client}`;
  const peer = `https://127.0.0.1:${ports.peer}`;
  const log = fs.openSync(path.join(dataDir, 'etcd.log'), 'a');
  const child: ChildProcess = spawn(
    binary,
    [
      '--name', 'berth',
      '--data-dir', path.join(dataDir, 'data'),
      '--listen-client-urls', listen, '--advertise-client-urls', client,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `berth=${peer}`,
      '--cert-file', pki.serverCert, '--key-file', pki.serverKey, '--trusted-ca-file', pki.ca, '--client-cert-auth',
      '--peer-cert-file', pki.serverCert, '--peer-key-file', pki.serverKey, '--peer-trusted-ca-file', pki.ca, '--peer-client-cert-auth',
      '--auto-compaction-mode', 'periodic', '--auto-compaction-retention', '1h',
      '--quota-backend-bytes', String(2 * 1024 ** 3),
    ],
    // Own process group: a terminal's Ctrl-C reaches `berth up` alone, which stops etcd last.
    { stdio: ['ignore', log, log], detached: true },
  );
  fs.closeSync(log);
  let exited: string | undefined;
  if (child.pid !== undefined) fs.writeFileSync(path.join(dataDir, PID_FILE), `${child.pid}\n`);
  child.on('exit', (code, signal) => {
    exited = `exited with ${signal ?? code}`;
  });
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!(await healthy(client, tls))) {
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new UnavailableError('EETCDSTART', `etcd did not start (${exited ?? 'no answer in time'})`, {
        hint: `see ${path.join(dataDir, 'etcd.log')}`,
      });
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, client, exited: () => exited !== undefined };
}
