// A remote's mirror gets one pack (and its index) per fetch, and isomorphic-git never repacks: past
// a number of packs, the small ones are merged into one, as `git repack` does with loose packs.
import fs from 'node:fs';
import path from 'node:path';
import git from 'isomorphic-git';

/** The packs of `gitdir`, by file name (`pack-….pack`), each with an index. */
export async function packsOf(gitdir: string): Promise<string[]> {
  const names = await fs.promises.readdir(path.join(gitdir, 'objects', 'pack')).catch(() => []);
  const indexed = new Set(names.filter((n) => n.endsWith('.idx')).map((n) => n.replace(/\.idx$/, '.pack')));
  return names.filter((n) => n.endsWith('.pack') && indexed.has(n));
}

/** Packs smaller than this are merged; larger ones, made by earlier merges or a first fetch, stay as they are. */
const SMALL_PACK_BYTES = 1024 * 1024;

/** The object ids a pack's index (version 2) lists: after its 8-byte header, a 256-entry fan-out whose last entry is the count. */
export function indexedOids(idx: Buffer): string[] {
  if (idx.length < 8 + 1024 || idx.readUInt32BE(0) !== 0xff744f63 || idx.readUInt32BE(4) !== 2) throw new Error('not a version 2 pack index');
  const count = idx.readUInt32BE(8 + 255 * 4);
  const start = 8 + 1024;
  if (idx.length < start + count * 20) throw new Error('a pack index shorter than its count');
  return Array.from({ length: count }, (_, i) => idx.subarray(start + i * 20, start + (i + 1) * 20).toString('hex'));
}

/**
 * When `gitdir` has more than `maxPacks` packs, writes the objects of its small ones (under 1 MiB
 * each: one a fetch) into one new pack and removes them; true when it did. Packs that grew past that
 * stay, so a merge never reads more than about a mebibyte plus what `maxPacks` fetches brought. The
 * new pack and its index are complete before any old one goes, so a reader finds every object in
 * one or the other.
 */
export async function repackIfMany(gitdir: string, maxPacks: number): Promise<boolean> {
  const dir = path.join(gitdir, 'objects', 'pack');
  const packs = await packsOf(gitdir);
  if (packs.length <= maxPacks) return false;
  const small: string[] = [];
  for (const p of packs) if ((await fs.promises.stat(path.join(dir, p))).size < SMALL_PACK_BYTES) small.push(p);
  if (small.length < 2) return false;
  const oids = new Set<string>();
  for (const p of small) for (const oid of indexedOids(await fs.promises.readFile(path.join(dir, p.replace(/\.pack$/, '.idx'))))) oids.add(oid);
  const cache = {};
  const { filename } = await git.packObjects({ fs, gitdir, oids: [...oids], write: true, cache });
  const written = await git.indexPack({ fs, dir: gitdir, gitdir, filepath: path.join('objects', 'pack', filename), cache });
  if (written.oids.length !== oids.size) throw new Error(`repacking ${gitdir}: wrote ${written.oids.length} of ${oids.size} objects`);
  for (const old of small) {
    if (old === filename) continue;
    const base = path.join(dir, old.replace(/\.pack$/, ''));
    // The index first: a reader lists packs by their index.
    await fs.promises.rm(`${base}.idx`, { force: true });
    await fs.promises.rm(`${base}.pack`, { force: true });
  }
  return true;
}
