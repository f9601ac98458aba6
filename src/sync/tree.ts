import { gitFs } from './git-fs.js';
import git from 'isomorphic-git';
import { InvalidInputError } from '../errors.js';
import { DEFAULT_LIMITS, isManifestPath, type Limits, type RawFile } from '../manifest/index.js';
import type { SkippedEntry, TreeRead } from './files.js';
import { compareText } from '../text.js';

/** Where to read: a commit of a repository's object store, and the folder of it that holds the manifests. */
export interface TreeSource {
  gitdir: string;
  commit: string;
  /** Folder inside the repository ('' for the root), normalized. */
  subdir: string;
  /** What the source is called in messages (a path, or a URL without credentials). */
  name: string;
}

// Git modes: a symbolic link's blob holds the link's text; a submodule is a commit of another repository.
const SYMLINK = '120000';

/**
 * The manifest files under `subdir` at `commit`, read from the object store (no checkout), with
 * repository-root paths. Symbolic links and submodules are reported by path and never followed;
 * blobs are read in path order until the commit's total passes the limit (the rest are listed
 * unread, so the check names where the limit was crossed).
 */
export async function readTreeFiles(src: TreeSource, limits: Pick<Limits, 'fileBytes' | 'commitBytes'> = DEFAULT_LIMITS, cache: object = {}): Promise<TreeRead & { blobs: BlobInfo[] }> {
  const root = await subdirTree(src, cache);
  const blobs: { path: string; oid: string }[] = [];
  const skipped: SkippedEntry[] = [];
  const walk = async (treeOid: string, prefix: string): Promise<void> => {
    const { tree } = await git.readTree({ fs: gitFs, gitdir: src.gitdir, oid: treeOid, cache });
    for (const e of tree) {
      const p = prefix === '' ? e.path : `${prefix}/${e.path}`;
      if (e.type === 'tree') await walk(e.oid, p);
      else if (e.type === 'commit') skipped.push({ path: p, reason: 'submodule, not followed' });
      else if (e.mode === SYMLINK) skipped.push({ path: p, reason: 'symbolic link, not followed' });
      else if (isManifestPath(p)) blobs.push({ path: p, oid: e.oid });
    }
  };
  await walk(root, src.subdir);
  blobs.sort((a, b) => compareText(a.path, b.path));
  skipped.sort((a, b) => compareText(a.path, b.path));

  const files: RawFile[] = [];
  const read: BlobInfo[] = [];
  let total = 0;
  for (const b of blobs) {
    if (total > limits.commitBytes) {
      files.push({ path: b.path, bytes: new Uint8Array(0), unread: true });
      continue;
    }
    const { blob } = await git.readBlob({ fs: gitFs, gitdir: src.gitdir, oid: b.oid, cache });
    read.push({ path: b.path, oid: b.oid, size: blob.length });
    // Over a limit the bytes are dropped at once: the check names the file from its size. Only
    // files within it count towards the commit's total, as checkFiles counts them.
    if (blob.length > limits.fileBytes) files.push({ path: b.path, bytes: new Uint8Array(0), size: blob.length });
    else {
      total += blob.length;
      files.push({ path: b.path, bytes: blob });
    }
  }
  return { files, skipped, errors: [], blobs: read };
}

/** A manifest file of a commit as stored: its path, blob id and size. */
export interface BlobInfo {
  path: string;
  oid: string;
  size: number;
}

/** The tree id of the source's folder at its commit; a missing folder is the commit's error (ENOPATH). */
export async function subdirTree(src: TreeSource, cache: object = {}): Promise<string> {
  try {
    if (src.subdir === '') return (await git.readCommit({ fs: gitFs, gitdir: src.gitdir, oid: src.commit, cache })).commit.tree;
    const { oid, tree } = await git.readTree({ fs: gitFs, gitdir: src.gitdir, oid: src.commit, filepath: src.subdir, cache });
    if (!Array.isArray(tree)) throw new Error('not a folder');
    return oid;
  } catch (cause) {
    throw new InvalidInputError('ENOPATH', `path '${src.subdir}' does not exist in commit ${src.commit.slice(0, 7)} of ${src.name}`, {
      hint: 'pass --path with a folder of the repository',
      cause,
    });
  }
}

/** What an entry of a tree is to sync: a manifest file it reads, or a link or submodule it reports. */
export interface TreeLeaf {
  oid: string;
  kind: 'manifest' | 'symlink' | 'submodule';
}

/** One leaf that differs between two trees: `after` undefined when it is gone. */
export interface LeafChange {
  path: string;
  after?: TreeLeaf;
}

/**
 * The leaves (manifest files, links, submodules) that differ between two trees, with
 * repository-root paths under `prefix`. Subtrees with the same id are skipped whole without being
 * read, so the cost follows the change, not the repository (a one-file change reads one tree per
 * level). Either side may be undefined (everything added, or everything removed).
 */
export async function diffTrees(gitdir: string, before: string | undefined, after: string | undefined, prefix: string, cache: object = {}): Promise<LeafChange[]> {
  const out: LeafChange[] = [];
  const entries = async (oid: string | undefined): Promise<Map<string, { type: string; mode: string; oid: string }>> => {
    if (oid === undefined) return new Map();
    const { tree } = await git.readTree({ fs: gitFs, gitdir, oid, cache });
    return new Map(tree.map((e) => [e.path, e]));
  };
  const leaf = (e: { type: string; mode: string; oid: string }, p: string): TreeLeaf | undefined => {
    if (e.type === 'commit') return { oid: e.oid, kind: 'submodule' };
    if (e.mode === SYMLINK) return { oid: e.oid, kind: 'symlink' };
    if (e.type === 'blob' && isManifestPath(p)) return { oid: e.oid, kind: 'manifest' };
    return undefined;
  };
  const visit = async (a: string | undefined, b: string | undefined, at: string): Promise<void> => {
    if (a === b) return;
    const [ea, eb] = await Promise.all([entries(a), entries(b)]);
    for (const name of new Set([...ea.keys(), ...eb.keys()])) {
      const x = ea.get(name);
      const y = eb.get(name);
      if (x?.oid === y?.oid && x?.mode === y?.mode) continue;
      const p = at === '' ? name : `${at}/${name}`;
      const xt = x?.type === 'tree' ? x.oid : undefined;
      const yt = y?.type === 'tree' ? y.oid : undefined;
      if (xt !== undefined || yt !== undefined) await visit(xt, yt, p);
      const xl = x && x.type !== 'tree' ? leaf(x, p) : undefined;
      const yl = y && y.type !== 'tree' ? leaf(y, p) : undefined;
      if (yl) out.push({ path: p, after: yl });
      else if (xl) out.push({ path: p });
    }
  };
  await visit(before, after, prefix);
  return out;
}

