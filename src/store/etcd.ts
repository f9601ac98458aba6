import { Etcd3, type IKeyValue, type IRangeResponse, type Lease as EtcdLease, type Watcher } from 'etcd3';
import { BerthError, UnavailableError } from '../errors.js';
import type { Closer, Entry, Lease, Store, StoreEvent, Txn } from './store.js';
import { MAX_TXN_OPS } from './store.js';

/** A read at a revision that etcd has compacted away; re-read at the latest seal. */
export class CompactedError extends BerthError {}

const CONNECT_TIMEOUT_MS = 5_000;
/** Bound on closing a watch or revoking a lease: a stop must not wait on an etcd that went away. */
const CLOSE_TIMEOUT_MS = 1_000;

/** The Store on etcd v3: keys live under `<prefix>/`, revisions are etcd's own. */
export class EtcdStore implements Store {
  private readonly root: string;

  private constructor(
    private readonly client: Etcd3,
    prefix: string,
    private readonly endpoints: string[],
  ) {
    this.root = `${prefix.replace(/\/+$/, '')}/`;
  }

  /** Connect and check that etcd answers, with a one-line error naming the fix when it does not. */
  static async connect(endpoints: string[], prefix = '/berth'): Promise<EtcdStore> {
    const client = new Etcd3({ hosts: endpoints, dialTimeout: CONNECT_TIMEOUT_MS });
    const store = new EtcdStore(client, prefix, endpoints);
    try {
      await withTimeout(store.revision(), CONNECT_TIMEOUT_MS);
    } catch (cause) {
      client.close();
      throw new UnavailableError('EETCDUNREACHABLE', `cannot reach etcd at ${endpoints.join(',')}`, {
        hint: 'start etcd there, or leave out --etcd to let `berth up` run its own',
        cause,
      });
    }
    return store;
  }

  async revision(): Promise<number> {
    const res = await this.call(() => this.client.get(`${this.root}`).exec());
    return Number(res.header.revision);
  }

  async get(key: string, opts: { revision?: number } = {}): Promise<Entry | undefined> {
    const builder = this.client.get(this.root + key);
    if (opts.revision !== undefined) builder.revision(opts.revision);
    const res = await this.call(() => builder.exec());
    const kv = res.kvs[0];
    return kv ? this.entry(kv) : undefined;
  }

  async list(prefix: string, opts: { revision?: number } = {}): Promise<{ entries: Entry[]; revision: number }> {
    const builder = this.client.getAll().prefix(this.root + prefix).sort('Key', 'Ascend');
    if (opts.revision !== undefined) builder.revision(opts.revision);
    const res: IRangeResponse = await this.call(() => builder.exec());
    return { entries: res.kvs.map((kv) => this.entry(kv)), revision: Number(res.header.revision) };
  }

  async commit(txn: Txn): Promise<{ ok: boolean; revision: number }> {
    const puts = txn.put ?? [];
    const dels = txn.del ?? [];
    // NOTE: etcd's --max-txn-ops (128 by default) fails larger txns with a gRPC InvalidArgument.
    if (puts.length + dels.length > MAX_TXN_OPS) {
      throw new BerthError('ETXNTOOBIG', `a transaction of ${puts.length + dels.length} operations exceeds ${MAX_TXN_OPS}`);
    }
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
        w.on('error', (err) => onError?.(translate(err)));
      })
      .catch((err: unknown) => onError?.(translate(err)));
    return {
      close: async () => {
        closed = true;
        // NOTE: with etcd gone, etcd3 keeps re-creating the watch and neither promise settles.
        await withTimeout(ready, CLOSE_TIMEOUT_MS).catch(() => undefined);
        if (watcher) await withTimeout(watcher.cancel(), CLOSE_TIMEOUT_MS).catch(() => undefined);
      },
    };
  }

  async lease(ttlSeconds: number): Promise<Lease> {
    const lease: EtcdLease = this.client.lease(ttlSeconds, { autoKeepAlive: true });
    const id = await this.call(() => lease.grant());
    const lost: (() => void)[] = [];
    lease.on('lost', () => {
      for (const cb of lost) cb();
    });
    return {
      id,
      onLost: (cb) => lost.push(cb),
      revoke: async () => {
        await withTimeout(this.call(() => lease.revoke()), CLOSE_TIMEOUT_MS).catch(() => undefined);
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

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw translate(err, this.endpoints);
    }
  }
}

/** Foreign errors stop here: compaction and unreachability become berth errors. */
function translate(err: unknown, endpoints?: string[]): Error {
  if (err instanceof BerthError) return err;
  const message = err instanceof Error ? err.message : String(err);
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
