import { ConsecutiveBreaker, circuitBreaker, handleWhen, retry } from 'cockatiel';
import { Etcd3, EtcdAuthenticationFailedError, GRPCResourceExhastedError, GRPCUnauthenticatedError, Range, isRecoverableError, type IKeyValue, type Lease as EtcdLease, type Watcher } from 'etcd3';
import { BerthError, InvalidInputError, UnavailableError } from '../errors.js';
import { timedEtcd } from '../metrics.js';
import type { Closer, Entry, Lease, LeaseOptions, Store, StoreEvent, StoreLimits, Txn } from './store.js';
import { CompactedError, DEFAULT_MAX_REQUEST_BYTES, checkTxn, limitsFor } from './store.js';


/** How an EtcdStore talks to its etcd. */
export interface EtcdStoreOptions {
  /** The etcd's --max-request-bytes (default 1.5 MiB, etcd's own default): txns are kept well under it. */
  maxRequestBytes?: number;
  /** Most keys one list page asks for (default 1,000). */
  pageKeys?: number;
  /** Bytes a list page aims at (default 1 MiB), well under the client's 4 MiB limit on one response. */
  pageBytes?: number;
  /** TLS to etcd (https:// endpoints): the CA that signed etcd's certificate, and a client certificate and key if etcd asks for one. */
  tls?: { ca: Buffer; cert?: Buffer; key?: Buffer };
  /** etcd's user/password auth. */
  auth?: { username: string; password: string };
}

const CONNECT_TIMEOUT_MS = 5_000;
/** Bound on closing a watch or revoking a lease: a stop must not wait on an etcd that went away. */
const CLOSE_TIMEOUT_MS = 1_000;
const PAGE_KEYS = 1_000;
const PAGE_BYTES = 1024 * 1024;
const FIRST_PAGE_KEYS = 100;
/** Pages of a list at the latest revision re-read from the start when a compaction overtook them. */
const LIST_RESTARTS = 3;

/**
 * Only an etcd that cannot be reached opens the client's circuit breaker or is retried by it. etcd3's
 * default counts every "recoverable" gRPC error, RESOURCE_EXHAUSTED (a request or response over a
 * size limit) among them: one oversized call was sent four times and then opened the breaker for
 * every call of the process for 5 s, again and again as the caller retried.
 */
const isUnreachable = (err: Error): boolean => isRecoverableError(err) && !(err instanceof GRPCResourceExhastedError);
const faultHandling = {
  host: () => circuitBreaker(handleWhen(isUnreachable), { halfOpenAfter: 5_000, breaker: new ConsecutiveBreaker(3) }),
  global: retry(handleWhen(isUnreachable), { maxAttempts: 3 }),
};

/**
 * Why a first call failed, in words that name the flag to fix: a refused password, a refused or
 * unverifiable certificate, or no answer at all.
 */
function connectError(endpoints: string[], opts: EtcdStoreOptions, thrown: unknown): BerthError {
  const where = endpoints.join(',');
  // The store's calls wrap etcd3's errors (translate): judge by what etcd3 threw.
  const cause = thrown instanceof BerthError && thrown.cause !== undefined ? thrown.cause : thrown;
  const detail = cause instanceof Error ? cause.message : String(cause);
  if (cause instanceof EtcdAuthenticationFailedError) {
    return new InvalidInputError('EETCDAUTH', `etcd at ${where} refused the user name or password`, { hint: 'check --etcd-user and the password in --etcd-password-file', cause });
  }
  if (cause instanceof GRPCUnauthenticatedError || /user name is empty|token is not provided/.test(detail)) {
    return new InvalidInputError('EETCDAUTH', `etcd at ${where} asks for a user and password`, { hint: 'pass --etcd-user and --etcd-password-file', cause });
  }
  if (opts.tls !== undefined && /certificate|ssl|tls|handshake/i.test(detail)) {
    return new InvalidInputError('EETCDTLS', `the TLS handshake with etcd at ${where} failed (${firstLine(detail)})`, {
      hint: "check that --etcd-ca is the CA that signed etcd's certificate, and --etcd-cert/--etcd-key a client pair that etcd's --trusted-ca-file trusts",
      cause,
    });
  }
  const plain = opts.tls === undefined && endpoints.some((e) => e.startsWith('https:'));
  return new UnavailableError('EETCDUNREACHABLE', `cannot reach etcd at ${where}`, {
    hint: plain ? "pass --etcd-ca with the CA of etcd's certificate (and --etcd-cert/--etcd-key if etcd asks for a client certificate)" : 'start etcd there, or leave out --etcd to let `berth up` run its own',
    cause,
  });
}

const firstLine = (text: string): string => text.split('\n')[0]?.slice(0, 200) ?? '';

/** The Store on etcd v3: keys live under `<prefix>/`, revisions are etcd's own. */
export class EtcdStore implements Store {
  readonly limits: StoreLimits;
  private readonly root: string;
  private readonly pageKeys: number;
  private readonly pageBytes: number;

  private constructor(
    private readonly client: Etcd3,
    prefix: string,
    private readonly endpoints: string[],
    opts: EtcdStoreOptions,
  ) {
    this.root = `${prefix.replace(/\/+$/, '')}/`;
    this.limits = limitsFor(opts.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES);
    this.pageKeys = Math.max(1, opts.pageKeys ?? PAGE_KEYS);
    this.pageBytes = Math.max(1, opts.pageBytes ?? PAGE_BYTES);
  }

  /** Connect and check that etcd answers, with a one-line error naming the fix when it does not. */
  static async connect(endpoints: string[], prefix = '/berth', opts: EtcdStoreOptions = {}): Promise<EtcdStore> {
    const { tls, auth } = opts;
    const credentials = tls && { rootCertificate: tls.ca, ...(tls.key && { privateKey: tls.key }), ...(tls.cert && { certChain: tls.cert }) };
    const client = new Etcd3({ hosts: endpoints, dialTimeout: CONNECT_TIMEOUT_MS, faultHandling, ...(credentials && { credentials }), ...(auth && { auth }) });
    const store = new EtcdStore(client, prefix, endpoints, opts);
    try {
      await withTimeout(store.revision(), CONNECT_TIMEOUT_MS);
    } catch (cause) {
      client.close();
      throw connectError(endpoints, opts, cause);
    }
    return store;
  }

  async revision(): Promise<number> {
    const res = await this.call(() => this.client.get(`${this.root}`).exec(), 'get');
    return Number(res.header.revision);
  }

  async get(key: string, opts: { revision?: number } = {}): Promise<Entry | undefined> {
    const builder = this.client.get(this.root + key);
    if (opts.revision !== undefined) builder.revision(opts.revision);
    const res = await this.call(() => builder.exec(), 'get');
    const kv = res.kvs[0];
    return kv ? this.entry(kv) : undefined;
  }

  async list(prefix: string, opts: { revision?: number } = {}): Promise<{ entries: Entry[]; revision: number }> {
    for (let restart = 0; ; restart++) {
      try {
        return await this.listPages(prefix, opts.revision);
      } catch (err) {
        // A list at the latest revision that a compaction overtook between its pages: read it again.
        if (!(err instanceof PagesCompactedError) || restart >= LIST_RESTARTS) throw err instanceof PagesCompactedError ? err.compacted : err;
      }
    }
  }

  async changedSince(prefix: string, revision: number): Promise<{ count: number; changed: { key: string; modRevision: number }[] }> {
    const range = Range.prefix(this.root + prefix);
    const counted = await this.call(() => this.client.kv.range({ key: range.start, range_end: range.end, count_only: true }));
    const at = counted.header.revision;
    // Keys only: a hand edit of many large records stays a small response.
    const res = await this.call(() => this.client.kv.range({ key: range.start, range_end: range.end, keys_only: true, min_mod_revision: revision + 1, revision: at }));
    return { count: Number(counted.count), changed: res.kvs.map((kv) => ({ key: this.strip(kv.key), modRevision: Number(kv.mod_revision) })) };
  }

  /**
   * Page through `prefix` in key order: each page continues after the last key of the one before,
   * all at the revision of the first page (or `revision`), so the pages are one snapshot.
   * NOTE: grpc-js refuses a response over 4 MiB, and etcd has no byte limit on a range: the page's
   * key count follows the largest record seen so far, and is halved when a response was refused.
   */
  private async listPages(prefix: string, revision: number | undefined): Promise<{ entries: Entry[]; revision: number }> {
    const range = Range.prefix(this.root + prefix);
    const entries: Entry[] = [];
    let at = revision;
    let headerRevision: number | undefined;
    let from = range.start;
    // A first page small enough that large records (ConfigMaps) cannot make it huge; then by bytes.
    let limit = Math.min(this.pageKeys, FIRST_PAGE_KEYS);
    let largest = 0;
    for (;;) {
      let res;
      try {
        const page = { key: from, range_end: range.end, limit, ...(at === undefined ? {} : { revision: at }) };
        res = await this.call(() => this.client.kv.range(page));
      } catch (err) {
        if (err instanceof ResponseTooLargeError && limit > 1) {
          limit = smallerPage(limit, err);
          continue;
        }
        if (err instanceof CompactedError && revision === undefined && at !== undefined) throw new PagesCompactedError(err);
        throw err;
      }
      headerRevision ??= Number(res.header.revision);
      at ??= headerRevision;
      for (const kv of res.kvs) {
        entries.push(this.entry(kv));
        largest = Math.max(largest, kv.key.length + kv.value.length);
      }
      const last = res.kvs.at(-1);
      if (!res.more || last === undefined) return { entries, revision: headerRevision };
      from = Buffer.concat([last.key, Buffer.from([0])]);
      limit = Math.max(1, Math.min(this.pageKeys, Math.floor(this.pageBytes / Math.max(largest, 1))));
    }
  }

  async commit(txn: Txn): Promise<{ ok: boolean; revision: number }> {
    const puts = txn.put ?? [];
    const dels = txn.del ?? [];
    // NOTE: etcd refuses a txn of more than --max-txn-ops (128 by default) operations, and a request
    // over --max-request-bytes; refused here first, with an error that says which.
    checkTxn(txn, this.limits);
    const res = await this.call(() =>
      this.client.kv.txn({
        compare: Object.entries(txn.ifUnchanged ?? {}).map(([key, rev]) => ({
          key: Buffer.from(this.root + key),
          target: 'Mod',
          result: 'Equal',
          mod_revision: String(rev),
        })),
        success: [
          ...puts.map((p) => ({
            request_put: { key: Buffer.from(this.root + p.key), value: Buffer.from(p.value), ...(p.lease ? { lease: p.lease.id } : {}) },
          })),
          ...dels.map((key) => ({ request_delete_range: { key: Buffer.from(this.root + key) } })),
        ],
        failure: [],
      }),
      'txn',
    );
    return { ok: res.succeeded, revision: Number(res.header.revision) };
  }

  watch(prefix: string, fromRevision: number, onEvent: (e: StoreEvent) => void, onError?: (err: Error) => void): Closer {
    let watcher: Watcher | undefined;
    let closed = false;
    const ready = this.client
      .watch()
      .prefix(this.root + prefix)
      .startRevision(String(fromRevision))
      .create()
      .then((w) => {
        watcher = w;
        if (closed) return w.cancel();
        w.on('put', (kv) => onEvent({ type: 'put', key: this.strip(kv.key), value: kv.value.toString(), revision: Number(kv.mod_revision) }));
        w.on('delete', (kv) => onEvent({ type: 'delete', key: this.strip(kv.key), revision: Number(kv.mod_revision) }));
        w.on('error', (err) => void this.watchError(err, prefix, fromRevision).then((e) => onError?.(e)));
      })
      .catch((err: unknown) => this.watchError(err, prefix, fromRevision).then((e) => onError?.(e)));
    return {
      close: async () => {
        closed = true;
        // NOTE: with etcd gone, etcd3 keeps re-creating the watch and neither promise settles.
        await withTimeout(ready, CLOSE_TIMEOUT_MS).catch(() => undefined);
        if (watcher) await withTimeout(watcher.cancel(), CLOSE_TIMEOUT_MS).catch(() => undefined);
      },
    };
  }

  /**
   * What broke a watch. NOTE: etcd cancels a watch from a compacted revision with an empty reason
   * (etcd3 says only "Watcher canceled: "); a one-key read at that revision tells a compaction apart,
   * so the owner gets a CompactedError, as from a read.
   */
  private async watchError(err: unknown, prefix: string, fromRevision: number): Promise<Error> {
    const error = translate(err, this.endpoints);
    if (!/Watcher canceled/.test(error.message)) return error;
    try {
      await this.client.kv.range({ key: Buffer.from(this.root + prefix), revision: fromRevision, limit: 1 });
    } catch (probe) {
      const cause = translate(probe, this.endpoints);
      if (cause instanceof CompactedError) return cause;
    }
    return error;
  }

  async lease(ttlSeconds: number, opts: LeaseOptions = {}): Promise<Lease> {
    // etcd3 renews every TTL/3 on a stream of its own; another period is kept here, one renewal at a time.
    const own = opts.renewMs !== undefined;
    const lease: EtcdLease = this.client.lease(ttlSeconds, { autoKeepAlive: !own });
    const id = await this.call(() => lease.grant(), 'lease');
    const lost: (() => void)[] = [];
    let timer: NodeJS.Timeout | undefined;
    const tellLost = (): void => {
      clearTimeout(timer);
      clearTimeout(expiry);
      for (const cb of lost.splice(0)) cb();
    };
    lease.on('lost', tellLost);
    let expiry: NodeJS.Timeout | undefined;
    if (own) {
      // A TTL after the last renewal etcd answered, the lease is gone whatever a renewal still in
      // flight does: a partitioned holder's call may hang far longer than the TTL, and what it holds
      // (a node, a leadership) must be given up on time.
      const expireByClock = (): void => {
        clearTimeout(expiry);
        expiry = setTimeout(() => {
          if (lease.revoked()) return;
          lease.release();
          tellLost();
        }, ttlSeconds * 1000);
        expiry.unref();
      };
      expireByClock();
      const renew = async (): Promise<void> => {
        try {
          await lease.keepaliveOnce();
          if (!lease.revoked()) expireByClock();
        } catch {
          // etcd3 says 'lost' itself when etcd answered that the lease is gone; an unanswered renewal is retried.
        }
        if (!lease.revoked()) schedule();
      };
      const schedule = (): void => {
        timer = setTimeout(() => void renew(), opts.renewMs);
        timer.unref();
      };
      schedule();
    }
    return {
      id,
      onLost: (cb) => lost.push(cb),
      revoke: async () => {
        clearTimeout(timer);
        clearTimeout(expiry);
        await withTimeout(this.call(() => lease.revoke(), 'lease'), CLOSE_TIMEOUT_MS).catch(() => undefined);
      },
    };
  }

  async close(): Promise<void> {
    this.client.close();
  }

  private entry(kv: IKeyValue): Entry {
    return {
      key: this.strip(kv.key),
      value: kv.value.toString(),
      modRevision: Number(kv.mod_revision),
      createRevision: Number(kv.create_revision),
    };
  }

  private strip(key: Buffer): string {
    return key.toString().slice(this.root.length);
  }

  private async call<T>(fn: () => Promise<T>, operation = 'range'): Promise<T> {
    try {
      return await timedEtcd(operation, fn);
    } catch (err) {
      throw translate(err, this.endpoints);
    }
  }
}

/** A response over the client's size limit (grpc-js: 4 MiB); a smaller page will do. */
class ResponseTooLargeError extends BerthError {}

/** A page's key count after `err` refused one of `limit` keys: scaled by what the limit was over, else halved. */
function smallerPage(limit: number, err: Error): number {
  const m = /\((\d+) vs\.? (\d+)\)/.exec(err.message);
  const [got, max] = [Number(m?.[1]), Number(m?.[2])];
  const scaled = got > 0 && max > 0 ? Math.floor((limit * max) / got / 2) : Math.floor(limit / 2);
  return Math.max(1, Math.min(scaled, limit - 1));
}

/** Internal: a later page of a list at the latest revision was compacted away. */
class PagesCompactedError extends Error {
  constructor(readonly compacted: CompactedError) {
    super(compacted.message);
  }
}

/** Foreign errors stop here: compaction, unreachability and size limits become berth errors. */
function translate(err: unknown, endpoints?: string[]): Error {
  if (err instanceof BerthError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof GRPCResourceExhastedError || /larger than max|request is too large/i.test(message)) {
    return new ResponseTooLargeError('ETOOLARGE', `etcd: a request or response over the size limit: ${message}`, {
      hint: `berth keeps each request under 90 % of etcd's default --max-request-bytes (${DEFAULT_MAX_REQUEST_BYTES} bytes) and pages lists: run etcd with at least that --max-request-bytes`,
      cause: err,
    });
  }
  if (/compacted/i.test(message)) {
    return new CompactedError('ECOMPACTED', `etcd revision was compacted: ${message}`, { hint: 're-read at the latest seal', cause: err });
  }
  if (/unavailable|ECONNREFUSED|deadline|No connection/i.test(message)) {
    return new UnavailableError('EETCDUNREACHABLE', `cannot reach etcd${endpoints ? ` at ${endpoints.join(',')}` : ''}: ${message}`, {
      hint: 'check that etcd is running',
      cause: err,
    });
  }
  return new BerthError('EETCD', `etcd: ${message}`, { cause: err });
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}
