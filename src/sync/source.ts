import { progressLine, type FetchProgress } from './progress.js';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { InvalidInputError, UnavailableError } from '../errors.js';
import { redactUrl } from '../log.js';
import type { Limits } from '../manifest/index.js';
import type { TreeRead } from './files.js';
import { causeText, codeOf, remoteError } from './git-errors.js';
import type { Keyring } from './keyring.js';
import { signatureProblem } from './signature.js';
import { splitUrlCredentials, urlCredentials, type CredentialProvider } from './credentials.js';
import { repackIfMany } from './repack.js';
import { resolveRevision } from './revision.js';
import { makeRollback, type RollbackRequest } from './revert.js';
import type { RollbackDone } from '../store/index.js';
import { diffTrees, readTreeFiles, subdirTree, type LeafChange, type TreeSource } from './tree.js';

/** A commit at the head of the source branch. */
export interface HeadCommit {
  commit: string;
  author: string;
  message: string;
  time: string;
  /** Applied again because `berth suspend --at` pinned it, not because it is the branch head. */
  pinned?: boolean;
  /** The commit in force before, which this head does not descend from: the branch was force-pushed. */
  rewrote?: string;
}

/** The local ref a rollback commit is pushed from. */
const ROLLBACK_REF = 'refs/berth/rollback';

/** How far back `descends` looks for an ancestor before it says it cannot tell. */
const ANCESTRY_DEPTH = 10_000;

/** Git's depth for "all of it" (`git fetch --unshallow` asks for this). */
const WHOLE_HISTORY = 0x7fffffff;

/** Where a source's Git data lives: a local repository read in place, or a remote mirrored into the data dir. */
export interface GitSourceOptions {
  repo: string;
  branch: string;
  /** Folder inside the repository holding the manifests ('.' for all). */
  path: string;
  /** For remote repositories: where the bare mirror is kept. */
  dataDir: string;
  /** For http(s) repositories that need them (see credentialProvider; default: the URL's own); sent only when the server asks. */
  credentials?: CredentialProvider;
  /** A remote's mirror past this many packs (one a fetch) is repacked into one (default 50). */
  maxPacks?: number;
  /** Told each progress line of a fetch (a terminal shows them on one updating line), then `undefined` when it ends. */
  onProgress?: (line: string | undefined) => void;
}

/** How many packs a mirror gathers (one a fetch) before it is repacked. */
const MAX_PACKS = 50;

/** Reads commits and manifest files of one branch; remote repositories are fetched without checkout. */
export class GitSource {
  /** isomorphic-git's cache of pack indexes and packs: a new one after a repack, whose old packs are gone. */
  private cache = {};
  private readonly remote: boolean;
  private readonly gitdir: string;
  private readonly subdir: string;
  /** The remote's URL without credentials: what isomorphic-git, the mirror's config and errors see. */
  private readonly url: string;
  private readonly credentials: CredentialProvider | undefined;

  constructor(private readonly opts: GitSourceOptions) {
    this.remote = /^https?:\/\//.test(opts.repo);
    this.url = splitUrlCredentials(opts.repo).url;
    this.credentials = opts.credentials ?? urlCredentials(opts.repo);
    this.gitdir = this.remote ? path.join(opts.dataDir, 'repos', createHash('sha256').update(this.url).digest('hex').slice(0, 16)) : localGitdir(opts.repo);
    this.subdir = normalizeSubdir(opts.path);
  }

  /** What this source follows: the repository (a remote's URL without credentials) and branch; webhooks match pushes on it. */
  get followed(): { repo: string; branch: string } {
    return { repo: this.remote ? this.url : this.opts.repo, branch: this.opts.branch };
  }

  /** Where the repository's refs live (for change watchers); undefined for remotes. */
  get localGitdir(): string | undefined {
    return this.remote ? undefined : this.gitdir;
  }

  /** Where git-notes statuses go: the local repository itself, or the mirror and the remote it pushes to. */
  get notesTarget(): { gitdir: string; url?: string; credentials?: CredentialProvider } {
    if (!this.remote) return { gitdir: this.gitdir };
    return { gitdir: this.gitdir, url: this.opts.repo, ...(this.credentials ? { credentials: this.credentials } : {}) };
  }

  /** Resolve the branch head (fetching new objects from a remote first). */
  async head(): Promise<HeadCommit> {
    return this.info(this.remote ? await this.fetchHead() : await this.resolveLocal());
  }

  /**
   * An earlier commit by its id (one sync looked at before). A mirror fetched shallow that lacks it
   * fetches the branch's whole history first (see ensureCommit).
   */
  async commit(commit: string): Promise<HeadCommit> {
    try {
      await this.ensureCommit(commit);
      return await this.info(commit);
    } catch (err) {
      throw new InvalidInputError('ENOCOMMIT', `commit ${commit.slice(0, 7)} is not in ${redactUrl(this.opts.repo)} (any more)`, {
        hint: 'pin a commit `berth history` lists, or `berth resume`', cause: err,
      });
    }
  }

  /**
   * A commit named as git names one (a branch of a local repository, a tag, `HEAD`, a whole id or
   * its first 4 or more digits), after the branch head is fetched from a remote; `berth diff --rev`.
   */
  async revision(rev: string): Promise<HeadCommit> {
    await this.head();
    try {
      return await this.info(await resolveRevision(this.gitdir, rev));
    } catch (err) {
      if (!(await this.unshallow())) throw err;
      return this.info(await resolveRevision(this.gitdir, rev));
    }
  }

  /**
   * Makes sure the mirror holds `commit`: a remote's mirror is first fetched shallow (the head
   * alone, as Flux clones), and later fetches bring every new commit; an older commit (a pinned
   * one, the commit in force when the mirror was made anew, a rollback's target) makes it fetch
   * the branch's whole history once. A commit that is not in it stays missing (the caller's error).
   */
  async ensureCommit(commit: string): Promise<void> {
    if (!(await this.hasCommit(commit))) await this.unshallow();
  }

  /** Fetches the history a shallow mirror lacks; false when there is none to fetch (not a remote, or not shallow). */
  private async unshallow(): Promise<boolean> {
    if (!this.remote) return false;
    const shallow = await fs.promises.readFile(path.join(this.gitdir, 'shallow'), 'utf8').catch(() => '');
    if (shallow.trim() === '') return false;
    await this.fetchBranch(WHOLE_HISTORY);
    return true;
  }

  /**
   * Make the commit `berth rollback` asks for on the branch (see makeRollback) and publish it: pushed
   * to a remote with the source's credentials (never forced), written to a local repository's branch
   * unless that branch is checked out in a work tree. The sync that follows applies it like any push.
   */
  rollback(req: RollbackRequest, now: Date): Promise<RollbackDone> {
    const name = redactUrl(this.opts.repo);
    return makeRollback({
      gitdir: this.gitdir, branch: this.opts.branch, name,
      // A revert reads the commit, its parent and the history between it and the head.
      head: async () => {
        const { commit } = await this.head();
        await this.unshallow();
        return commit;
      },
      publish: (commit, previous) => (this.remote ? this.push(commit) : this.moveLocalBranch(commit, previous, name)),
    }, req, now);
  }

  private async push(commit: string): Promise<void> {
    const shown = redactUrl(this.opts.repo);
    const { credentials } = this;
    await git.writeRef({ fs, gitdir: this.gitdir, ref: ROLLBACK_REF, value: commit, force: true });
    try {
      await git.push({ fs, http, gitdir: this.gitdir, url: this.url, ref: ROLLBACK_REF, remoteRef: `refs/heads/${this.opts.branch}`, ...(credentials ? { onAuth: () => credentials.get() } : {}) });
    } catch (cause) {
      throw remoteError(cause, { url: shown, credentials }, () => codeOf(cause) === 'PushRejectedError' || codeOf(cause) === 'GitPushError'
        ? new InvalidInputError('EPUSH', `${shown} refused the push to ${this.opts.branch}: ${causeText(cause)}`, {
          hint: 'the branch may have moved meanwhile (roll back again), or be protected from berth\'s user', cause,
        })
        : new UnavailableError('EPUSH', `cannot push to ${shown}: ${causeText(cause)}`, { hint: 'check the Git server, and roll back again', cause }));
    }
  }

  private async moveLocalBranch(commit: string, previous: string, name: string): Promise<void> {
    const ref = `refs/heads/${this.opts.branch}`;
    const checkedOut = path.basename(this.gitdir) === '.git' && (await git.currentBranch({ fs, gitdir: this.gitdir, fullname: true }).catch(() => undefined)) === ref;
    if (checkedOut) {
      throw new InvalidInputError('ECHECKEDOUT', `branch ${this.opts.branch} is checked out in ${name}, and berth never writes into a work tree`, {
        hint: 'run `git revert <commit>` there instead (berth applies it like any commit), or serve the repository to berth bare or over http(s)',
      });
    }
    if ((await git.resolveRef({ fs, gitdir: this.gitdir, ref })) !== previous) {
      throw new InvalidInputError('EMOVED', `branch ${this.opts.branch} of ${name} moved while berth made its commit`, { hint: 'roll back again' });
    }
    await git.writeRef({ fs, gitdir: this.gitdir, ref, value: commit, force: true });
  }

  private async info(commit: string): Promise<HeadCommit> {
    const { commit: c } = await git.readCommit({ fs, gitdir: this.gitdir, oid: commit, cache: this.cache });
    return {
      commit,
      author: `${c.author.name} <${c.author.email}>`,
      message: c.message.trim(),
      time: new Date(c.committer.timestamp * 1000).toISOString(),
    };
  }

  /**
   * Every manifest file under the source path at `commit` (repository-root paths), with the
   * links and submodules left out; see readTreeFiles.
   */
  files(commit: string, limits?: Pick<Limits, 'fileBytes' | 'commitBytes'>): Promise<TreeRead> {
    return readTreeFiles(this.tree(commit), limits, this.cache);
  }

  /** Why `commit` is not signed by a key of `keyring`; undefined when it is (see signatureProblem). */
  signatureProblem(commit: string, keyring: Keyring): Promise<string | undefined> {
    return signatureProblem(this.gitdir, commit, keyring, this.cache);
  }

  /**
   * Whether `ancestor` is in the history of `commit` (a fast-forward); false after a force-push or
   * a history rewrite; undefined when it cannot tell within 10,000 commits.
   */
  async descends(commit: string, ancestor: string): Promise<boolean | undefined> {
    // Not in a shallow mirror: older than its first fetch, so the history between is not here.
    if (!(await this.hasCommit(ancestor))) return undefined;
    try {
      return await git.isDescendent({ fs, gitdir: this.gitdir, oid: commit, ancestor, depth: ANCESTRY_DEPTH, cache: this.cache });
    } catch (err) {
      if (codeOf(err) === 'MaxDepthError') return undefined;
      throw err;
    }
  }

  /** Tree id of the source folder at `commit`; a folder that is gone throws ENOPATH. */
  root(commit: string): Promise<string> {
    return subdirTree(this.tree(commit), this.cache);
  }

  /** The manifest files, links and submodules that differ between two trees of the source folder (see diffTrees). */
  diff(before: string | undefined, after: string | undefined): Promise<LeafChange[]> {
    return diffTrees(this.gitdir, before, after, this.subdir, this.cache);
  }

  /** Where `commit`'s manifests are, for a reader in another thread (see checkCommit). */
  tree(commit: string): TreeSource {
    return { gitdir: this.gitdir, commit, subdir: this.subdir, name: redactUrl(this.opts.repo) };
  }

  private async resolveLocal(): Promise<string> {
    try {
      return await git.resolveRef({ fs, gitdir: this.gitdir, ref: `refs/heads/${this.opts.branch}` });
    } catch (cause) {
      const branches = await git.listBranches({ fs, gitdir: this.gitdir }).catch(() => []);
      throw missingBranch(this.opts, branches, cause);
    }
  }

  private async fetchHead(): Promise<string> {
    const { url, credentials } = this;
    // Errors show the URL as given, with any credentials in it redacted.
    const shown = redactUrl(this.opts.repo);
    const auth = credentials ? { onAuth: () => credentials.get() } : {};
    let refs: { ref: string; oid: string }[];
    try {
      refs = await git.listServerRefs({ http, url, prefix: 'refs/heads/', ...auth });
    } catch (cause) {
      throw remoteError(cause, { url: shown, credentials }, () => new UnavailableError('EREPOUNREACHABLE', `cannot reach repository ${shown}: ${causeText(cause)}`, {
        hint: 'check the --repo URL and that the Git server is up',
        cause,
      }));
    }
    const head = refs.find((r) => r.ref === `refs/heads/${this.opts.branch}`);
    if (!head) throw missingBranch(this.opts, refs.map((r) => r.ref.replace('refs/heads/', '')));
    if (!(await this.hasCommit(head.oid))) {
      await fs.promises.mkdir(this.gitdir, { recursive: true });
      // A mirror's first fetch takes the head alone (no history: sync reads one commit's tree);
      // later fetches bring every commit since the ones it has, so the history it holds stays whole
      // from there on (force-push detection walks it).
      const first = !fs.existsSync(path.join(this.gitdir, 'HEAD'));
      await git.init({ fs, gitdir: this.gitdir, bare: true });
      await git.addRemote({ fs, gitdir: this.gitdir, remote: 'origin', url, force: true });
      await this.fetchBranch(first ? 1 : undefined).catch(async (err: unknown) => {
        // A server that cannot send shallow history sends all of it.
        if (!first || codeOf((err as { cause?: unknown }).cause) !== 'RemoteCapabilityError') throw err;
        await this.fetchBranch(undefined);
      });
      // isomorphic-git tells the server what the mirror has by the local branch of the fetched name
      // (not the remote-tracking ref it updates): without it each fetch brought the whole history again.
      await git.writeRef({ fs, gitdir: this.gitdir, ref: `refs/heads/${this.opts.branch}`, value: head.oid, force: true });
    }
    return head.oid;
  }

  /**
   * Merges a remote's mirror's small packs once it holds more than `maxPacks` (see repackIfMany);
   * true when it did. Sync calls it after a commit's outcome is recorded, off the commit's path; a
   * mirror that cannot be repacked works as it is (more packs, more files), so the caller logs the
   * error and carries on. A local repository is never written to: false.
   */
  async repack(): Promise<boolean> {
    if (!this.remote || !(await repackIfMany(this.gitdir, this.opts.maxPacks ?? MAX_PACKS))) return false;
    this.cache = {};
    return true;
  }

  /** Fetches the branch from the remote: `depth` commits of history from its head, or all it lacks. */
  private async fetchBranch(depth: number | undefined): Promise<void> {
    const { credentials } = this;
    const shown = redactUrl(this.opts.repo);
    const { onProgress } = this.opts;
    try {
      await git.fetch({
        fs, http, gitdir: this.gitdir, remote: 'origin', ref: this.opts.branch, singleBranch: true, tags: false, cache: this.cache,
        ...(depth === undefined ? {} : { depth }), ...(credentials ? { onAuth: () => credentials.get() } : {}),
        ...(onProgress ? { onProgress: (p: FetchProgress) => onProgress(progressLine(shown, p)) } : {}),
      });
    } catch (cause) {
      throw remoteError(cause, { url: shown, credentials }, () => new UnavailableError('EFETCH', `cannot fetch ${this.opts.branch} from ${shown}: ${causeText(cause)}`, {
        hint: 'check the Git server; berth retries',
        cause,
      }));
    } finally {
      onProgress?.(undefined);
    }
  }

  private async hasCommit(oid: string): Promise<boolean> {
    try {
      await git.readCommit({ fs, gitdir: this.gitdir, oid, cache: this.cache });
      return true;
    } catch {
      return false;
    }
  }
}

function missingBranch(opts: GitSourceOptions, branches: string[], cause?: unknown): InvalidInputError {
  const known = branches.length > 0 ? `: it has ${branches.sort().join(', ')}` : '';
  return new InvalidInputError('ENOBRANCH', `branch '${opts.branch}' not found in ${redactUrl(opts.repo)}${known}`, {
    hint: 'pass --branch with an existing branch',
    cause,
  });
}

/** A work tree's `.git`, or the folder itself when it is a bare repository. */
export function localGitdir(repo: string): string {
  const abs = path.resolve(repo);
  const dotGit = path.join(abs, '.git');
  if (fs.existsSync(dotGit)) return dotGit;
  if (fs.existsSync(path.join(abs, 'HEAD')) && fs.existsSync(path.join(abs, 'objects'))) return abs;
  throw new InvalidInputError('ENOREPO', `${repo} is not a Git repository`, { hint: 'pass --repo with a repository path or an http(s) URL' });
}

/** A folder of the repository as the tree reader wants it: '' for the root, no `./`, no trailing `/`. */
export function normalizeSubdir(p: string): string {
  const n = path.posix.normalize(p.replace(/\\/g, '/')).replace(/^\.\/?/, '').replace(/\/+$/, '');
  return n === '.' ? '' : n;
}
