import type { Closer, Entry, Lease, LeaseOptions, Store, StoreEvent, StoreLimits, Txn } from './store.js';
import { CompactedError, checkTxn, limitsFor } from './store.js';
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
  constructor(readonly id: string, private readonly drop: () => void) {}
  onLost(cb: () => void): void {
    this.lost.push(cb);
  }
  async revoke(): Promise<void> {
    this.drop();
  }
  /** Its owner hears that the lease is gone. */
  tellLost(): void {
    for (const cb of this.lost) cb();
  }
}

/**
 * The in-memory twin of the etcd store, for unit tests: the same MVCC revisions, history, watch,
 * lease, compaction and size-limit semantics (test/integration/store/contract.test.ts runs one
 * suite on both). What only happens to etcd from outside — a compaction, a lease expiring because
 * its owner stopped keeping it alive — is done here by `compact` and `expireLease`.
 */
export class MemoryStore implements Store {
  readonly limits: StoreLimits;
  private rev = 1;
  private compacted = 0;
  private readonly history = new Map<string, Version[]>();
  private readonly watchers = new Set<Watcher>();
  private events: { revision: number; event: StoreEvent }[] = [];
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
    const at = this.readable(opts.revision);
    const v = this.versionAt(key, at);
    return v?.value === undefined ? undefined : { key, value: v.value, modRevision: v.modRevision, createRevision: v.createRevision };
  }

  async list(prefix: string, opts: { revision?: number } = {}): Promise<{ entries: Entry[]; revision: number }> {
    const at = this.readable(opts.revision);
    const entries: Entry[] = [];
    for (const key of [...this.history.keys()].filter((k) => k.startsWith(prefix)).sort()) {
      const v = this.versionAt(key, at);
      if (v?.value !== undefined) entries.push({ key, value: v.value, modRevision: v.modRevision, createRevision: v.createRevision });
    }
    return { entries, revision: this.rev };
  }

  async changedSince(prefix: string, revision: number): Promise<{ count: number; changed: { key: string; modRevision: number }[] }> {
    const { entries } = await this.list(prefix);
    return { count: entries.length, changed: entries.filter((e) => e.modRevision > revision).map((e) => ({ key: e.key, modRevision: e.modRevision })) };
  }

  async commit(txn: Txn): Promise<{ ok: boolean; revision: number }> {
    checkTxn(txn, this.limits);
    for (const [key, expected] of Object.entries(txn.ifUnchanged ?? {})) {
      const v = this.versionAt(key, this.rev);
      const actual = v?.value === undefined ? 0 : v.modRevision;
      if (actual !== expected) return { ok: false, revision: this.rev };
    }
    // As etcd: a put on a lease that is gone fails the whole txn, before anything is written.
    for (const p of txn.put ?? []) {
      if (p.lease && !this.leases.has(p.lease.id)) throw new BerthError('ENOLEASE', `etcd: requested lease not found (lease ${p.lease.id})`);
    }
    return { ok: true, revision: this.apply(txn) };
  }

  watch(prefix: string, fromRevision: number, onEvent: (e: StoreEvent) => void, onError?: (err: Error) => void): Closer {
    const w: Watcher = { prefix, onEvent };
    let closed = false;
    if (fromRevision < this.compacted) {
      // As etcd: a watch from a compacted revision is cancelled; its owner re-lists.
      queueMicrotask(() => {
        if (!closed) onError?.(this.compactedError(fromRevision));
      });
      return { close: async () => void (closed = true) };
    }
    const past = this.events.filter((e) => e.revision >= fromRevision && e.event.key.startsWith(prefix)).map((e) => e.event);
    queueMicrotask(() => {
      if (closed) return;
      for (const e of past) onEvent(e);
      this.watchers.add(w);
    });
    return {
      close: async () => {
        closed = true;
        this.watchers.delete(w);
      },
    };
  }

  async lease(_ttlSeconds: number, _opts?: LeaseOptions): Promise<Lease> {
    const id = String(this.nextLease++);
    const lease = new MemoryLease(id, () => this.dropLease(id));
    this.leases.set(lease.id, lease);
    return lease;
  }

  /** Make a lease expire as if its owner stopped keeping it alive: its keys vanish, and the owner hears onLost. */
  async expireLease(id: string): Promise<void> {
    const lease = this.leases.get(id);
    if (!lease) return;
    this.dropLease(id);
    lease.tellLost();
  }

  /**
   * Compact history up to `revision`, as etcd's compaction (or its --auto-compaction) does: reads
   * and watches from before it fail with CompactedError; the state at `revision` and after stays.
   */
  async compact(revision: number): Promise<void> {
    if (revision > this.rev) throw new BerthError('EFUTUREREV', `mvcc: required revision is a future revision (${revision} > ${this.rev})`);
    if (revision <= this.compacted) throw this.compactedError(revision);
    this.compacted = revision;
    for (const [key, versions] of this.history) {
      const kept = versions.filter((v, i) => v.modRevision > revision || (versions[i + 1]?.modRevision ?? Infinity) > revision);
      // A key deleted at or before the compaction leaves nothing behind.
      if (kept[0] && kept[0].modRevision <= revision && kept[0].value === undefined) kept.shift();
      if (kept.length === 0) this.history.delete(key);
      else this.history.set(key, kept);
    }
    this.events = this.events.filter((e) => e.revision > revision || (e.revision === revision && e.event.type === 'put'));
  }

  async close(): Promise<void> {
    this.watchers.clear();
  }

  /** Revoke a lease: its keys go in one revision (however many), and puts on it fail from now on. */
  private dropLease(id: string): void {
    const lease = this.leases.get(id);
    if (!lease) return;
    this.leases.delete(id);
    this.apply({ del: [...lease.keys] });
  }

  /** Write a txn whose checks passed; returns the revision after it. */
  private apply(txn: Txn): number {
    const puts = txn.put ?? [];
    const dels = txn.del ?? [];
    const changed = puts.length > 0 || dels.some((k) => this.versionAt(k, this.rev)?.value !== undefined);
    if (!changed) return this.rev;
    const rev = ++this.rev;
    const fired: StoreEvent[] = [];
    for (const p of puts) {
      const prev = this.versionAt(p.key, rev);
      const createRevision = prev?.value === undefined ? rev : prev.createRevision;
      this.append(p.key, { value: p.value, modRevision: rev, createRevision });
      // As etcd: a put attaches the key to its lease, or to none.
      for (const lease of this.leases.values()) lease.keys.delete(p.key);
      if (p.lease) this.leases.get(p.lease.id)?.keys.add(p.key);
      fired.push({ type: 'put', key: p.key, value: p.value, revision: rev });
    }
    for (const key of dels) {
      if (this.versionAt(key, rev)?.value === undefined) continue;
      this.append(key, { value: undefined, modRevision: rev, createRevision: 0 });
      for (const lease of this.leases.values()) lease.keys.delete(key);
      fired.push({ type: 'delete', key, revision: rev });
    }
    for (const event of fired) this.events.push({ revision: rev, event });
    // Watchers hear about a commit after it returns, as with etcd.
    queueMicrotask(() => {
      for (const w of this.watchers) for (const e of fired) if (e.key.startsWith(w.prefix)) w.onEvent(e);
    });
    return rev;
  }

  /** The revision a read at `revision` sees, or the error etcd gives for it. */
  private readable(revision: number | undefined): number {
    if (revision === undefined) return this.rev;
    if (revision > this.rev) throw new BerthError('EFUTUREREV', `mvcc: required revision is a future revision (${revision} > ${this.rev})`);
    if (revision < this.compacted) throw this.compactedError(revision);
    return revision;
  }

  private compactedError(revision: number): CompactedError {
    return new CompactedError('ECOMPACTED', `etcd revision was compacted: revision ${revision} is before the compaction at ${this.compacted}`, {
      hint: 're-read at the latest seal',
    });
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
