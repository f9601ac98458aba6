// The commits `berth rollback` makes on the source branch: a three-way revert (Git's own), or the
// tree of an earlier commit committed again (`--to`). Made in Git's objects, never in a work tree.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import git from 'isomorphic-git';
import { InvalidInputError } from '../errors.js';
import { shown } from '../manifest/index.js';
import type { RollbackDone } from '../store/index.js';
import { codeOf } from './git-errors.js';
import { restoreMessage, revertMessage, subjectOf } from './revert-message.js';

/** What `berth rollback` asks for: a revert of `commit`, or (`to`) its tree on top of the branch. */
export interface RollbackRequest {
  mode: 'revert' | 'to';
  /** The commit, whole or its first 4 or more digits. */
  commit: string;
  /** A paragraph for the message (an automatic revert says why). */
  reason?: string;
}

/** The branch a rollback commits to: where its objects are, and how its head is read and moved. */
export interface BranchAccess {
  gitdir: string;
  branch: string;
  /** Where the repository is, for messages (credentials redacted). */
  name: string;
  /** The branch head (fetched first from a remote). */
  head(): Promise<string>;
  /** Make `commit`, whose parent is `previous`, the branch head: refused when the branch moved since. */
  publish(commit: string, previous: string): Promise<void>;
}

/** Who berth's commits are by. */
export const BERTH_IDENTITY = { name: 'berth', email: 'berth@localhost' };

/** How far back a rollback looks for its commit in the branch's history. */
const HISTORY_DEPTH = 10_000;

/**
 * Make and publish the commit `req` asks for on top of the branch head: for `revert`, the three-way
 * merge of the head with the commit's parent over the commit (as `git revert` computes it; a
 * conflict is refused naming its files) with Git's own message; for `to`, the tree of the commit.
 * Refused: a commit that is not in the branch's history, a merge or root commit (revert), and a
 * rollback that would change nothing.
 */
export async function makeRollback(repo: BranchAccess, req: RollbackRequest, now: Date): Promise<RollbackDone> {
  const head = await repo.head();
  const target = await expand(repo, req.commit);
  const short = target.slice(0, 7);
  if (target !== head && !(await git.isDescendent({ fs, gitdir: repo.gitdir, oid: head, ancestor: target, depth: HISTORY_DEPTH }).catch(() => false))) {
    throw new InvalidInputError('ENOTINBRANCH', `commit ${short} is not in the history of branch ${repo.branch} of ${repo.name}`, {
      hint: `pick a commit \`git log ${repo.branch}\` lists`,
    });
  }
  const { commit: picked } = await git.readCommit({ fs, gitdir: repo.gitdir, oid: target });
  const { commit: top } = await git.readCommit({ fs, gitdir: repo.gitdir, oid: head });
  const who = { ...BERTH_IDENTITY, timestamp: Math.floor(now.getTime() / 1000), timezoneOffset: 0 };
  let commit: string;
  let message: string;
  if (req.mode === 'revert') {
    const parent = picked.parent[0];
    if (picked.parent.length !== 1 || parent === undefined) {
      throw new InvalidInputError('EREVERTMERGE', `commit ${short} ${picked.parent.length === 0 ? 'is the first commit of the branch: there is nothing before it to go back to' : 'is a merge: which side to keep is a person\'s choice'}`, {
        hint: picked.parent.length === 0 ? 'roll back a later commit' : `run \`git revert -m 1 ${short}\` and push it; berth applies it like any commit`,
      });
    }
    message = revertMessage(subjectOf(picked.message), target, req.reason);
    commit = await revertOnto(repo, { head, target, parent, message, who });
  } else {
    message = restoreMessage(subjectOf(picked.message), target, await undone(repo.gitdir, head, target));
    commit = await git.writeCommit({ fs, gitdir: repo.gitdir, commit: { tree: picked.tree, parent: [head], author: who, committer: who, message } });
  }
  const { commit: made } = await git.readCommit({ fs, gitdir: repo.gitdir, oid: commit });
  if (made.tree === top.tree) {
    throw new InvalidInputError('ENOTHINGTOREVERT', req.mode === 'revert'
      ? `reverting ${short} changes nothing: branch ${repo.branch} no longer has its changes`
      : `branch ${repo.branch} already has the files of ${short}`, { hint: 'nothing to roll back' });
  }
  await repo.publish(commit, head);
  return { commit, target, message };
}

/** A commit id's start as the whole id; refused when it names no commit of the repository, or several. */
async function expand(repo: BranchAccess, prefix: string): Promise<string> {
  try {
    return await git.expandOid({ fs, gitdir: repo.gitdir, oid: prefix.toLowerCase() });
  } catch (err) {
    const several = codeOf(err) === 'AmbiguousError';
    throw new InvalidInputError(several ? 'EAMBIGUOUS' : 'ENOCOMMIT', several ? `commit "${prefix}" names several commits of ${repo.name}` : `commit "${prefix}" is not in ${repo.name}`, {
      hint: several ? 'give more of its id' : `pick a commit \`git log ${repo.branch}\` lists`, cause: err,
    });
  }
}

/** The commits from `head` back to `target` (not included), newest first, along first parents. */
async function undone(gitdir: string, head: string, target: string): Promise<string[]> {
  const out: string[] = [];
  let at: string | undefined = head;
  while (at !== undefined && at !== target && out.length < HISTORY_DEPTH) {
    out.push(at);
    ({ commit: { parent: [at] } } = await git.readCommit({ fs, gitdir, oid: at }));
  }
  return out;
}

/**
 * The revert of `target` on top of `head`, as Git makes it: the three-way merge whose base is
 * `target`'s tree, whose sides are the head's tree and `target`'s parent's. isomorphic-git merges
 * three trees only inside cherryPick (base: the picked commit's parent), so the inverse of `target`
 * is written as a commit of its own (parent `target`, tree of `parent`) and picked onto the head,
 * in a scratch git dir that shares the repository's objects and has the head as its HEAD: the
 * repository's own HEAD, index and work tree are never touched.
 */
async function revertOnto(
  repo: BranchAccess,
  c: { head: string; target: string; parent: string; message: string; who: { name: string; email: string; timestamp: number; timezoneOffset: number } },
): Promise<string> {
  const { commit: before } = await git.readCommit({ fs, gitdir: repo.gitdir, oid: c.parent });
  const inverse = await git.writeCommit({ fs, gitdir: repo.gitdir, commit: { tree: before.tree, parent: [c.target], author: c.who, committer: c.who, message: c.message } });
  const scratch = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'berth-revert-'));
  try {
    await fs.promises.symlink(path.resolve(repo.gitdir, 'objects'), path.join(scratch, 'objects'));
    await fs.promises.mkdir(path.join(scratch, 'refs', 'heads'), { recursive: true });
    await fs.promises.writeFile(path.join(scratch, 'HEAD'), `${c.head}\n`);
    await fs.promises.writeFile(path.join(scratch, 'config'), '[core]\n\tbare = true\n');
    return await git.cherryPick({ fs, gitdir: scratch, oid: inverse, committer: c.who, noUpdateBranch: true, cache: {} });
  } catch (err) {
    if (codeOf(err) === 'MergeConflictError') {
      const files = conflictFiles(err);
      throw new InvalidInputError('EREVERTCONFLICT', `reverting ${c.target.slice(0, 7)} conflicts with later changes to ${files.length > 0 ? files.map((f) => shown(f)).join(', ') : 'its files'}`, {
        hint: `revert it by hand (\`git revert ${c.target.slice(0, 7)}\`, resolve, push), or roll back with --to an earlier commit`,
        cause: err,
      });
    }
    throw err;
  } finally {
    await fs.promises.rm(scratch, { recursive: true, force: true });
  }
}

/** The files isomorphic-git's MergeConflictError names. */
function conflictFiles(err: unknown): string[] {
  if (typeof err !== 'object' || err === null || !('data' in err)) return [];
  const data = err.data;
  if (typeof data !== 'object' || data === null || !('filepaths' in data) || !Array.isArray(data.filepaths)) return [];
  return data.filepaths.filter((f): f is string => typeof f === 'string');
}
