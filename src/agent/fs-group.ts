// A pod's fsGroup on its volumes' files, as kubelet's SetVolumeOwnership gives it: every file and
// folder of the volume gets the group (its owner kept), group read and write (read only for a
// read-only volume such as a ConfigMap's), and folders the setgid bit, so what a container makes
// there later gets the group too. Links get the group but keep their mode (a chmod would reach the
// file they point at).
import fs from 'node:fs/promises';
import path from 'node:path';
import { messageOf } from '../errors.js';

/** Added to a file's mode: group read and write, or read for a read-only volume (kubelet's rwMask, roMask). */
const RW = 0o660;
const RO = 0o440;
/** Added to a folder's mode besides: owner and group may enter it (execMask), and setgid. */
const DIR = 0o110 | 0o2000;

/** The mode kubelet gives a volume entry of mode `mode` under an fsGroup (pure). */
export function fsGroupMode(mode: number, isDir: boolean, readOnly: boolean): number {
  return (mode & 0o7777) | (readOnly ? RO : RW) | (isDir ? DIR : 0);
}

/**
 * Give everything under `root` (and `root` itself) group `gid` as kubelet does for a pod's fsGroup.
 * Never follows a link. Returns why it could not, if it could not (an agent that is not root may
 * not give files a group it is not in); it goes on past a failure, as kubelet does.
 */
export async function setVolumeOwnership(root: string, gid: number, readOnly: boolean): Promise<string | undefined> {
  let problem: string | undefined;
  const visit = async (at: string): Promise<void> => {
    const st = await fs.lstat(at);
    try {
      await fs.lchown(at, -1, gid);
      if (!st.isSymbolicLink()) await fs.chmod(at, fsGroupMode(st.mode, st.isDirectory(), readOnly));
    } catch (err) {
      problem ??= `cannot give ${at} the pod's fsGroup ${gid}: ${messageOf(err)}`;
    }
    if (st.isDirectory()) for (const entry of await fs.readdir(at)) await visit(path.join(at, entry));
  };
  await visit(root);
  return problem;
}
