import fs from 'node:fs/promises';
import path from 'node:path';
import { InvalidInputError } from '../errors.js';
import { isManifestPath } from '../manifest/index.js';

/** Read manifest files from the working tree (for `berth validate`): files as given, folders recursively. */
export async function readManifestPaths(paths: string[]): Promise<{ path: string; text: string }[]> {
  const out: { path: string; text: string }[] = [];
  const visit = async (p: string, explicit: boolean): Promise<void> => {
    let stat;
    try {
      stat = await fs.stat(p);
    } catch {
      throw new InvalidInputError('ENOENT', `${p}: no such file or directory`, { hint: 'pass existing files or folders' });
    }
    if (stat.isDirectory()) {
      const names = (await fs.readdir(p)).filter((n) => n !== '.git' && n !== 'node_modules').sort();
      for (const n of names) await visit(path.join(p, n), false);
    } else if (explicit || isManifestPath(p)) {
      out.push({ path: path.relative(process.cwd(), p) || p, text: await fs.readFile(p, 'utf8') });
    }
  };
  for (const p of paths) await visit(p, true);
  return out;
}
