import { ConsecutiveBreaker, circuitBreaker, handleWhen, retry } from 'cockatiel';
import { Etcd3, EtcdAuthenticationFailedError, GRPCResourceExhastedError, GRPCUnauthenticatedError, Range, isRecoverableError, type IKeyValue, type Lease as EtcdLease, type Watcher } from 'etcd3';
import { BerthError } from '../errors.js';
import { timedEtcd } from '../metrics.js';
import type { Closer, Entry, Lease, LeaseOptions, Store, StoreEvent, StoreLimits, Txn } from './store.js';
import { CompactedError, DEFAULT_MAX_REQUEST_BYTES, checkTxn, limitsFor } from './store.js';
import { CLOSE_TIMEOUT_MS, CONNECT_TIMEOUT_MS, connectError, connectFailure, keepLease, listPaged, translate, withTimeout, type EtcdStoreOptions, type PageRequest, type RangePage, type RawKv } from './etcd-common.js';

export type { EtcdStoreOptions } from './etcd-common.js';

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

/** Why a first call failed, judged by what etcd3 threw (the store's calls wrap it: translate). */
function etcd3ConnectError(endpoints: string[], opts: EtcdStoreOptions, thrown: unknown): BerthError {
  const cause = thrown instanceof BerthError && thrown.cause !== undefined ? thrown.cause : thrown;
  const detail = cause instanceof Error ? cause.message : String(cause);
  const failure = cause instanceof EtcdAuthenticationFailedError ? 'auth-refused' : cause instanceof GRPCUnauthenticatedError ? 'auth-missing' : connectFailure(detail, opts.tls !== undefined);
  return connectError(endpoints, opts.tls !== undefined, failure, cause);
}

/** The Store on etcd v3: keys live under `<prefix>/`, revisions are etcd's own. */
export class EtcdStore implements Store {
  readonly limits: StoreLimits;
  private readonly root: string;

  private constructor(
    private readonly client: Etcd3,
    prefix: string,
    private readonly endpoints: string[],
    private readonly opts: EtcdStoreOptions,
  ) {
    this.root = `${prefix.replace(/\/+$/, '')}/`;
    this.limits = limitsFor(opts.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES);
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
      throw etcd3ConnectError(endpoints, opts, cause);
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
    return kv ? this.entry(rawKv(kv)) : undefined;
  }

  async list(prefix: string, opts: { revision?: number } = {}): Promise<{ entries: Entry[]; revision: number }> {
    const page = async (p: PageRequest): Promise<RangePage> => {
      const res = await this.call(() => this.client.kv.range({ key: p.from, range_end: p.end, limit: p.limit, ...(p.revision === undefined ? {} : { revision: p.revision }) }));
      return { kvs: res.kvs.map(rawKv), more: res.more, revision: Number(res.header.revision) };
    };
    return listPaged(page, Buffer.from(this.root + prefix), opts.revision, this.opts, (kv) => this.entry(kv));
  }

  async changedSince(prefix: string, revision: number): Promise<{ count: number; changed: { key: string; modRevision: number }[] }> {
    const range = Range.prefix(this.root + prefix);
    const counted = await this.call(() => this.client.kv.range({ key: range.start, range_end: range.end, count_only: true }));
    const at = counted.header.revision;
    // Keys only: a hand edit of many large records stays a small response.
    const res = await this.call(() => this.client.kv.range({ key: range.start, range_end: range.end, keys_only: true, min_mod_revision: revision + 1, revision: at }));
    return { count: Number(counted.count), changed: res.kvs.map((kv) => ({ key: this.strip(kv.key), modRevision: Number(kv.mod_revision) })) };
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
    const renewMs = opts.renewMs;
    const lease: EtcdLease = this.client.lease(ttlSeconds, { autoKeepAlive: renewMs === undefined });
    const id = await this.call(() => lease.grant(), 'lease');
    const lost: (() => void)[] = [];
    const tellLost = (): void => {
      for (const cb of lost.splice(0)) cb();
    };
    // A TTL after the last renewal etcd answered, the lease is given up (keepLease); etcd3 says 'lost'
    // itself when etcd answered that the lease is gone.
    const giveUp = (): void => {
      if (!lease.revoked()) lease.release();
      tellLost();
    };
    const keeper = renewMs === undefined ? undefined : keepLease(ttlSeconds, renewMs, async () => (await lease.keepaliveOnce(), !lease.revoked()), giveUp);
    lease.on('lost', () => {
      keeper?.stop();
      tellLost();
    });
    return {
      id,
      onLost: (cb) => lost.push(cb),
      revoke: async () => {
        keeper?.stop();
        await withTimeout(this.call(() => lease.revoke(), 'lease'), CLOSE_TIMEOUT_MS).catch(() => undefined);
      },
    };
  }

  async close(): Promise<void> {
    this.client.close();
  }

  private entry(kv: RawKv): Entry {
    return { key: this.strip(kv.key), value: kv.value.toString(), modRevision: kv.modRevision, createRevision: kv.createRevision };
  }

  private strip(key: Buffer): string {
    return key.toString().slice(this.root.length);
  }

  private async call<T>(fn: () => Promise<T>, operation = 'range'): Promise<T> {
    try {
      return await timedEtcd(operation, fn);
    } catch (err) {
      throw translate(err, this.endpoints, err instanceof GRPCResourceExhastedError);
    }
  }
}

const rawKv = (kv: IKeyValue): RawKv => ({ key: kv.key, value: kv.value, modRevision: Number(kv.mod_revision), createRevision: Number(kv.create_revision) });
