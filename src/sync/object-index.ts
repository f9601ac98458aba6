import { DEFAULT_LIMITS, configMapRefs, deploymentRefsMet, objectKey, referableData, type DesiredPlan, type Limits } from '../manifest/index.js';
import type { DesiredObject, DeploymentObject } from '../manifest/types.js';
import { compareText } from '../text.js';
import type { FileCheck } from './combine.js';

// What the files of a commit claim across files, indexed by key, so that the checks between files
// (an object defined twice, a nodePort asked twice, a reference into another file, the commit's
// limits) and the plan of a change cost what the changed files hold, not what the repository holds.
// Pure: `berth validate` loads it through combine.ts.

/** The objects of a set of files that each passed alone, and what they claim of each other. */
export interface ObjectIndex {
  /** Every object by objectKey (no key twice: the index of a commit that passed). */
  objects: Map<string, DesiredObject>;
  /** Each nodePort asked for, with the key of the Service that asks. */
  nodePorts: Map<number, string>;
  /** The key of a ConfigMap or Secret → keys of the Deployments with a reference to it that is not optional. */
  readers: Map<string, Set<string>>;
  /** Bytes of the files, warnings they hold. */
  bytes: number;
  warnings: number;
}

/** An index of no file. */
export function emptyIndex(): ObjectIndex {
  return { objects: new Map(), nodePorts: new Map(), readers: new Map(), bytes: 0, warnings: 0 };
}

/** What a change of files does to the index's objects: the plan against them, and the objects it brings. */
export interface IndexChange {
  /** What the change creates, updates and deletes among the index's objects, each list sorted by key. */
  plan: DesiredPlan;
  /** The objects of the files after the change (all of them new or re-read), by key. */
  added: Map<string, DesiredObject>;
  /** Keys of the objects of the files before the change. */
  removed: Set<string>;
  before: readonly FileCheck[];
  after: readonly FileCheck[];
}

/**
 * The files `before` (checks the index holds) replaced by `after` (new checks; a file only removed is
 * in `before` alone, a new one in `after` alone), when the result is what the full check of the whole
 * commit would pass: every new file clean, no object defined twice, no nodePort asked twice, every
 * reference met, within the commit's limits. Only the changed files' objects, and the Deployments
 * that read a ConfigMap or Secret of a changed file, are looked at. Undefined otherwise: the full
 * check finds and words the errors. The index is not changed (applyIndexChange does that).
 */
export function planIndexChange(index: ObjectIndex, before: readonly FileCheck[], after: readonly FileCheck[], limits: Partial<Limits> = {}): IndexChange | undefined {
  const l = { ...DEFAULT_LIMITS, ...limits };
  if (after.some((f) => !f.clean)) return undefined;
  const removed = new Set<string>();
  for (const f of before) for (const o of f.objects) removed.add(objectKey(o));
  const added = new Map<string, DesiredObject>();
  for (const f of after) {
    for (const o of f.objects) {
      const key = objectKey(o);
      if (added.has(key) || (index.objects.has(key) && !removed.has(key))) return undefined;
      added.set(key, o);
    }
  }
  const sum = (files: readonly FileCheck[], of: (f: FileCheck) => number): number => files.reduce((n, f) => n + of(f), 0);
  const bytes = index.bytes - sum(before, (f) => f.size) + sum(after, (f) => f.size);
  const warnings = index.warnings - sum(before, (f) => f.warnings.length) + sum(after, (f) => f.warnings.length);
  if (bytes > l.commitBytes || index.objects.size - removed.size + added.size > l.objects || warnings > l.errors) return undefined;
  if (!nodePortsFree(index, removed, added)) return undefined;

  // The objects as they are after the change, looked up by key without building them.
  const after_ = (key: string): DesiredObject | undefined => added.get(key) ?? (removed.has(key) ? undefined : index.objects.get(key));
  const lookup = (namespace: string) => (kind: 'ConfigMap' | 'Secret', name: string) => {
    const o = after_(objectKey({ kind, namespace, name }));
    return o && referableData(o);
  };
  const met = (o: DeploymentObject): boolean => deploymentRefsMet(o, lookup(o.namespace));
  for (const o of added.values()) if (o.kind === 'Deployment' && !met(o)) return undefined;
  // A Deployment of an unchanged file may read a ConfigMap or Secret that changed or went.
  for (const key of removed) {
    for (const reader of index.readers.get(key) ?? []) {
      const o = removed.has(reader) ? undefined : index.objects.get(reader);
      if (o?.kind === 'Deployment' && !met(o)) return undefined;
    }
  }
  return { plan: planOf(index, removed, added), added, removed, before, after };
}

/** No nodePort asked for twice once `removed` are gone and `added` are in. */
function nodePortsFree(index: ObjectIndex, removed: ReadonlySet<string>, added: ReadonlyMap<string, DesiredObject>): boolean {
  const claimed = new Set<number>();
  for (const o of added.values()) {
    for (const port of nodePortsOf(o)) {
      const holder = index.nodePorts.get(port);
      if (claimed.has(port) || (holder !== undefined && !removed.has(holder))) return false;
      claimed.add(port);
    }
  }
  return true;
}

function nodePortsOf(o: DesiredObject): number[] {
  if (o.kind !== 'Service') return [];
  return o.spec.ports.flatMap((p) => (p.nodePort === undefined ? [] : [p.nodePort]));
}

/** The plan of the changed keys only: what planDesired gives for the whole, since no other key changed. */
function planOf(index: ObjectIndex, removed: ReadonlySet<string>, added: ReadonlyMap<string, DesiredObject>): DesiredPlan {
  const plan: DesiredPlan = { create: [], update: [], delete: [] };
  for (const key of [...new Set([...removed, ...added.keys()])].sort(compareText)) {
    const from = removed.has(key) ? index.objects.get(key) : undefined;
    const to = added.get(key);
    if (to && !from) plan.create.push(to);
    else if (from && !to) plan.delete.push(from);
    else if (from && to && (from.hash !== to.hash || from.path !== to.path)) plan.update.push({ from, to });
  }
  return plan;
}

/** Make `index` hold the change planned against it (in place: it costs what the change holds). */
export function applyIndexChange(index: ObjectIndex, change: IndexChange): void {
  for (const key of change.removed) {
    const o = index.objects.get(key);
    if (o === undefined) continue;
    index.objects.delete(key);
    for (const port of nodePortsOf(o)) if (index.nodePorts.get(port) === key) index.nodePorts.delete(port);
    for (const target of targetsOf(o)) {
      const readers = index.readers.get(target);
      readers?.delete(key);
      if (readers?.size === 0) index.readers.delete(target);
    }
  }
  for (const [key, o] of change.added) {
    index.objects.set(key, o);
    for (const port of nodePortsOf(o)) index.nodePorts.set(port, key);
    for (const target of targetsOf(o)) {
      const readers = index.readers.get(target) ?? new Set<string>();
      readers.add(key);
      index.readers.set(target, readers);
    }
  }
  const sum = (files: readonly FileCheck[], of: (f: FileCheck) => number): number => files.reduce((n, f) => n + of(f), 0);
  index.bytes += sum(change.after, (f) => f.size) - sum(change.before, (f) => f.size);
  index.warnings += sum(change.after, (f) => f.warnings.length) - sum(change.before, (f) => f.warnings.length);
}

/** Keys of the ConfigMaps and Secrets a Deployment needs (references not optional). */
function targetsOf(o: DesiredObject): string[] {
  if (o.kind !== 'Deployment') return [];
  return [...new Set(configMapRefs(o.spec.template).filter((r) => !r.optional).map((r) => objectKey({ kind: r.kind, namespace: o.namespace, name: r.name })))];
}

/**
 * `objects` (sorted by key) with the change's removed objects out and its added ones in, sorted; a
 * new array. A few changes are spliced in by binary search; many (a first read) are sorted once.
 */
export function mergeSorted(objects: readonly DesiredObject[], change: Pick<IndexChange, 'removed' | 'added'>): DesiredObject[] {
  if (change.added.size + change.removed.size > 64) {
    const keyed = objects.map((o) => ({ o, key: objectKey(o) })).filter((k) => !change.removed.has(k.key));
    keyed.push(...[...change.added].map(([key, o]) => ({ o, key })));
    // Keys made once, not per comparison: 10,000 objects take ~140,000 comparisons.
    return keyed.sort((a, b) => compareText(a.key, b.key)).map((k) => k.o);
  }
  const out = objects.slice();
  const at = (key: string): number => {
    let lo = 0;
    let hi = out.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const o = out[mid];
      if (o !== undefined && compareText(objectKey(o), key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  for (const key of change.removed) {
    const i = at(key);
    const o = out[i];
    if (o !== undefined && objectKey(o) === key) out.splice(i, 1);
  }
  for (const [key, o] of change.added) out.splice(at(key), 0, o);
  return out;
}
