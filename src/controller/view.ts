import { BerthError } from '../errors.js';
import type { Logger } from '../log.js';
import {
  NODES, PODS, SOURCES, STATUS, WatchCache, readSealed,
  type NodeRecord, type PodRecord, type PodStatusRecord, type SealRecord, type StatusIndex, type Store,
} from '../store/index.js';
import { sealedDeployments } from './desired.js';
import type { DesiredService } from './endpoints.js';
import type { DesiredDeployment } from './pods.js';

/** The key of a Deployment and of its pods' owner: `<source>:<namespace>/<name>`, the controller's work key. */
export const ownerKey = (source: string, namespace: string, name: string): string => `${source}:${namespace}/${name}`;
/** The owner key of a pod. */
export const ownerOf = (p: PodRecord): string => ownerKey(p.owner.source, p.namespace, p.owner.name);
/** The source an owner key names. */
export const sourceOfOwner = (owner: string): string => owner.slice(0, owner.indexOf(':'));

/** Whether two reads of a Deployment want the same pods: the same object, and the same ConfigMap values in its environment. */
export const sameDeployment = (a: DesiredDeployment, b: DesiredDeployment): boolean =>
  a.object.hash === b.object.hash && JSON.stringify(a.inputs) === JSON.stringify(b.inputs);

/** One source's sealed Deployments, read at its seal. */
export interface SealedSource {
  seal: SealRecord;
  /** modRevision of the seal key, to guard a write on it. */
  modRevision: number;
  /** By owner key. */
  deployments: Map<string, DesiredDeployment>;
  services: DesiredService[];
}

/** What the loops on a ClusterView hear; each maps a change to the keys of its own work queue. */
export interface ViewListener {
  pod?(key: string, before: PodRecord | undefined, after: PodRecord | undefined): void;
  status?(key: string, before: PodStatusRecord | undefined, after: PodStatusRecord | undefined): void;
  node?(key: string): void;
  /** A seal changed: the source is read again at the next `refreshSeals` (a loop's pass). */
  sealChanged?(source: string): void;
  /** A source was read again: `owners` are its Deployments that were added, removed or changed. */
  sealed?(source: string, owners: ReadonlySet<string>): void;
  /** A cache re-listed (a broken watch): look at everything. */
  everything?(): void;
}

/**
 * What the controller's loops read, kept in memory (informers, in Kubernetes' words): pods, pod
 * status and nodes by watch caches, every source's Deployments and Services at its seal (read again only when
 * that seal changes), and indexes of the pods by owner and by node. One per controller process:
 * its loops share it and each hears every change (`subscribe`), so a status write costs each loop
 * the keys it touches, not a list of the keyspace.
 */
export class ClusterView {
  /** Sources read in full at their seal. */
  readonly sources = new Map<string, SealedSource>();
  /** Sources with a seal that cannot be acted on now, and why: their pods are left as they are. */
  readonly skipped = new Map<string, string>();
  private readonly byOwner = new Map<string, Set<string>>();
  private readonly perNode = new Map<string, Set<string>>();
  private readonly listeners: ViewListener[] = [];
  private readonly stale = new Set<string>();
  private refreshing: Promise<void> | undefined;
  private caches: { close(): Promise<void> }[] = [];
  /** Status records by `<node>/<namespace>/<pod>`, read through the cache. */
  readonly statusIndex: StatusIndex = { get: (ref) => this.statuses.get(`${STATUS}${ref}`) };

  private constructor(
    private readonly store: Store,
    readonly pods: WatchCache<'pod'>,
    readonly statuses: WatchCache<'podStatus'>,
    readonly nodes: WatchCache<'node'>,
    private readonly seals: WatchCache<'seal'>,
  ) {}

  /** Lists and watches pods, statuses, nodes and seals; every source is read at its first `refreshSeals`. */
  static async open(store: Store, log: Logger): Promise<ClusterView> {
    const opened: { close(): Promise<void> }[] = [];
    const open = async <T extends 'pod' | 'podStatus' | 'node' | 'seal'>(prefix: string, type: T): Promise<WatchCache<T>> => {
      const cache = await WatchCache.open(store, prefix, type, log);
      opened.push(cache);
      return cache;
    };
    try {
      const view = new ClusterView(store, await open(PODS, 'pod'), await open(STATUS, 'podStatus'), await open(NODES, 'node'), await open(SOURCES, 'seal'));
      view.caches = opened;
      view.wire();
      return view;
    } catch (err) {
      await Promise.allSettled(opened.map((c) => c.close()));
      throw err;
    }
  }

  subscribe(listener: ViewListener): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.caches.map((c) => c.close()));
  }

  /** The pods of an owner. */
  podsOf(owner: string): PodRecord[] {
    return this.podsAt(this.byOwner.get(owner));
  }

  /** Every owner that has pods. */
  owners(): IterableIterator<string> {
    return this.byOwner.keys();
  }

  /** Nodes that pods are bound to. */
  usedNodes(): Set<string> {
    return new Set(this.perNode.keys());
  }

  /** The pods bound to a node. */
  podsOn(node: string): PodRecord[] {
    return this.podsAt(this.perNode.get(node));
  }

  /** The pods of an index's key set, in its order. */
  private podsAt(keys: Set<string> | undefined): PodRecord[] {
    const out: PodRecord[] = [];
    for (const key of keys ?? []) {
      const p = this.pods.get(key);
      if (p) out.push(p);
    }
    return out;
  }

  /** Registered node names. */
  nodeNames(): Set<string> {
    return new Set([...this.nodes.records.values()].map((n) => n.record.name));
  }

  /** The registered nodes. */
  nodeRecords(): NodeRecord[] {
    return [...this.nodes.records.values()].map((n) => n.record);
  }

  /** Every source that has a seal key, readable or not (a source without one has its pods deleted). */
  sealedSources(): Set<string> {
    const out = new Set<string>();
    for (const key of [...this.seals.records.keys(), ...this.seals.unreadable]) out.add(key.slice(SOURCES.length));
    return out;
  }

  /** Read again every source whose seal changed since the last call; listeners hear what changed (`sealed`). */
  async refreshSeals(): Promise<void> {
    while (this.stale.size > 0) {
      this.refreshing ??= this.readStale().finally(() => {
        this.refreshing = undefined;
      });
      await this.refreshing;
    }
  }

  private async readStale(): Promise<void> {
    const todo = [...this.stale];
    this.stale.clear();
    try {
      while (todo.length > 0) {
        const source = todo[0];
        if (source === undefined) break;
        const owners = await this.readSource(source);
        todo.shift();
        for (const l of this.listeners) l.sealed?.(source, owners);
      }
    } finally {
      for (const s of todo) this.stale.add(s);
    }
  }

  /** Read one source at its seal; returns the owners whose Deployment changed (all of them when the source's state changed kind). */
  private async readSource(source: string): Promise<Set<string>> {
    const before = this.sources.get(source);
    const wasSkipped = this.skipped.has(source);
    let after: SealedSource | undefined;
    let reason: string | undefined;
    try {
      const s = await readSealed(this.store, source);
      if (s !== undefined) {
        const read = sealedDeployments(s);
        if ('reason' in read) reason = read.reason;
        else after = { seal: s.seal, modRevision: s.sealRevision, deployments: new Map(read.deployments.map((d) => [ownerKey(source, d.object.namespace, d.object.name), d])), services: read.services };
      }
    } catch (err) {
      if (!(err instanceof BerthError) || err.code !== 'ECORRUPT') throw err;
      reason = err.message;
    }
    if (after) this.sources.set(source, after);
    else this.sources.delete(source);
    if (reason === undefined) this.skipped.delete(source);
    else this.skipped.set(source, reason);

    const owners = new Set<string>();
    const all = new Set([...(before?.deployments.keys() ?? []), ...(after?.deployments.keys() ?? [])]);
    if (!before || !after || wasSkipped) {
      for (const o of all) owners.add(o);
      for (const o of this.byOwner.keys()) if (sourceOfOwner(o) === source) owners.add(o);
      return owners;
    }
    for (const o of all) {
      const [a, b] = [before.deployments.get(o), after.deployments.get(o)];
      if (!a || !b || !sameDeployment(a, b)) owners.add(o);
    }
    return owners;
  }

  private wire(): void {
    const everything = (): void => {
      for (const l of this.listeners) l.everything?.();
    };
    this.pods.subscribe((key, before) => {
      if (key === undefined) {
        this.reindex();
        everything();
        return;
      }
      const after = this.pods.get(key);
      if (before) this.unindex(key, before);
      if (after) this.index(key, after);
      for (const l of this.listeners) l.pod?.(key, before, after);
    });
    this.statuses.subscribe((key, before) => {
      if (key === undefined) return everything();
      for (const l of this.listeners) l.status?.(key, before, this.statuses.get(key));
    });
    this.nodes.subscribe((key) => {
      if (key === undefined) return everything();
      for (const l of this.listeners) l.node?.(key);
    });
    this.seals.subscribe((key) => {
      const sources = key === undefined ? new Set([...this.sealedSources(), ...this.sources.keys(), ...this.skipped.keys()]) : [key.slice(SOURCES.length)];
      for (const s of sources) {
        this.stale.add(s);
        for (const l of this.listeners) l.sealChanged?.(s);
      }
    });
    this.reindex();
    for (const s of this.sealedSources()) this.stale.add(s);
  }

  private reindex(): void {
    this.byOwner.clear();
    this.perNode.clear();
    for (const [key, { record }] of this.pods.records) this.index(key, record);
  }

  private index(key: string, p: PodRecord): void {
    const owner = ownerOf(p);
    let keys = this.byOwner.get(owner);
    if (!keys) this.byOwner.set(owner, (keys = new Set()));
    keys.add(key);
    if (p.node === undefined) return;
    let on = this.perNode.get(p.node);
    if (!on) this.perNode.set(p.node, (on = new Set()));
    on.add(key);
  }

  private unindex(key: string, p: PodRecord): void {
    const owner = ownerOf(p);
    const keys = this.byOwner.get(owner);
    keys?.delete(key);
    if (keys?.size === 0) this.byOwner.delete(owner);
    if (p.node === undefined) return;
    const on = this.perNode.get(p.node);
    on?.delete(key);
    if (on?.size === 0) this.perNode.delete(p.node);
  }
}
