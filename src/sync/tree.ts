import fs from 'node:fs';
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
export async function readTreeFiles(src: TreeSource, limits: Pick<Limits, 'fileBytes' | 'commitBytes'> = DEFAULT_LIMITS, cache: object = {}): Promise<TreeRead> {
  let root: string;
  try {
    root = src.subdir === '' ? src.commit : (await git.readTree({ fs, gitdir: src.gitdir, oid: src.commit, filepath: src.subdir, cache })).oid;
  } catch (cause) {
    throw new InvalidInputError('ENOPATH', `path '${src.subdir}' does not exist in commit ${src.commit.slice(0, 7)} of ${src.name}`, {
      hint: 'pass --path with a folder of the repository',
      cause,
    });
  }
  const blobs: { path: string; oid: string }[] = [];
  const skipped: SkippedEntry[] = [];
  const walk = async (treeOid: string, prefix: string): Promise<void> => {
    const { tree } = await git.readTree({ fs, gitdir: src.gitdir, oid: treeOid, cache });
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
  let total = 0;
  for (const b of blobs) {
    if (total > limits.commitBytes) {
      files.push({ path: b.path, bytes: new Uint8Array(0), unread: true });
      continue;
    }
    const { blob } = await git.readBlob({ fs, gitdir: src.gitdir, oid: b.oid, cache });
    // Over a limit the bytes are dropped at once: the check names the file from its size. Only
    // files within it count towards the commit's total, as checkFiles counts them.
    if (blob.length > limits.fileBytes) files.push({ path: b.path, bytes: new Uint8Array(0), size: blob.length });
    else {
      total += blob.length;
      files.push({ path: b.path, bytes: blob });
    }
  }
  return { files, skipped, errors: [] };
}

