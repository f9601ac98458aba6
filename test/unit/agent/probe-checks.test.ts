// Each network probe against a real local server: HTTP status codes and headers, TCP connect, the
// gRPC health service over HTTP/2, and timeouts that bound a probe that gets no answer.
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { healthCheckStatus, runCheck, type Handler } from '../../../src/agent/probe-checks.js';
import { FakeRuntime } from '../../support/fake-runtime.js';

const runtime = new FakeRuntime();
const servers: { close(): void }[] = [];
let httpPort = 0;
let grpcPort = 0;
let silentPort = 0;
let seenHeader: string | undefined;

function listen(server: net.Server): Promise<number> {
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
}

beforeAll(async () => {
  httpPort = await listen(
    http.createServer((req, res) => {
      seenHeader = req.headers['x-probe'] as string | undefined;
      const code = Number(req.url?.slice(1)) || 200;
      res.writeHead(code).end('x');
    }),
  );
  const h2 = http2.createServer();
  h2.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      // The request names a service: "down" is NOT_SERVING, "missing" is grpc-status 5 (NOT_FOUND), anything else SERVING.
      const body = Buffer.concat(chunks).subarray(5).toString('utf8');
      expect(headers[':path']).toBe('/grpc.health.v1.Health/Check');
      if (body.includes('missing')) {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '5' }, { endStream: true });
        return;
      }
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.from([0, 0, 0, 0, 2, 0x08, body.includes('down') ? 2 : 1]));
    });
  });
  grpcPort = await listen(h2 as unknown as net.Server);
  // Accepts connections and never answers: probes must time out.
  silentPort = await listen(net.createServer(() => undefined));
});
afterAll(() => {
  for (const s of servers) s.close();
});

const target = () => ({ id: 'c1', ip: '127.0.0.1', ports: [{ name: 'http', containerPort: httpPort }] });
const get = (path: string, port: number | string = httpPort): Handler => ({ httpGet: { path, port, scheme: 'HTTP', httpHeaders: [{ name: 'X-Probe', value: 'yes' }] } });

describe('runCheck against real sockets', () => {
  it.each([
    ['HTTP 200', () => get('/200'), { ok: true }],
    ['HTTP 302 counts as success', () => get('/302'), { ok: true }],
    ['HTTP 500', () => get('/500'), { ok: false, message: 'HTTP probe failed with statuscode: 500' }],
    ['HTTP by port name', () => get('/204', 'http'), { ok: true }],
    ['HTTP on an unknown port name', () => get('/', 'admin'), { ok: false, message: 'no port named admin' }],
    ['TCP open', () => ({ tcpSocket: { port: httpPort } }), { ok: true }],
    ['gRPC SERVING', () => ({ grpc: { port: grpcPort, service: '' } }), { ok: true }],
    ['gRPC NOT_SERVING', () => ({ grpc: { port: grpcPort, service: 'down' } }), { ok: false, message: 'service unhealthy (responded with "NOT_SERVING")' }],
    ['gRPC error status', () => ({ grpc: { port: grpcPort, service: 'missing' } }), { ok: false, message: 'health rpc failed with grpc-status 5' }],
  ])('%s', async (_, handler, expected) => {
    expect(await runCheck(runtime, target(), handler(), 2000)).toEqual(expected);
  });

  it('sends the httpHeaders', async () => {
    await runCheck(runtime, target(), get('/200'), 2000);
    expect(seenHeader).toBe('yes');
  });

  it.each([
    ['HTTP', () => get('/', silentPort), /timeout after 0.3s/],
    ['gRPC', () => ({ grpc: { port: silentPort, service: '' } }), /timeout|failed|closed/],
  ])('a %s probe with no answer fails within its timeout', async (_, handler, message) => {
    const started = Date.now();
    const r = await runCheck(runtime, target(), handler(), 300);
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(message);
    expect(Date.now() - started).toBeLessThan(5000); // bounded, not hung
  });

  it('a closed port fails', async () => {
    const closed = net.createServer();
    const port = await listen(closed);
    closed.close();
    const r = await runCheck(runtime, target(), { tcpSocket: { port } }, 1000);
    expect(r).toMatchObject({ ok: false, message: expect.stringMatching(/ECONNREFUSED/) });
  });

  it('no address: fails without trying', async () => {
    expect(await runCheck(runtime, { id: 'c1', ports: [] }, { tcpSocket: { port: 80 } }, 1000)).toEqual({ ok: false, message: 'the container has no IP address' });
  });

  it('reads a SERVING answer', () => {
    expect(healthCheckStatus(Buffer.from([0, 0, 0, 0, 2, 0x08, 1]))).toBe(1);
  });
});
