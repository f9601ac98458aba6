import { snapshotFs } from './git-fs.js';
import git from 'isomorphic-git';
import { BerthError } from '../errors.js';
import { DEFAULT_LIMITS, objectKey, type DesiredPlan, type Limits, type ParseOptions } from '../manifest/index.js';
import type { DesiredObject } from '../manifest/types.js';
import { compareText } from '../text.js';
import type { TreeCheck } from './check.js';
import { byPlace, checkAlone, type FileCheck } from './combine.js';
import { applyIndexChange, emptyIndex, mergeSorted, planIndexChange, type IndexChange, type ObjectIndex } from './object-index.js';
import type { BlobInfo, LeafChange, TreeLeaf } from './tree.js';

export type { FileCheck } from './combine.js';

/**
 * What sync keeps of its last sealed commit: the tree of the source's folder, every leaf of it by
 * path, each manifest file's check, the index of what the files claim across files, and the
 * commit's check, so the next commit re-reads, re-checks and plans only what changed.
 */
export interface TreeState {
  commit: string;
  /** Tree id of the source's folder at `commit`. */
  root: string;
  leaves: Map<string, TreeLeaf>;
  files: Map<string, FileCheck>;
  index: ObjectIndex;
  /** The commit's check, as sealed (objects sorted by objectKey). */
  check: TreeCheck;
}

/** How the incremental check reaches the repository and the check worker (GitSource and isolate). */
export interface TreeAccess {
  /** Tree id of the source's folder at `commit` (throws ENOPATH when it is gone). */
  root(commit: string): Promise<string>;
  diff(before: string | undefined, after: string | undefined): Promise<LeafChange[]>;
  /** Each blob checked alone, in the worker; undefined when it passed a bound. */
  checkBlobs(commit: string, blobs: { path: string; oid: string }[]): Promise<FileCheck[] | undefined>;
}

/** A commit's manifest files as checked, against the files of the state it was checked against. */
export interface FileChange {
  /** Files new or changed (every file of a commit read whole). */
  changed: FileCheck[];
  /** Paths of files gone. */
  gone: string[];
  /** How many files the commit has. */
  count: number;
  /** Every file of the commit. */
  all(): FileCheck[];
}

/** A commit checked against a kept state, and what it changes. */
export interface IncrementalCheck {
  check: TreeCheck;
  /** What the commit changes against the state's objects (against none without a state). */
  plan: DesiredPlan;
  /** The objects of the files read again (all of them without a state): only they are new. */
  fresh: DesiredObject[];
  /** How many manifest files were read again. */
  reread: number;
  /** The manifest files the commit changes against the state (every file without a state). */
  files: FileChange;
  /** The state of this commit, made from the one checked against (changed in place: call it once, when the commit sealed). */
  keep(): TreeState;
}

/**
 * `commit` checked against the state of the last sealed one: only the leaves whose ids differ are
 * looked at, only changed manifest blobs are read and checked (in the worker), and only what they
 * hold is checked against the other files (planIndexChange); the rest comes from `state`. Without a
 * state, every manifest blob of the commit is checked that way (file by file, so the files can be
 * checked in several workers at once). Undefined when the answer needs the full check (an invalid
 * file, a duplicate across files, a limit of the commit, the folder gone): the full check then finds
 * and words the errors.
 */
export async function checkAgainst(state: TreeState | undefined, commit: string, access: TreeAccess, limits: Partial<Limits> = {}): Promise<IncrementalCheck | undefined> {
  let root: string;
  try {
    root = await access.root(commit);
  } catch {
    return undefined;
  }
  const base = state ?? emptyState();
  const checkedAt = base.commit;
  const changes = await access.diff(state?.root, root);
  const before: FileCheck[] = [];
  const reread: { path: string; oid: string }[] = [];
  for (const c of changes) {
    if (base.leaves.get(c.path)?.kind === 'manifest') {
      const f = base.files.get(c.path);
      if (f === undefined) return undefined;
      before.push(f);
    }
    if (c.after?.kind === 'manifest') reread.push({ path: c.path, oid: c.after.oid });
  }
  const after = reread.length > 0 ? await access.checkBlobs(commit, reread) : [];
  if (after === undefined) return undefined;
  const change = planIndexChange(base.index, before, after, limits);
  if (change === undefined) return undefined;
  const check = nextCheck(base.check, changes, after, change);
  const keep = (): TreeState => {
    if (base.commit !== checkedAt) throw new BerthError('ESTATE', `the kept tree moved from ${checkedAt.slice(0, 7)} while ${commit.slice(0, 7)} was checked against it`);
    for (const c of changes) {
      if (c.after === undefined) base.leaves.delete(c.path);
      else base.leaves.set(c.path, c.after);
    }
    for (const f of before) base.files.delete(f.path);
    for (const f of after) base.files.set(f.path, f);
    applyIndexChange(base.index, change);
    Object.assign(base, { commit, root, check });
    return base;
  };
  const afterPaths = new Set(after.map((f) => f.path));
  const gone = before.map((f) => f.path).filter((p) => !afterPaths.has(p));
  const all = (): FileCheck[] => {
    const files = new Map(base.files);
    for (const p of gone) files.delete(p);
    for (const f of after) files.set(f.path, f);
    return [...files.values()];
  };
  const count = base.files.size - gone.length + after.filter((f) => !base.files.has(f.path)).length;
  return { check, plan: change.plan, fresh: [...change.added.values()], reread: after.length, files: { changed: after, gone, count, all }, keep };
}

function emptyState(): TreeState {
  return { commit: '', root: '', leaves: new Map(), files: new Map(), index: emptyIndex(), check: { objects: [], errors: [], omitted: 0, skipped: [], warnings: [], entries: [], files: 0 } };
}

/** The check of the commit after `changes`: the kept check with the changed paths' parts replaced. */
function nextCheck(kept: TreeCheck, changes: readonly LeafChange[], after: readonly FileCheck[], change: IndexChange): TreeCheck {
  const changed = new Set(changes.map((c) => c.path));
  const entries = kept.entries.filter((e) => !changed.has(e.path));
  for (const c of changes) {
    if (c.after?.kind === 'symlink') entries.push({ path: c.path, reason: 'symbolic link, not followed' });
    else if (c.after?.kind === 'submodule') entries.push({ path: c.path, reason: 'submodule, not followed' });
  }
  const byPath = (a: { path: string }, b: { path: string }): number => compareText(a.path, b.path);
  return {
    objects: mergeSorted(kept.objects, change),
    errors: [],
    omitted: 0,
    // Sorted by path alone: a stable sort keeps each file's documents in their order.
    skipped: [...kept.skipped.filter((s) => !changed.has(s.path)), ...after.flatMap((f) => f.skipped)].sort(byPath),
    warnings: [...kept.warnings.filter((w) => !changed.has(w.path)), ...after.flatMap((f) => f.warnings)].sort(byPlace),
    entries: entries.sort(byPath),
    files: kept.files - change.before.length + after.length,
  };
}

/** The state of `commit` after a full check it passed; undefined for a commit with errors. */
export async function fullState(commit: string, check: TreeCheck & { blobs?: BlobInfo[] }, access: TreeAccess): Promise<TreeState | undefined> {
  if (check.errors.length > 0 || check.omitted > 0 || check.blobs === undefined) return undefined;
  const root = await access.root(commit);
  const leaves = new Map<string, TreeLeaf>();
  for (const c of await access.diff(undefined, root)) if (c.after) leaves.set(c.path, c.after);
  return stateFromFull(commit, root, leaves, check.blobs, check);
}

/**
 * Reads and checks each blob alone, as checkFiles would check it among the others (runs in the
 * check worker: only the changed blobs of a commit go there).
 */
export async function checkBlobs(gitdir: string, blobs: readonly { path: string; oid: string }[], opts: ParseOptions): Promise<FileCheck[]> {
  const out: FileCheck[] = [];
  const cache = {};
  // The blobs exist before the request: the repository's folders are listed once for all of them.
  const fs = snapshotFs();
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  for (const b of blobs) {
    const { blob } = await git.readBlob({ fs, gitdir, oid: b.oid, cache });
    const raw = blob.length > limits.fileBytes ? { path: b.path, bytes: new Uint8Array(0), size: blob.length } : { path: b.path, bytes: blob };
    out.push(checkAlone(raw, b.oid, opts));
  }
  return out;
}

/** The check of a commit that passed, split by the file each object, warning and skipped document came from. */
export function filesOf(blobs: readonly BlobInfo[], check: TreeCheck): Map<string, FileCheck> {
  const files = new Map<string, FileCheck>();
  for (const b of blobs) files.set(b.path, { path: b.path, oid: b.oid, size: b.size, objects: [], warnings: [], skipped: [], clean: true });
  const at = (p: string): FileCheck | undefined => files.get(p);
  for (const o of check.objects) at(o.path)?.objects.push(o);
  for (const w of check.warnings) at(w.path)?.warnings.push(w);
  for (const s of check.skipped) at(s.path)?.skipped.push(s);
  return files;
}

/**
 * The state of a commit that passed the full check: its objects, warnings and skipped documents
 * split by the file they came from, and indexed across files.
 */
export function stateFromFull(commit: string, root: string, leaves: Map<string, TreeLeaf>, blobs: readonly BlobInfo[], check: TreeCheck): TreeState {
  const files = filesOf(blobs, check);
  const index = emptyIndex();
  const added = new Map(check.objects.map((o) => [objectKey(o), o]));
  applyIndexChange(index, { plan: { create: [], update: [], delete: [] }, added, removed: new Set(), before: [], after: [...files.values()] });
  return { commit, root, leaves, files, index, check };
}
