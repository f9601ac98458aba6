// The Store on etcd v3 over etcd's own JSON gateway (the gRPC gateway every etcd 3.4+ serves on its
// client URLs: POST /v3/kv/range, /v3/kv/txn, /v3/watch, /v3/lease/…), with node:http alone. It is
// the node agent's client: etcd3 with grpc-js and protobufjs costs an agent about 9 MB of its 60
// (bench/agent-rss.ts); the control plane keeps etcd3 (etcd.ts), whose HTTP/2 carries a first sync's
// thousands of writes. Both pass one contract suite (test/integration/store/contract.test.ts).
import http from 'node:http';
import https from 'node:https';
import { BerthError, InvalidInputError } from '../errors.js';
import { timedEtcd } from '../metrics.js';
import type { Closer, Entry, Lease, LeaseOptions, Store, StoreEvent, StoreLimits, Txn } from './store.js';
import { CompactedError, DEFAULT_MAX_REQUEST_BYTES, checkTxn, limitsFor } from './store.js';
import { CLOSE_TIMEOUT_MS, CONNECT_TIMEOUT_MS, ResponseTooLargeError, connectError, connectFailure, keepLease, listPaged, prefixEnd, translate, withTimeout, type EtcdStoreOptions, type PageRequest, type RangePage, type RawKv } from './etcd-common.js';
import { EtcdHttpError, JSON_HEADERS, LineReader, b64, bytes, errorOf, int, rawKv, readBody, type JsonHeader, type RangeResponse, type WatchResponse } from './etcd-wire.js';

/** A call etcd has not answered in this long failed (a partitioned etcd must not hang a loop forever). */
const REQUEST_TIMEOUT_MS = 30_000;
/** The largest one message of a watch stream (an event of the largest record etcd takes, in base64). */
const MAX_WATCH_MESSAGE_BYTES = 16 * 1024 * 1024;
/** TCP keep-alive on a watch's connection: an etcd host gone without a word is noticed. */
const WATCH_KEEPALIVE_MS = 10_000;

/** An endpoint as `--etcd` names it: a URL, or host:port (https when TLS is configured). */
function endpointUrl(endpoint: string, tls: boolean): URL {
  try {
    return new URL(/^[a-z]+:\/\//i.test(endpoint) ? endpoint : `${tls ? 'https' : 'http'}://${endpoint}`);
  } catch {
    throw new InvalidInputError('EETCD', `the etcd endpoint "${endpoint}" is not a URL`, { hint: 'pass --etcd client URLs of etcd, such as http://10.0.0.5:2379' });
  }
}

/** The Store on etcd v3 over its JSON gateway: keys live under `<prefix>/`, revisions are etcd's own. */
export class EtcdHttpStore implements Store {
  readonly limits: StoreLimits;
  private readonly root: string;
  private readonly urls: URL[];
  private readonly agent: http.Agent;
  private readonly watchAgent: http.Agent;
  private current = 0;
  private token: string | undefined;
  private authenticating: Promise<void> | undefined;
  private closed = false;
  private readonly open = new Set<{ stop(): void }>();

  private constructor(
    prefix: string,
    private readonly endpoints: string[],
    private readonly opts: EtcdStoreOptions,
  ) {
    this.root = `${prefix.replace(/\/+$/, '')}/`;
    this.limits = limitsFor(opts.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES);
    this.urls = endpoints.map((e) => endpointUrl(e, opts.tls !== undefined));
    if (this.urls.length === 0) throw new BerthError('EETCD', 'no etcd endpoint given', { hint: 'pass --etcd with an etcd client URL' });
    const tls = opts.tls && { ca: opts.tls.ca, ...(opts.tls.cert && { cert: opts.tls.cert }), ...(opts.tls.key && { key: opts.tls.key }) };
    const secure = this.urls.some((u) => u.protocol === 'https:');
    this.agent = secure ? new https.Agent({ keepAlive: true, ...tls }) : new http.Agent({ keepAlive: true });
    // Watches hold their connection for as long as they run: a pool of their own, never queued behind calls.
    this.watchAgent = secure ? new https.Agent({ keepAlive: false, ...tls }) : new http.Agent({ keepAlive: false });
  }

  /** Connect and check that etcd answers, with a one-line error naming the fix when it does not. */
  static async connect(endpoints: string[], prefix = '/berth', opts: EtcdStoreOptions = {}): Promise<EtcdHttpStore> {
    const store = new EtcdHttpStore(prefix, endpoints, opts);
    try {
      await withTimeout(store.revision(), CONNECT_TIMEOUT_MS);
    } catch (thrown) {
      await store.close();
      const cause = thrown instanceof BerthError && thrown.cause !== undefined ? thrown.cause : thrown;
      if (cause instanceof EtcdHttpError && cause.status === 404) {
        throw new InvalidInputError('EETCDGATEWAY', `etcd at ${endpoints.join(',')} does not serve its JSON gateway (POST /v3/kv/range answered 404)`, {
          hint: "berth agent talks to etcd over it: run etcd with --enable-grpc-gateway (etcd's default), or pass --etcd a member that serves it",
          cause,
        });
      }
      const detail = cause instanceof Error ? cause.message : String(cause);
      throw connectError(endpoints, opts.tls !== undefined, connectFailure(detail, opts.tls !== undefined), cause);
    }
    return store;
  }

  async revision(): Promise<number> {
    const res = await this.call<RangeResponse>('/v3/kv/range', { key: b64(this.root), count_only: true }, 'get');
    return int(res.header?.revision);
  }

  async get(key: string, opts: { revision?: number } = {}): Promise<Entry | undefined> {
    const res = await this.call<RangeResponse>('/v3/kv/range', { key: b64(this.root + key), ...(opts.revision === undefined ? {} : { revision: String(opts.revision) }) }, 'get');
    const kv = res.kvs?.[0];
    return kv ? this.entry(rawKv(kv)) : undefined;
  }

  async list(prefix: string, opts: { revision?: number } = {}): Promise<{ entries: Entry[]; revision: number }> {
    const page = async (p: PageRequest): Promise<RangePage> => {
      const res = await this.call<RangeResponse>('/v3/kv/range', { key: b64(p.from), range_end: b64(p.end), limit: String(p.limit), ...(p.revision === undefined ? {} : { revision: String(p.revision) }) });
      return { kvs: (res.kvs ?? []).map(rawKv), more: res.more === true, revision: int(res.header?.revision) };
    };
    return listPaged(page, Buffer.from(this.root + prefix), opts.revision, this.opts, (kv) => this.entry(kv));
  }

  async changedSince(prefix: string, revision: number): Promise<{ count: number; changed: { key: string; modRevision: number }[] }> {
    const start = Buffer.from(this.root + prefix);
    const range = { key: b64(start), range_end: b64(prefixEnd(start)) };
    const counted = await this.call<RangeResponse>('/v3/kv/range', { ...range, count_only: true });
    // Keys only: a hand edit of many large records stays a small response.
    const res = await this.call<RangeResponse>('/v3/kv/range', { ...range, keys_only: true, min_mod_revision: String(revision + 1), revision: counted.header?.revision ?? '0' });
    return { count: int(counted.count), changed: (res.kvs ?? []).map((kv) => ({ key: this.strip(bytes(kv.key)), modRevision: int(kv.mod_revision) })) };
  }

  async commit(txn: Txn): Promise<{ ok: boolean; revision: number }> {
    // NOTE: etcd refuses a txn of more than --max-txn-ops (128 by default) operations, and a request
    // over --max-request-bytes; refused here first, with an error that says which.
    checkTxn(txn, this.limits);
    const body = {
      compare: Object.entries(txn.ifUnchanged ?? {}).map(([key, rev]) => ({ key: b64(this.root + key), target: 'MOD', result: 'EQUAL', mod_revision: String(rev) })),
      success: [
        ...(txn.put ?? []).map((p) => ({ request_put: { key: b64(this.root + p.key), value: b64(p.value), ...(p.lease ? { lease: p.lease.id } : {}) } })),
        ...(txn.del ?? []).map((key) => ({ request_delete_range: { key: b64(this.root + key) } })),
      ],
    };
    const res = await this.call<{ header?: JsonHeader; succeeded?: boolean }>('/v3/kv/txn', body, 'txn');
    return { ok: res.succeeded === true, revision: int(res.header?.revision) };
  }

  watch(prefix: string, fromRevision: number, onEvent: (e: StoreEvent) => void, onError?: (err: Error) => void): Closer {
    const start = Buffer.from(this.root + prefix);
    let req: http.ClientRequest | undefined;
    let done = false;
    const handle = { stop: () => finish() };
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      this.open.delete(handle);
      req?.destroy();
      if (err !== undefined && !this.closed) onError?.(err);
    };
    this.open.add(handle);
    const onMessage = (msg: { result?: WatchResponse; error?: { message?: string; grpc_code?: number } }): void => {
      if (msg.error !== undefined) return finish(translate(new Error(msg.error.message ?? 'the watch broke'), this.endpoints));
      const res = msg.result;
      if (res === undefined) return;
      if (res.canceled === true) {
        // etcd cancels a watch from a compacted revision with the compaction's revision.
        if (int(res.compact_revision) > 0) return finish(new CompactedError('ECOMPACTED', `etcd revision was compacted: watch from ${fromRevision}, compacted at ${res.compact_revision ?? ''}`, { hint: 're-read at the latest seal' }));
        return finish(new BerthError('EETCD', `etcd canceled the watch of ${prefix}: ${res.cancel_reason ?? 'no reason given'}`));
      }
      for (const ev of res.events ?? []) {
        if (done) return;
        const kv = ev.kv ?? {};
        const key = this.strip(bytes(kv.key));
        if (ev.type === 'DELETE') onEvent({ type: 'delete', key, revision: int(kv.mod_revision) });
        else onEvent({ type: 'put', key, value: bytes(kv.value).toString(), revision: int(kv.mod_revision) });
      }
    };
    const open = (headers: http.OutgoingHttpHeaders): void => {
      if (done) return;
      req = this.request('/v3/watch', headers, this.watchAgent, (res) => {
        if (res.statusCode !== 200) {
          void readBody(res).then((body) => finish(translate(errorOf(body, res.statusCode), this.endpoints)), (err: unknown) => finish(translate(err, this.endpoints)));
          return;
        }
        const lines = new LineReader(MAX_WATCH_MESSAGE_BYTES);
        res.on('data', (chunk: Buffer) => {
          try {
            for (const line of lines.push(chunk)) onMessage(JSON.parse(line) as Parameters<typeof onMessage>[0]);
          } catch (err) {
            finish(translate(err, this.endpoints));
          }
        });
        res.on('end', () => finish(translate(new Error('etcd ended the watch stream (unavailable)'), this.endpoints)));
        res.on('error', (err) => finish(translate(err, this.endpoints)));
      });
      req.on('socket', (s) => s.setKeepAlive(true, WATCH_KEEPALIVE_MS));
      req.on('error', (err) => finish(translate(err, this.endpoints)));
      req.end(JSON.stringify({ create_request: { key: b64(start), range_end: b64(prefixEnd(start)), start_revision: String(fromRevision) } }));
    };
    this.headers()
      .then(open)
      .catch((err: unknown) => finish(translate(err, this.endpoints)));
    return { close: async () => finish() };
  }

  async lease(ttlSeconds: number, opts: LeaseOptions = {}): Promise<Lease> {
    const granted = await this.call<{ ID?: string; error?: string }>('/v3/lease/grant', { TTL: String(ttlSeconds) }, 'lease');
    if (granted.ID === undefined || granted.error) throw new BerthError('EETCD', `etcd granted no lease: ${granted.error ?? 'no ID in its answer'}`);
    const id = granted.ID;
    const lost: (() => void)[] = [];
    // One renewal at a time, every renewMs (default: a third of the TTL, as etcd's own clients do).
    const renew = async (): Promise<boolean> => {
      const res = await this.call<{ result?: { TTL?: string } }>('/v3/lease/keepalive', { ID: id }, 'lease');
      return int(res.result?.TTL) > 0;
    };
    const keeper = keepLease(ttlSeconds, opts.renewMs ?? (ttlSeconds * 1000) / 3, renew, () => {
      this.open.delete(keeper);
      for (const cb of lost.splice(0)) cb();
    });
    this.open.add(keeper);
    return {
      id,
      onLost: (cb) => lost.push(cb),
      revoke: async () => {
        keeper.stop();
        this.open.delete(keeper);
        await withTimeout(this.call('/v3/lease/revoke', { ID: id }, 'lease'), CLOSE_TIMEOUT_MS).catch(() => undefined);
      },
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const h of [...this.open]) h.stop();
    this.agent.destroy();
    this.watchAgent.destroy();
  }

  private entry(kv: RawKv): Entry {
    return { key: this.strip(kv.key), value: kv.value.toString(), modRevision: kv.modRevision, createRevision: kv.createRevision };
  }

  private strip(key: Buffer): string {
    return key.toString().slice(this.root.length);
  }

  /** One call, timed for /metrics, with etcd's errors translated; an expired auth token is renewed once. */
  private async call<T>(path: string, body: unknown, operation = 'range'): Promise<T> {
    try {
      return await timedEtcd(operation, async () => {
        try {
          return await this.post<T>(path, body);
        } catch (err) {
          if (!(err instanceof EtcdHttpError) || this.opts.auth === undefined || !/invalid auth token/.test(err.message)) throw err;
          this.token = undefined;
          return await this.post<T>(path, body);
        }
      });
    } catch (err) {
      throw translate(err, this.endpoints, err instanceof ResponseTooLargeError);
    }
  }

  /** POST `body` as JSON with the call's headers. */
  private async post<T>(path: string, body: unknown): Promise<T> {
    const payload = JSON.stringify(body);
    const headers = await this.headers();
    return this.across(() => this.once<T>(path, payload, headers));
  }

  /**
   * `send` to the current endpoint; one that cannot be reached hands over to the next. A kept-alive
   * connection that was reset as the call went out on it (closed meanwhile by etcd or a proxy between,
   * before any answer) is sent again, once, on a new connection.
   */
  private async across<T>(send: () => Promise<T>): Promise<T> {
    let resent = false;
    for (let tried = 1; ; ) {
      try {
        return await send();
      } catch (thrown) {
        if (thrown instanceof StaleConnectionError && !resent && !this.closed) {
          resent = true;
          continue;
        }
        const err = thrown instanceof StaleConnectionError ? thrown.original : thrown;
        if (this.closed || !unreached(err) || tried >= this.urls.length) throw err;
        tried++;
        this.current = (this.current + 1) % this.urls.length;
      }
    }
  }

  private once<T>(path: string, payload: string, headers: http.OutgoingHttpHeaders): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.closed) return reject(new Error('the store is closed'));
      const req = this.request(path, headers, this.agent, (res) => {
        readBody(res).then((text) => {
          if (res.statusCode !== 200) return reject(errorOf(text, res.statusCode));
          // A stream's answer (lease keepalive) is its first message.
          const first = text.split('\n', 1)[0] ?? '';
          try {
            resolve(JSON.parse(first) as T);
          } catch {
            reject(new Error(`etcd answered ${path} with what is not JSON: ${first.slice(0, 100)}`));
          }
        }, reject);
      });
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
      let answered = false;
      req.on('response', () => (answered = true));
      req.on('error', (err: NodeJS.ErrnoException) => {
        const stale = req.reusedSocket && !answered && (err.code === 'ECONNRESET' || err.code === 'EPIPE');
        reject(stale ? new StaleConnectionError(err) : err);
      });
      req.end(payload);
    });
  }

  private request(path: string, headers: http.OutgoingHttpHeaders, agent: http.Agent, onResponse: (res: http.IncomingMessage) => void): http.ClientRequest {
    const url = this.urls[this.current] ?? this.urls[0];
    if (url === undefined) throw new BerthError('EETCD', 'no etcd endpoint given', { hint: 'pass --etcd with an etcd client URL' });
    const lib = url.protocol === 'https:' ? https : http;
    return lib.request({ protocol: url.protocol, hostname: url.hostname, port: url.port, path, method: 'POST', agent, headers }, onResponse);
  }

  /** The headers of a call: JSON, and with auth the token (authenticated once, again when etcd says it expired). */
  private async headers(): Promise<http.OutgoingHttpHeaders> {
    const auth = this.opts.auth;
    if (auth !== undefined && this.token === undefined) {
      this.authenticating ??= this.authenticate(auth).finally(() => (this.authenticating = undefined));
      await this.authenticating;
    }
    return { ...JSON_HEADERS, ...(this.token === undefined ? {} : { authorization: this.token }) };
  }

  private async authenticate(auth: { username: string; password: string }): Promise<void> {
    const payload = JSON.stringify({ name: auth.username, password: auth.password });
    const res = await this.across(() => this.once<{ token?: string }>('/v3/auth/authenticate', payload, JSON_HEADERS));
    if (res.token === undefined) throw new BerthError('EETCD', 'etcd answered an authentication without a token');
    this.token = res.token;
  }
}

/** A call's kept-alive connection reset before any answer: it is sent again on a new one. */
class StaleConnectionError extends Error {
  constructor(readonly original: Error) {
    super(original.message);
  }
}

/** Whether a call failed before etcd could have acted on it (another endpoint may answer). */
function unreached(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
}
