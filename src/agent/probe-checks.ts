// One probe run against a container: exec through the runtime, httpGet / tcpSocket / grpc against
// the container's address. Each resolves to a result within its timeout and never throws.
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { messageOf } from '../errors.js';
import type { ProbeSpec } from './probe-core.js';
import type { ContainerRuntime } from './runtime.js';

/** The outcome of one run; `message` says why it failed. */
export interface CheckResult {
  ok: boolean;
  message?: string;
}

/** What a check needs to know about its container. */
export interface CheckTarget {
  id: string;
  /** The container's address on its Docker network; absent when it has none. */
  ip?: string;
  /** The container's named ports, for a probe that names its port. */
  ports: readonly { name?: string; containerPort: number }[];
}

type HttpGet = NonNullable<ProbeSpec['httpGet']>;

/** An exec or httpGet handler (a probe's or a preStop hook's). */
export interface Handler {
  exec?: { command: string[] };
  httpGet?: HttpGet;
  tcpSocket?: { port: number | string };
  grpc?: { port: number; service: string };
}

/** Run `handler` once against `target`, bounded by `timeoutMs`. */
export async function runCheck(runtime: ContainerRuntime, target: CheckTarget, handler: Handler, timeoutMs: number): Promise<CheckResult> {
  try {
    if (handler.exec) {
      const r = await runtime.exec(target.id, handler.exec.command, timeoutMs);
      if (r.timedOut) return { ok: false, message: `command timed out after ${timeoutMs / 1000}s` };
      return r.exitCode === 0 ? { ok: true } : { ok: false, message: `command exited with code ${r.exitCode}${r.output ? `: ${r.output}` : ''}` };
    }
    const ip = target.ip;
    if (ip === undefined) return { ok: false, message: 'the container has no IP address' };
    if (handler.httpGet) {
      const port = resolvePort(target, handler.httpGet.port);
      if (port === undefined) return { ok: false, message: `no port named ${String(handler.httpGet.port)}` };
      return await httpCheck(ip, port, handler.httpGet, timeoutMs);
    }
    if (handler.tcpSocket) {
      const port = resolvePort(target, handler.tcpSocket.port);
      if (port === undefined) return { ok: false, message: `no port named ${String(handler.tcpSocket.port)}` };
      return await tcpCheck(ip, port, timeoutMs);
    }
    if (handler.grpc) return await grpcCheck(ip, handler.grpc.port, handler.grpc.service, timeoutMs);
    return { ok: false, message: 'no handler' };
  } catch (err) {
    return { ok: false, message: messageOf(err) };
  }
}

function resolvePort(target: CheckTarget, port: number | string): number | undefined {
  if (typeof port === 'number') return port;
  return target.ports.find((p) => p.name === port)?.containerPort;
}

/** Kubernetes' rule: a status from 200 to 399 is success. The body is not read past what arrives. */
function httpCheck(ip: string, port: number, get: HttpGet, timeoutMs: number): Promise<CheckResult> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { 'User-Agent': 'berth-probe/1', Accept: '*/*' };
    for (const h of get.httpHeaders) headers[h.name] = h.value;
    const path = get.path.startsWith('/') ? get.path : `/${get.path}`;
    const req = http.get({ host: ip, port, path, headers, timeout: timeoutMs, agent: false }, (res) => {
      const code = res.statusCode ?? 0;
      res.resume();
      req.destroy();
      resolve(code >= 200 && code < 400 ? { ok: true } : { ok: false, message: `HTTP probe failed with statuscode: ${code}` });
    });
    req.on('timeout', () => {
      req.destroy();
      resolve({ ok: false, message: `Get "http://${ip}:${port}${path}": timeout after ${timeoutMs / 1000}s` });
    });
    req.on('error', (err) => resolve({ ok: false, message: `Get "http://${ip}:${port}${path}": ${err.message}` }));
  });
}

function tcpCheck(ip: string, port: number, timeoutMs: number): Promise<CheckResult> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: ip, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ ok: false, message: `dial tcp ${ip}:${port}: timeout after ${timeoutMs / 1000}s` });
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok: true });
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      resolve({ ok: false, message: `dial tcp ${ip}:${port}: ${err.message}` });
    });
  });
}

/** grpc.health.v1.HealthCheckRequest {service}: one length-prefixed protobuf message (field 1, a string). */
export function healthCheckRequest(service: string): Buffer {
  const s = Buffer.from(service, 'utf8');
  const body = s.length === 0 ? Buffer.alloc(0) : Buffer.concat([Buffer.from([0x0a]), varint(s.length), s]);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/** The status of a HealthCheckResponse frame: 1 is SERVING; 0 (unset) is UNKNOWN. */
export function healthCheckStatus(frame: Buffer): number | undefined {
  if (frame.length < 5 || frame[0] !== 0) return undefined;
  const len = frame.readUInt32BE(1);
  const msg = frame.subarray(5, 5 + len);
  let i = 0;
  let status = 0;
  while (i < msg.length) {
    const tag = msg[i++] ?? 0;
    if (tag === 0x08) {
      let v = 0;
      let shift = 0;
      while (i < msg.length) {
        const b = msg[i++] ?? 0;
        v |= (b & 0x7f) << shift;
        shift += 7;
        if ((b & 0x80) === 0) break;
      }
      status = v;
    } else {
      return undefined; // A field berth does not expect: not a HealthCheckResponse.
    }
  }
  return status;
}

function varint(n: number): Buffer {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v >>>= 7;
  }
  out.push(v);
  return Buffer.from(out);
}

const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

/** The standard gRPC health check (grpc.health.v1.Health/Check) over plain-text HTTP/2. */
function grpcCheck(ip: string, port: number, service: string, timeoutMs: number): Promise<CheckResult> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: CheckResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      client.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, message: `timeout: health rpc did not complete within ${timeoutMs / 1000}s` }), timeoutMs);
    const client = http2.connect(`http://${ip}:${port}`);
    client.on('error', (err) => finish({ ok: false, message: `failed to connect service "${ip}:${port}": ${err.message}` }));
    const req = client.request({ ':method': 'POST', ':path': '/grpc.health.v1.Health/Check', 'content-type': 'application/grpc', te: 'trailers' });
    const chunks: Buffer[] = [];
    let grpcStatus: string | undefined;
    req.on('response', (h) => {
      if (typeof h['grpc-status'] === 'string') grpcStatus = h['grpc-status'];
    });
    req.on('trailers', (t) => {
      if (typeof t['grpc-status'] === 'string') grpcStatus = t['grpc-status'];
    });
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', (err) => finish({ ok: false, message: `health rpc failed: ${err.message}` }));
    req.on('end', () => {
      if (grpcStatus !== undefined && grpcStatus !== '0') return finish({ ok: false, message: `health rpc failed with grpc-status ${grpcStatus}` });
      const status = healthCheckStatus(Buffer.concat(chunks));
      if (status === 1) return finish({ ok: true });
      finish({ ok: false, message: `service unhealthy (responded with "${status === undefined ? 'an unreadable answer' : (SERVING_STATUS[status] ?? String(status))}")` });
    });
    req.end(healthCheckRequest(service));
  });
}
