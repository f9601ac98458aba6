// The agent's own endpoint for its pods' logs (kubelet's :10250 for `kubectl logs`): GET
// /logs/<namespace>/<pod>?container=&tail=&since=&follow=1, bearer token required, served with
// node:http (two routes need no framework). Its URL sits in etcd under agentapi/<node> on a lease of
// its own, so the API server finds it and proxies to it, and it disappears with the agent.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Docker from 'dockerode';
import { bearerMatches } from '../bearer.js';
import { BerthError, InvalidInputError, messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import { agentApiKey, encode, type Lease, type Store } from '../store/index.js';
import { dockerHostOptions, translate, type DockerHost } from './docker-host.js';
import { LABEL } from './labels.js';
import { SANDBOX_LABEL } from './sandbox.js';

/** Options of {@link startLogServer}. */
export interface LogServerOptions {
  store: Store;
  log: Logger;
  node: string;
  /** `--docker`, as the agent's. */
  docker?: string;
  /** The bearer token requests must carry (the API server's). */
  token: string;
  listen: { host: string; port: number };
}

/** What a log request asks for, checked. */
export interface LogQuery {
  namespace: string;
  pod: string;
  container?: string;
  /** Lines from the end; all when absent. */
  tail?: number;
  /** Only lines newer than this many seconds. */
  sinceSeconds?: number;
  follow: boolean;
}

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const LEASE_SECONDS = 10;
const PARAMS = new Set(['container', 'tail', 'since', 'follow']);

/** Parse `/logs/<namespace>/<pod>?…`; anything else, or a bad parameter, is an InvalidInputError. */
export function parseLogRequest(url: string): LogQuery {
  const u = new URL(url, 'http://agent');
  const [, logs, namespace, pod, ...rest] = u.pathname.split('/');
  if (logs !== 'logs' || namespace === undefined || pod === undefined || rest.length > 0 || !NAME.test(namespace) || !NAME.test(pod)) {
    throw new InvalidInputError('EINVALID', 'expected /logs/<namespace>/<pod>');
  }
  for (const key of u.searchParams.keys()) if (!PARAMS.has(key)) throw new InvalidInputError('EINVALID', `unknown parameter "${key}"`);
  const container = u.searchParams.get('container') ?? undefined;
  if (container !== undefined && !NAME.test(container)) throw new InvalidInputError('EINVALID', 'container must be a container name');
  const whole = (key: string, max: number): number | undefined => {
    const v = u.searchParams.get(key);
    if (v === null) return undefined;
    const n = Number(v);
    if (!/^\d+$/.test(v) || n > max) throw new InvalidInputError('EINVALID', `${key} must be a whole number from 0 to ${max}`);
    return n;
  };
  const follow = u.searchParams.get('follow');
  if (follow !== null && follow !== '0' && follow !== '1') throw new InvalidInputError('EINVALID', 'follow must be 0 or 1');
  const tail = whole('tail', 1_000_000);
  const sinceSeconds = whole('since', 10 * 365 * 86_400);
  return { namespace, pod, follow: follow === '1', ...(container ? { container } : {}), ...(tail === undefined ? {} : { tail }), ...(sinceSeconds === undefined ? {} : { sinceSeconds }) };
}

/**
 * Docker's multiplexed log stream (8-byte frame headers: stream, 0, 0, 0, size) → the payload, in
 * order, whatever the chunk boundaries; a stream that is not multiplexed (a TTY) passes as it is.
 */
export function logDemuxer(write: (b: Buffer) => void): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  let raw: boolean | undefined;
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    raw ??= pending.length > 0 && ![0, 1, 2].includes(pending[0] ?? 0);
    if (raw) {
      write(pending);
      pending = Buffer.alloc(0);
      return;
    }
    while (pending.length >= 8) {
      const size = pending.readUInt32BE(4);
      if (pending.length < 8 + size) return;
      write(pending.subarray(8, 8 + size));
      pending = pending.subarray(8 + size);
    }
  };
}

/** A running log endpoint. */
export interface LogServer {
  url: string;
  stop(): Promise<void>;
}

/** Serve this node's pods' logs and say where in etcd. */
export async function startLogServer(opts: LogServerOptions): Promise<LogServer> {
  const log = opts.log.child({ component: 'agent-logs', node: opts.node });
  const host = dockerHostOptions(opts.docker);
  const docker = new Docker(host.kind === 'socket' ? { socketPath: host.socketPath } : { host: host.host, port: host.port, protocol: 'http' });
  const server = http.createServer((req, res) => {
    void serve(req, res).catch((err: unknown) => {
      const status = err instanceof InvalidInputError ? 400 : err instanceof BerthError && err.code === 'ENOTFOUND' ? 404 : 502;
      if (status === 502) log.warn({ err: messageOf(err) }, 'a log request failed');
      if (!res.headersSent) res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ code: err instanceof BerthError ? err.code : 'EDOCKER', message: messageOf(err) }));
      else res.end();
    });
  });
  const serve = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    if (!bearerMatches(req.headers.authorization, opts.token)) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'EUNAUTHORIZED', message: "the agent's log endpoint needs the API token" }));
      return;
    }
    if (req.method !== 'GET') throw new InvalidInputError('EINVALID', 'only GET');
    await streamLogs(docker, host, opts.node, parseLogRequest(req.url ?? '/'), res);
  };
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.listen.port, opts.listen.host, resolve);
  });
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  const lease: Lease = await opts.store.lease(LEASE_SECONDS);
  await opts.store.commit({ put: [{ key: agentApiKey(opts.node), value: encode({ type: 'agentApi', node: opts.node, url }), lease }] });
  log.info({ url }, 'serving pod logs');
  return {
    url,
    stop: async () => {
      await lease.revoke().catch(() => undefined);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The newest Docker container of the pod's container (the only one, when the pod has one). */
async function streamLogs(docker: Docker, host: DockerHost, node: string, q: LogQuery, res: http.ServerResponse): Promise<void> {
  let infos: Docker.ContainerInfo[];
  try {
    infos = await docker.listContainers({ all: true, filters: { label: [`${LABEL.node}=${node}`, `${LABEL.namespace}=${q.namespace}`, `${LABEL.pod}=${q.pod}`] } });
  } catch (err) {
    throw translate(err, 'cannot list containers', host);
  }
  // The pod's own containers: not its sandbox (which holds the network and has no container name).
  infos = infos.filter((i) => i.Labels[LABEL.container] !== undefined && i.Labels[SANDBOX_LABEL] !== 'true');
  const names = [...new Set(infos.map((i) => i.Labels[LABEL.container] ?? ''))].sort();
  if (names.length === 0) throw new BerthError('ENOTFOUND', `pod ${q.namespace}/${q.pod} has no container on node ${node}`);
  const name = q.container ?? (names.length === 1 ? names[0] : undefined);
  if (name === undefined) throw new InvalidInputError('ECONTAINER', `pod ${q.namespace}/${q.pod} has ${names.length} containers: ${names.join(', ')}`, { hint: 'pick one with -c' });
  const info = infos.filter((i) => i.Labels[LABEL.container] === name).sort((a, b) => b.Created - a.Created)[0];
  if (!info) throw new BerthError('ENOTFOUND', `pod ${q.namespace}/${q.pod} has no container "${name}"; its containers: ${names.join(', ')}`);
  const options = { stdout: true, stderr: true, ...(q.tail === undefined ? {} : { tail: q.tail }), ...(q.sinceSeconds === undefined ? {} : { since: Math.floor(Date.now() / 1000) - q.sinceSeconds }) };
  const container = docker.getContainer(info.Id);
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache' });
  const push = logDemuxer((b) => res.write(b));
  if (!q.follow) {
    push(await container.logs({ ...options, follow: false }));
    res.end();
    return;
  }
  const stream = (await container.logs({ ...options, follow: true })) as NodeJS.ReadableStream & { destroy(): void };
  res.on('close', () => stream.destroy());
  stream.on('data', (c: Buffer) => push(c));
  await new Promise<void>((resolve) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', resolve);
  });
  res.end();
}
