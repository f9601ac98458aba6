import type { Closer, Entry, Lease, Store, StoreEvent, StoreLimits, Txn } from './store.js';
import { checkTxn, limitsFor } from './store.js';
import { BerthError } from '../errors.js';

interface Version {
  value: string | undefined; // undefined: deleted at this revision
  modRevision: number;
  createRevision: number;
}

interface Watcher {
  prefix: string;
  onEvent: (e: StoreEvent) => void;
}

class MemoryLease implements Lease {
  readonly keys = new Set<string>();
  private lost: (() => void)[] = [];
  constructor(readonly id: string, private readonly store: MemoryStore) {}
  onLost(cb: () => void): void {
    this.lost.push(cb);
  }
  async revoke(): Promise<void> {
    await this.store.commit({ del: [...this.keys] });
    this.keys.clear();
  }
  /** Simulate expiry: keys vanish and owners hear about it. */
  async expire(): Promise<void> {
    await this.revoke();
    for (const cb of this.lost) cb();
  }
}

/** The in-memory twin of the etcd store: same MVCC revisions, history and watch semantics. */
export class MemoryStore implements Store {
  readonly limits: StoreLimits;
  private rev = 1;
  private readonly history = new Map<string, Version[]>();
  private readonly watchers = new Set<Watcher>();
  private readonly events: { revision: number; event: StoreEvent }[] = [];
  private readonly leases = new Map<string, MemoryLease>();
  private nextLease = 1;

  /** `maxRequestBytes`: the --max-request-bytes of the etcd this twin stands for (default etcd's). */
  constructor(opts: { maxRequestBytes?: number } = {}) {
    this.limits = limitsFor(opts.maxRequestBytes);
  }

  async revision(): Promise<number> {
    return this.rev;
  }

  async get(key: string, opts: { revision?: number } = {}): Promise<Entry | undefined> {
    const v = this.versionAt(key, opts.revision ?? this.rev);
    return v?.value === undefined ? undefined : { key, value: v.value, modRevision: v.modRevision, createRevision: v.createRevision };
  }

  async list(prefix: string, opts: { revision?: number } = {}): Promise<{ entries: Entry[]; revision: number }> {
    const at = opts.revision ?? this.rev;
    if (at > this.rev) throw new BerthError('EFUTUREREV', `revision ${at} is in the future (current ${this.rev})`);
    const entries: Entry[] = [];
    for (const key of [...this.history.keys()].filter((k) => k.startsWith(prefix)).sort()) {
      const v = this.versionAt(key, at);
      if (v?.value !== undefined) entries.push({ key, value: v.value, modRevision: v.modRevision, createRevision: v.createRevision });
    }
    return { entries, revision: this.rev };
  }

  async commit(txn: Txn): Promise<{ ok: boolean; revision: number }> {
    const puts = txn.put ?? [];
    const dels = txn.del ?? [];
    checkTxn(txn, this.limits);
    for (const [key, expected] of Object.entries(txn.ifUnchanged ?? {})) {
      const v = this.versionAt(key, this.rev);
      const actual = v?.value === undefined ? 0 : v.modRevision;
      if (actual !== expected) return { ok: false, revision: this.rev };
    }
    const changed = puts.length > 0 || dels.some((k) => this.versionAt(k, this.rev)?.value !== undefined);
    if (!changed) return { ok: true, revision: this.rev };
    const rev = ++this.rev;
    const fired: StoreEvent[] = [];
    for (const p of puts) {
      const prev = this.versionAt(p.key, rev);
      const createRevision = prev?.value === undefined ? rev : prev.createRevision;
      this.append(p.key, { value: p.value, modRevision: rev, createRevision });
      if (p.lease) {
        const lease = this.leases.get(p.lease.id);
        if (!lease) throw new BerthError('ENOLEASE', `lease ${p.lease.id} does not exist`);
        lease.keys.add(p.key);
      }
      fired.push({ type: 'put', key: p.key, value: p.value, revision: rev });
    }
    for (const key of dels) {
      if (this.versionAt(key, rev)?.value === undefined) continue;
      this.append(key, { value: undefined, modRevision: rev, createRevision: 0 });
      fired.push({ type: 'delete', key, revision: rev });
    }
    for (const event of fired) this.events.push({ revision: rev, event });
    // Watchers hear about a commit after it returns, as with etcd.
    queueMicrotask(() => {
      for (const w of this.watchers) for (const e of fired) if (e.key.startsWith(w.prefix)) w.onEvent(e);
    });
    return { ok: true, revision: rev };
  }

  watch(prefix: string, fromRevision: number, onEvent: (e: StoreEvent) => void): Closer {
    const w: Watcher = { prefix, onEvent };
    const past = this.events.filter((e) => e.revision >= fromRevision && e.event.key.startsWith(prefix)).map((e) => e.event);
    queueMicrotask(() => {
      for (const e of past) onEvent(e);
      this.watchers.add(w);
    });
    return {
      close: async () => {
        this.watchers.delete(w);
      },
    };
  }

  async lease(_ttlSeconds: number): Promise<Lease> {
    const lease = new MemoryLease(String(this.nextLease++), this);
    this.leases.set(lease.id, lease);
    return lease;
  }

  /** Test hook: make a lease expire as if its owner died. */
  async expireLease(id: string): Promise<void> {
    await this.leases.get(id)?.expire();
    this.leases.delete(id);
  }

  async close(): Promise<void> {
    this.watchers.clear();
  }

  private append(key: string, v: Version): void {
    const versions = this.history.get(key) ?? [];
    versions.push(v);
    this.history.set(key, versions);
  }

  private versionAt(key: string, revision: number): Version | undefined {
    const versions = this.history.get(key);
    if (!versions) return undefined;
    for (let i = versions.length - 1; i >= 0; i--) {
      const v = versions[i];
      if (v && v.modRevision <= revision) return v;
    }
    return undefined;
  }
}
