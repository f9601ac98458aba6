import fs from 'node:fs';
import git from 'isomorphic-git';
import { DEFAULT_LIMITS, type Limits, type ParseOptions } from '../manifest/index.js';
import type { DesiredObject } from '../manifest/types.js';
import { compareText } from '../text.js';
import type { TreeCheck } from './check.js';
import { checkAlone, combineChecks, type FileCheck } from './combine.js';
import type { SkippedEntry } from './files.js';
import type { BlobInfo, LeafChange, TreeLeaf } from './tree.js';

export type { FileCheck } from './combine.js';

/**
 * What sync keeps of its last sealed commit: the tree of the source's folder, every leaf of it by
 * path, and each manifest file's check, so the next commit re-reads only the blobs that changed.
 */
export interface TreeState {
  commit: string;
  /** Tree id of the source's folder at `commit`. */
  root: string;
  leaves: Map<string, TreeLeaf>;
  files: Map<string, FileCheck>;
  /** The commit's objects, as sealed (sorted by objectKey). */
  objects: DesiredObject[];
}

/** How the incremental check reaches the repository and the check worker (GitSource and isolate). */
export interface TreeAccess {
  /** Tree id of the source's folder at `commit` (throws ENOPATH when it is gone). */
  root(commit: string): Promise<string>;
  diff(before: string | undefined, after: string | undefined): Promise<LeafChange[]>;
  /** Each blob checked alone, in the worker; undefined when it passed a bound. */
  checkBlobs(commit: string, blobs: { path: string; oid: string }[]): Promise<FileCheck[] | undefined>;
}

/**
 * `commit` checked against the state of the last sealed one: only the leaves whose ids differ are
 * looked at, only changed manifest blobs are read and checked (in the worker), the rest comes from
 * `state`. Without a state, every manifest blob of the commit is checked that way (file by file, so
 * the files can be checked in several workers at once). Undefined when the answer needs the full
 * check (an invalid file, a duplicate across files, a limit of the commit, the folder gone): the full
 * check then finds and words the errors.
 */
export async function checkAgainst(state: TreeState | undefined, commit: string, access: TreeAccess, limits: Partial<Limits> = {}): Promise<{ check: TreeCheck; next: TreeState } | undefined> {
  let root: string;
  try {
    root = await access.root(commit);
  } catch {
    return undefined;
  }
  const { leaves, reread } = applyChanges(state?.leaves ?? new Map(), await access.diff(state?.root, root));
  const checked = reread.length > 0 ? await access.checkBlobs(commit, reread) : [];
  if (checked === undefined) return undefined;
  const files = new Map(state?.files);
  for (const p of files.keys()) if (leaves.get(p)?.kind !== 'manifest') files.delete(p);
  for (const f of checked) files.set(f.path, f);
  const check = mergeChecks(leaves, files, limits);
  return check && { check, next: { commit, root, leaves, files, objects: check.objects } };
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
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  for (const b of blobs) {
    const { blob } = await git.readBlob({ fs, gitdir, oid: b.oid, cache });
    const raw = blob.length > limits.fileBytes ? { path: b.path, bytes: new Uint8Array(0), size: blob.length } : { path: b.path, bytes: blob };
    out.push(checkAlone(raw, b.oid, opts));
  }
  return out;
}

/**
 * The state of a commit that passed the full check: its objects, warnings and skipped documents
 * split by the file they came from.
 */
export function stateFromFull(commit: string, root: string, leaves: Map<string, TreeLeaf>, blobs: readonly BlobInfo[], check: TreeCheck): TreeState {
  const files = new Map<string, FileCheck>();
  for (const b of blobs) files.set(b.path, { path: b.path, oid: b.oid, size: b.size, objects: [], warnings: [], skipped: [], clean: true });
  const at = (p: string): FileCheck | undefined => files.get(p);
  for (const o of check.objects) at(o.path)?.objects.push(o);
  for (const w of check.warnings) at(w.path)?.warnings.push(w);
  for (const s of check.skipped) at(s.path)?.skipped.push(s);
  return { commit, root, leaves, files, objects: check.objects };
}

/** The leaves after `changes`, and the manifest blobs among them that must be read again. */
export function applyChanges(leaves: ReadonlyMap<string, TreeLeaf>, changes: readonly LeafChange[]): { leaves: Map<string, TreeLeaf>; reread: { path: string; oid: string }[] } {
  const next = new Map(leaves);
  const reread: { path: string; oid: string }[] = [];
  for (const c of changes) {
    if (c.after === undefined) next.delete(c.path);
    else {
      next.set(c.path, c.after);
      if (c.after.kind === 'manifest') reread.push({ path: c.path, oid: c.after.oid });
    }
  }
  return { leaves: next, reread };
}

/**
 * The whole commit's check from its files' own checks, when that is the full check's answer: every
 * file clean, no object defined twice, no nodePort asked twice, within the source's and commit's limits. Undefined
 * otherwise: the caller runs the full check, which finds and words the errors.
 */
export function mergeChecks(leaves: ReadonlyMap<string, TreeLeaf>, files: ReadonlyMap<string, FileCheck>, limits: Partial<Limits> = {}): TreeCheck | undefined {
  const ordered: FileCheck[] = [];
  const entries: SkippedEntry[] = [];
  for (const p of [...leaves.keys()].sort(compareText)) {
    const leaf = leaves.get(p);
    if (leaf === undefined) continue;
    if (leaf.kind !== 'manifest') {
      entries.push({ path: p, reason: leaf.kind === 'symlink' ? 'symbolic link, not followed' : 'submodule, not followed' });
      continue;
    }
    const f = files.get(p);
    if (f === undefined || f.oid !== leaf.oid) return undefined;
    ordered.push(f);
  }
  return combineChecks(ordered, entries, limits);
}
