import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { InvalidInputError } from '../errors.js';
import { DEFAULT_LIMITS, isManifestPath, type Limits, type ManifestError, type RawFile } from '../manifest/index.js';

/** An entry of a tree that is not read: a link, a submodule, a special file. Reported by path, never followed. */
export interface SkippedEntry {
  path: string;
  /** What it is, and that it was not read: `symbolic link, not followed`. */
  reason: string;
}

/** The manifest files of a tree (a folder or a commit), what was left out, and files that could not be read. */
export interface TreeRead {
  files: RawFile[];
  skipped: SkippedEntry[];
  /** Files that exist but could not be read (permissions, I/O), each at its path. */
  errors: ManifestError[];
}

// Never block on a FIFO or a device, never follow a link swapped in after lstat.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * Reads manifest files from the working tree (for `berth validate`): files as given, folders
 * recursively. Only regular files are opened: symbolic links (also one given by name: a glob of a
 * checked-out repository expands to them too) are reported and never followed, as sync does with a
 * commit's tree; FIFOs, sockets and devices are reported and never opened. Sizes are bounded before
 * reading (a file over the limit is not read). The same file reached twice is read once.
 * A path that does not exist throws (a usage error); every other problem is at its path.
 */
export async function readManifestPaths(paths: readonly string[], limits: Pick<Limits, 'fileBytes' | 'commitBytes'> = DEFAULT_LIMITS): Promise<TreeRead> {
  const out: TreeRead = { files: [], skipped: [], errors: [] };
  const seen = new Set<string>();
  let total = 0;
  const shown = (p: string): string => path.relative(process.cwd(), p) || p;

  const readFile = async (p: string): Promise<void> => {
    let handle: fs.FileHandle | undefined;
    try {
      handle = await fs.open(p, OPEN_FLAGS);
      const stat = await handle.stat();
      if (!stat.isFile()) {
        out.skipped.push({ path: shown(p), reason: `${kindOf(stat)}, not a regular file` });
        return;
      }
      const id = `${stat.dev}:${stat.ino}`;
      if (seen.has(id)) return;
      seen.add(id);
      // Over a limit the bytes are not read: the check names the file from its size. Only files
      // within it count towards the total, as checkFiles counts them.
      if (stat.size > limits.fileBytes) {
        out.files.push({ path: shown(p), bytes: new Uint8Array(0), size: stat.size });
        return;
      }
      if (total > limits.commitBytes) {
        out.files.push({ path: shown(p), bytes: new Uint8Array(0), size: stat.size, unread: true });
        return;
      }
      total += stat.size;
      out.files.push({ path: shown(p), bytes: await handle.readFile() });
    } catch (err) {
      if (codeOf(err) === 'ELOOP') out.skipped.push({ path: shown(p), reason: 'symbolic link, not followed' });
      else out.errors.push({ path: shown(p), line: 1, col: 1, message: `cannot read: ${describeError(err)}` });
    } finally {
      await handle?.close();
    }
  };

  const visit = async (p: string, explicit: boolean): Promise<void> => {
    let stat;
    try {
      stat = await fs.lstat(p);
    } catch (err) {
      if (explicit && codeOf(err) === 'ENOENT') {
        throw new InvalidInputError('ENOENT', `${p}: no such file or directory`, { hint: 'pass existing files or folders' });
      }
      out.errors.push({ path: shown(p), line: 1, col: 1, message: `cannot read: ${describeError(err)}` });
      return;
    }
    if (stat.isSymbolicLink()) {
      out.skipped.push({ path: shown(p), reason: 'symbolic link, not followed' });
    } else if (stat.isDirectory()) {
      let names: string[];
      try {
        names = await fs.readdir(p);
      } catch (err) {
        out.errors.push({ path: shown(p), line: 1, col: 1, message: `cannot read folder: ${describeError(err)}` });
        return;
      }
      for (const n of names.filter((n) => n !== '.git' && n !== 'node_modules').sort()) await visit(path.join(p, n), false);
    } else if (!stat.isFile()) {
      out.skipped.push({ path: shown(p), reason: `${kindOf(stat)}, not a regular file` });
    } else if (explicit || isManifestPath(p)) {
      await readFile(p);
    }
  };
  for (const p of paths) await visit(p, true);
  return out;
}

function kindOf(stat: { isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isDirectory(): boolean }): string {
  if (stat.isFIFO()) return 'FIFO';
  if (stat.isSocket()) return 'socket';
  if (stat.isCharacterDevice()) return 'character device';
  if (stat.isBlockDevice()) return 'block device';
  if (stat.isDirectory()) return 'folder';
  return 'special file';
}

function codeOf(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
}

const DESCRIBED: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EIO: 'input/output error',
  EISDIR: 'is a folder',
  ENOENT: 'no such file or directory (it went away while being read)',
};

function describeError(err: unknown): string {
  const code = codeOf(err);
  return (code && DESCRIBED[code]) ?? (code ? `error ${code}` : String(err));
}
