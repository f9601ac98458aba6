// `--metrics-listen`: the metrics of a `berth sync`, `berth controller` or `berth scheduler` run
// alone, which has no API server to show them on. Plain node:http: one route needs no framework.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BerthError, messageOf } from './errors.js';
import type { Logger } from './log.js';
import { componentRegistry } from './metrics.js';

/** A metrics endpoint that is listening. */
export interface MetricsServer {
  /** `http://host:port`, with the port picked when 0 was asked. */
  url: string;
  stop(): Promise<void>;
}

/**
 * Serve this process's component metrics on `GET /metrics` (Prometheus text) and `GET /healthz`; no
 * token, as Prometheus scrapes: listen on loopback or a private network. A port in use fails the start.
 */
export async function startMetricsServer(opts: { listen: { host: string; port: number }; log: Logger }): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://metrics');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (url.pathname === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (url.pathname !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: this endpoint serves /metrics\n');
      return;
    }
    componentRegistry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': componentRegistry.contentType }).end(text),
      (err: unknown) => {
        opts.log.warn({ err: messageOf(err) }, 'cannot collect metrics');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('cannot collect metrics\n');
      },
    );
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.listen.port, opts.listen.host, resolve);
    });
  } catch (err) {
    throw new BerthError('ELISTEN', `cannot serve metrics on ${opts.listen.host}:${opts.listen.port}: ${messageOf(err)}`, { hint: 'pick another --metrics-listen', cause: err });
  }
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  opts.log.info({ url: `${url}/metrics` }, `serving metrics on ${url}/metrics`);
  return {
    url,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
