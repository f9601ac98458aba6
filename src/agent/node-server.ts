// The node endpoint (kubelet's :10250): this node's pods' logs (GET /logs/…, logs-server.ts), exec
// (a WebSocket upgrade of GET /exec/…, exec.ts) and the process's metrics (GET /metrics), each request with the API's bearer token, served with
// node:http (two routes need no framework). Its URL sits in etcd under agentapi/<node> on a lease of
// its own, so the API server finds it and proxies to it, and it disappears with the agent.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import Docker from './dockerode.js';
import { bearerMatches } from '../bearer.js';
import { acceptChannels, refuseUpgrade } from '../channels.js';
import { BerthError, InvalidInputError, messageOf } from '../errors.js';
import { componentRegistry } from '../metrics.js';
import type { Logger } from '../log.js';
import { agentApiKey, decode, encode, statusKey, type Lease, type Store } from '../store/index.js';
import { dockerHostOptions } from './docker-host.js';
import { parseExecRequest, prepareExec, runExec } from './exec.js';
import { parseLogRequest, streamLogs } from './logs-server.js';

/** Options of {@link startNodeServer}. */
export interface NodeServerOptions {
  store: Store;
  log: Logger;
  node: string;
  /** `--docker`, as the agent's. */
  docker?: string;
  /** The bearer token requests must carry (the API server's). */
  token: string;
  listen: { host: string; port: number };
  /**
   * The host the API server reaches this endpoint at, when it is not the one listened on (a node
   * listening on 0.0.0.0 is reached at its `--address`).
   */
  advertise?: string;
}

/** A running node endpoint. */
export interface NodeServer {
  /** What agentapi/<node> says: where the API server reaches it. */
  url: string;
  stop(): Promise<void>;
}

const LEASE_SECONDS = 10;
const UNAUTHORIZED = { code: 'EUNAUTHORIZED', message: "the agent's endpoint needs the API token" };

/** The HTTP status for an error of a request. */
function statusOf(err: unknown): number {
  if (err instanceof InvalidInputError) return 400;
  if (err instanceof BerthError && err.code === 'ENOTFOUND') return 404;
  if (err instanceof BerthError && err.code === 'ENOTRUNNING') return 409;
  return 502;
}

/** Serve this node's pods' logs and exec, and say where in etcd. */
export async function startNodeServer(opts: NodeServerOptions): Promise<NodeServer> {
  const log = opts.log.child({ component: 'agent-endpoint', node: opts.node });
  const host = dockerHostOptions(opts.docker);
  const docker = new Docker(host.kind === 'socket' ? { socketPath: host.socketPath } : { host: host.host, port: host.port, protocol: 'http' });
  const sockets = new Set<Duplex>();
  const server = http.createServer((req, res) => {
    void serve(req, res).catch((err: unknown) => {
      const status = statusOf(err);
      if (status === 502) log.warn({ err: messageOf(err) }, 'a log request failed');
      if (!res.headersSent) res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ code: err instanceof BerthError ? err.code : 'EDOCKER', message: messageOf(err) }));
      else res.end();
    });
  });
  const serve = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    if (!bearerMatches(req.headers.authorization, opts.token)) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify(UNAUTHORIZED));
      return;
    }
    if (req.method !== 'GET') throw new InvalidInputError('EINVALID', 'only GET');
    // This process's component metrics (a `berth agent` alone has no API server to show them).
    if (req.url === '/metrics') {
      res.writeHead(200, { 'content-type': componentRegistry.contentType }).end(await componentRegistry.metrics());
      return;
    }
    const q = parseLogRequest(req.url ?? '/');
    await streamLogs(docker, host, opts.node, q, res, async (container) => {
      const entry = await opts.store.get(statusKey(opts.node, q.namespace, q.pod));
      const status = entry && decode('podStatus', entry.key, entry.value);
      return [...(status?.containers ?? []), ...(status?.initContainers ?? [])].find((c) => c.name === container)?.lastState;
    });
  };
  // exec: checked and made before the upgrade, so every refusal is an HTTP answer the API server relays.
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    void (async () => {
      if (!bearerMatches(req.headers.authorization, opts.token)) return refuseUpgrade(socket, 401, UNAUTHORIZED.code, UNAUTHORIZED.message);
      const query = parseExecRequest(req.url ?? '/');
      const prepared = await prepareExec(docker, host, opts.node, query);
      const ws = await acceptChannels(req, socket, head);
      log.info({ namespace: query.namespace, pod: query.pod, container: query.container, stdin: query.stdin, tty: query.tty }, 'exec');
      await runExec(prepared, ws, log);
    })().catch((err: unknown) => {
      const status = statusOf(err);
      if (status === 502) log.warn({ err: messageOf(err) }, 'an exec request failed');
      refuseUpgrade(socket, status, err instanceof BerthError ? err.code : 'EDOCKER', messageOf(err));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.listen.port, opts.listen.host, resolve);
  });
  const address = server.address() as AddressInfo;
  const reached = opts.advertise ?? address.address;
  const url = `http://${reached.includes(':') ? `[${reached}]` : reached}:${address.port}`;
  const lease: Lease = await opts.store.lease(LEASE_SECONDS);
  await opts.store.commit({ put: [{ key: agentApiKey(opts.node), value: encode({ type: 'agentApi', node: opts.node, url }), lease }] });
  log.info({ url, listen: `${address.address}:${address.port}` }, 'serving pod logs and exec');
  return {
    url,
    stop: async () => {
      await lease.revoke().catch(() => undefined);
      server.closeAllConnections();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
