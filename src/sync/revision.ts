import fs from 'node:fs';
import git from 'isomorphic-git';
import { InvalidInputError } from '../errors.js';
import type { TreeCheck } from './check.js';
import { checkCommit, type IsolateOptions } from './isolate.js';
import { localGitdir, normalizeSubdir } from './source.js';

/**
 * Checks the manifests of `rev` (a branch, tag, `HEAD` or a commit id, full or abbreviated) under
 * `path` of a local repository exactly as sync checks a commit: `berth validate --rev`.
 */
export async function checkRevision(repo: string, rev: string, path: string, opts: IsolateOptions = {}): Promise<{ commit: string; check: TreeCheck }> {
  const gitdir = localGitdir(repo);
  const commit = await resolveRevision(gitdir, rev);
  const check = await checkCommit({ gitdir, commit, subdir: normalizeSubdir(path), name: repo }, opts);
  return { commit, check };
}

/** The commit `rev` names in `gitdir`: a ref, a branch, a tag (an annotated one followed), or a whole or abbreviated id. */
export async function resolveRevision(gitdir: string, rev: string): Promise<string> {
  let oid: string | undefined;
  for (const ref of [rev, `refs/heads/${rev}`, `refs/tags/${rev}`]) {
    oid = await git.resolveRef({ fs, gitdir, ref }).catch(() => undefined);
    if (oid) break;
  }
  if (!oid && /^[0-9a-f]{4,40}$/i.test(rev)) oid = await git.expandOid({ fs, gitdir, oid: rev.toLowerCase() }).catch(() => undefined);
  if (!oid) throw new InvalidInputError('ENOREV', `revision '${rev}' not found in ${gitdir}`, { hint: 'pass --rev with a branch, tag or commit of the repository' });
  // An annotated tag points at a tag object: follow it to its commit.
  const { oid: commit } = await git.readCommit({ fs, gitdir, oid }).catch(async () => {
    const { tag } = await git.readTag({ fs, gitdir, oid: oid ?? '' });
    return { oid: tag.object };
  }).catch(() => {
    throw new InvalidInputError('ENOREV', `revision '${rev}' is not a commit`, { hint: 'pass --rev with a branch, tag or commit of the repository' });
  });
  return commit;
}
