import fs from 'node:fs';
import type { PromiseFsClient } from 'isomorphic-git';
import { FileSystem } from 'isomorphic-git/models';

/**
 * node:fs wrapped once for isomorphic-git. Given plain node:fs, each of its calls wraps it again and
 * tests it by calling `readFile()` without a path, twice, which throws: two errors made per blob read
 * cost a quarter of reading a commit's 10,000 small blobs. A wrapped one is taken as it is.
 */
// NOTE: FileSystem's own type is not an fs client's; isomorphic-git recognizes the instance at run time.
export const gitFs = new FileSystem(fs) as unknown as PromiseFsClient;

/** What a failed look-up of a loose object throws: made once (isomorphic-git only asks whether it is there). */
const NOT_LOOSE = Object.assign(new Error('ENOENT: no such loose object'), { code: 'ENOENT' });
const LOOSE_OBJECT = /^(.*\/objects\/[0-9a-f]{2})\/([0-9a-f]{38})$/;

/**
 * node:fs for one read of objects that all exist before it starts (a check worker's request): the
 * repository's folder is looked at once, not once per blob, and a blob's loose file is opened only
 * when its folder lists it. Each blob read first stats the repository and tries the loose file,
 * which for a fetched mirror (packs only) fails: 10,000 blobs spent a fifth of a worker's time there.
 * NOTE: scoped to one request: objects written after it starts (a later fetch) are not seen.
 */
export function snapshotFs(): PromiseFsClient {
  const p = fs.promises;
  const stats = new Map<string, ReturnType<typeof p.stat>>();
  const listings = new Map<string, Promise<Set<string> | undefined>>();
  const listed = (dir: string): Promise<Set<string> | undefined> => {
    let l = listings.get(dir);
    if (l === undefined) {
      l = p.readdir(dir).then((names) => new Set(names), () => undefined);
      listings.set(dir, l);
    }
    return l;
  };
  const client = {
    readFile: async (file: string, opts?: unknown): Promise<Buffer | string> => {
      const loose = LOOSE_OBJECT.exec(file);
      if (loose && !(await listed(loose[1] ?? ''))?.has(loose[2] ?? '')) throw NOT_LOOSE;
      return p.readFile(file, opts as Parameters<typeof p.readFile>[1]);
    },
    stat: (file: string): ReturnType<typeof p.stat> => {
      let s = stats.get(file);
      if (s === undefined) {
        s = p.stat(file);
        stats.set(file, s);
      }
      return s;
    },
    writeFile: p.writeFile, mkdir: p.mkdir, rmdir: p.rmdir, unlink: p.unlink, lstat: p.lstat, readdir: p.readdir, readlink: p.readlink, symlink: p.symlink, rm: p.rm,
  };
  return new FileSystem(client) as unknown as PromiseFsClient;
}
