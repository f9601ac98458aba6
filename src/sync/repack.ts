// A remote's mirror gets one pack (and its index) per fetch, and isomorphic-git never repacks: past
// a number of packs, what the refs reach is written into one pack and the others are removed, as
// `git gc` would (objects no ref reaches go with them).
import fs from 'node:fs';
import path from 'node:path';
import git from 'isomorphic-git';

/** The packs of `gitdir`, by file name (`pack-….pack`), each with an index. */
export async function packsOf(gitdir: string): Promise<string[]> {
  const names = await fs.promises.readdir(path.join(gitdir, 'objects', 'pack')).catch(() => []);
  const indexed = new Set(names.filter((n) => n.endsWith('.idx')).map((n) => n.replace(/\.idx$/, '.pack')));
  return names.filter((n) => n.endsWith('.pack') && indexed.has(n));
}

/**
 * Every object the refs of `gitdir` reach: commits (down to the shallow boundary), their trees and
 * blobs (submodule entries name commits of other repositories and are left out).
 */
export async function reachableObjects(gitdir: string, cache: object): Promise<Set<string>> {
  const shallow = new Set((await fs.promises.readFile(path.join(gitdir, 'shallow'), 'utf8').catch(() => '')).split('\n').filter((l) => l !== ''));
  const found = new Set<string>();
  const commits: string[] = [];
  for (const ref of await git.listRefs({ fs, gitdir, filepath: 'refs' })) {
    commits.push(await git.resolveRef({ fs, gitdir, ref: `refs/${ref}` }));
  }
  const trees: string[] = [];
  for (let oid = commits.pop(); oid !== undefined; oid = commits.pop()) {
    if (found.has(oid)) continue;
    found.add(oid);
    const { commit } = await git.readCommit({ fs, gitdir, oid, cache });
    trees.push(commit.tree);
    if (!shallow.has(oid)) commits.push(...commit.parent);
  }
  for (let oid = trees.pop(); oid !== undefined; oid = trees.pop()) {
    if (found.has(oid)) continue;
    found.add(oid);
    const { tree } = await git.readTree({ fs, gitdir, oid, cache });
    for (const entry of tree) {
      if (entry.type === 'tree') trees.push(entry.oid);
      else if (entry.type === 'blob') found.add(entry.oid);
    }
  }
  return found;
}

/**
 * Writes what the refs reach into one new pack and removes the packs there were, when there are
 * more than `maxPacks`; true when it repacked. The new pack and its index are complete before any
 * old one goes, so a reader finds every object in one or the other. Loose objects stay.
 */
export async function repackIfMany(gitdir: string, maxPacks: number): Promise<boolean> {
  const before = await packsOf(gitdir);
  if (before.length <= maxPacks) return false;
  const cache = {};
  const oids = [...(await reachableObjects(gitdir, cache))];
  const { filename } = await git.packObjects({ fs, gitdir, oids, write: true, cache });
  const written = await git.indexPack({ fs, dir: gitdir, gitdir, filepath: path.join('objects', 'pack', filename), cache });
  if (written.oids.length !== oids.length) throw new Error(`repacking ${gitdir}: wrote ${written.oids.length} of ${oids.length} objects`);
  for (const old of before) {
    if (old === filename) continue;
    const base = path.join(gitdir, 'objects', 'pack', old.replace(/\.pack$/, ''));
    // The index first: a reader lists packs by their index.
    await fs.promises.rm(`${base}.idx`, { force: true });
    await fs.promises.rm(`${base}.pack`, { force: true });
  }
  return true;
}
