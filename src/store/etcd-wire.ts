// etcd's JSON gateway on the wire: the JSON it speaks (bytes in base64, int64 as strings, defaults
// left out), its errors, and its bodies and streams read within bounds. etcd-http.ts makes the calls.
import type http from 'node:http';
import { StringDecoder } from 'node:string_decoder';
import { ResponseTooLargeError, type RawKv } from './etcd-common.js';

/** The largest response body read (base64 makes a page of 1 MiB about 1.4 MiB): over it, a smaller page. */
const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

/** etcd's JSON of a key-value: bytes in base64, int64 as strings, defaults left out. */
export interface JsonKv {
  key?: string;
  value?: string;
  mod_revision?: string;
  create_revision?: string;
}
export interface JsonHeader {
  revision?: string;
}
export interface RangeResponse {
  header?: JsonHeader;
  kvs?: JsonKv[];
  more?: boolean;
  count?: string;
}
export interface WatchResponse {
  header?: JsonHeader;
  canceled?: boolean;
  compact_revision?: string;
  cancel_reason?: string;
  events?: { type?: string; kv?: JsonKv }[];
}

/** etcd's answer of an error (its HTTP status is not 200). */
export class EtcdHttpError extends Error {
  constructor(
    message: string,
    readonly grpcCode: number,
    readonly status: number | undefined,
  ) {
    super(message);
  }
}

export const JSON_HEADERS = { 'content-type': 'application/json' };
export const b64 = (s: string | Buffer): string => (typeof s === 'string' ? Buffer.from(s) : s).toString('base64');
export const bytes = (s: string | undefined): Buffer => Buffer.from(s ?? '', 'base64');
export const int = (s: string | undefined): number => Number(s ?? 0);
export const rawKv = (kv: JsonKv): RawKv => ({ key: bytes(kv.key), value: bytes(kv.value), modRevision: int(kv.mod_revision), createRevision: int(kv.create_revision) });

/** etcd's error body ({"error","message","code"}) as an Error with its message. */
export function errorOf(body: string, status: number | undefined): EtcdHttpError {
  try {
    const e = JSON.parse(body) as { message?: string; error?: string; code?: number };
    return new EtcdHttpError(e.message ?? e.error ?? `HTTP ${status ?? '?'}`, e.code ?? 0, status);
  } catch {
    return new EtcdHttpError(`HTTP ${status ?? '?'}: ${body.slice(0, 200)}`, 0, status);
  }
}

/** A response's body as text, refused (as too large, with its size against the limit) over MAX_RESPONSE_BYTES. */
export function readBody(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_RESPONSE_BYTES) {
        res.destroy();
        const declared = Number(res.headers['content-length'] ?? size);
        reject(new ResponseTooLargeError('ETOOLARGE', `etcd: a response larger than max (${declared} vs. ${MAX_RESPONSE_BYTES})`));
        return;
      }
      chunks.push(chunk);
    });
    res.on('end', () => resolve(Buffer.concat(chunks).toString()));
    res.on('error', reject);
  });
}

/** The newline-separated messages of a stream, as they complete; a message over `max` bytes is refused. */
export class LineReader {
  private rest = '';
  private readonly decoder = new StringDecoder('utf8');
  constructor(private readonly max: number) {}

  push(chunk: Buffer): string[] {
    const text = this.rest + this.decoder.write(chunk);
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    if (this.rest.length > this.max) throw new ResponseTooLargeError('ETOOLARGE', `etcd: a watch message larger than max (${this.rest.length} vs. ${this.max})`);
    return lines.filter((l) => l.trim() !== '');
  }
}
