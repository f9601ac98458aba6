import type { Logger } from '../log.js';
import { messageOf } from '../errors.js';
import type { DesiredPlan, Limits } from '../manifest/index.js';
import type { DesiredObject } from '../manifest/types.js';
import type { TreeCheck } from './check.js';
import { checkAgainst, filesOf, fullState, type FileChange, type TreeAccess, type TreeState } from './incremental.js';
import { checkBlobsInParallel, checkChangedBlobs, checkCommit, refusedCheck, type IsolateOptions } from './isolate.js';
import type { GitSource } from './source.js';

/** One commit read and checked for sync, and what to keep of it once it sealed. */
export interface ReadCommit {
  check: TreeCheck;
  /** What it changes against the sealed objects it was read against (`against`); none when read whole. */
  plan?: { against: string; plan: DesiredPlan };
  /** The objects not already sealed as they are (every object when read whole): only they need the size check. */
  fresh: readonly DesiredObject[];
  /** How many manifest files were read (all of them when read whole). */
  reread: number;
  /**
   * Its manifest files' checks, changed against the kept commit `against` when the seal's file records
   * are known to be that commit's (every file when read whole); none for a commit with errors.
   */
  files?: FileChange & { against?: string };
  /** Keep this commit as the one the next is read against (call once it sealed, with `files` written). */
  keep(): Promise<void>;
}

/** What a reader needs: the source's repository, how to check (bounds, kinds), and when to read whole again. */
export interface ReaderOptions {
  git: GitSource;
  log: Logger;
  isolate: IsolateOptions & { skipKinds: string[] };
  limits?: Partial<Limits>;
  /** A commit is read whole again after `passes` incremental reads or `ms` since the last whole read. */
  fullCheck: { passes: number; ms: number };
}

/**
 * How sync reads a source's commits: against the last sealed commit's kept state when it has one (only
 * the changed files are read, checked and planned), whole otherwise, first file by file in one worker
 * per core, then, for a commit that fails that way, in one worker (checkCommit), which words its errors.
 * In worker threads, bounded in time and memory: no commit can stall the other loops. The whole read
 * stays as the first check and as a periodic safety check.
 */
export class CommitReader {
  private state: TreeState | undefined;
  /** The commit last read whole to keep (also when it could not be kept: not read again each pass). */
  private keptFor: string | undefined;
  /** The seal's file records in etcd are known to be the kept state's (restored from them, or written by the apply of its commit). */
  private recordsMatch = false;
  private fullAt = 0;
  private incrementals = 0;
  private readonly access: TreeAccess;

  constructor(private readonly opts: ReaderOptions) {
    const { git, isolate } = opts;
    this.access = { root: (c) => git.root(c), diff: (a, b) => git.diff(a, b), checkBlobs: (c, blobs) => checkChangedBlobs(git.tree(c), blobs, isolate) };
  }

  /** The sealed objects of `commit` as kept in memory; undefined when another commit (or none) is kept. */
  objectsOf(commit: string): DesiredObject[] | undefined {
    return this.state?.commit === commit ? this.state.check.objects : undefined;
  }

  /**
   * At start, the sealed commit is kept once, so that the next commit is read against it: rebuilt by
   * `restore` (from etcd, without reading a blob) when it can be, read whole otherwise (unless not
   * `orRead`: a new head is due, which is read whole anyway).
   */
  async keepSealed(commit: string, restore?: (access: TreeAccess) => Promise<TreeState | string>, orRead = true): Promise<void> {
    if (this.keptFor === commit) return;
    const started = Date.now();
    const restored = restore && (await restore(this.access));
    if (restored !== undefined && typeof restored !== 'string') {
      this.keepWhole(commit, restored);
      this.recordsMatch = true;
      this.opts.log.debug({ commit, files: restored.files.size, read: 0, ms: Date.now() - started }, 'kept the sealed commit as etcd has it');
      return;
    }
    if (!orRead) {
      this.keptFor = commit;
      this.opts.log.debug({ commit, ...(restored === undefined ? {} : { why: restored }) }, 'the sealed commit is not kept; the new head is read whole');
      return;
    }
    await (await this.read(commit, undefined)).keep();
    this.keptFor = commit; // also when it could not be kept: not read again each pass
    // Read whole, not restored: the stored records may be anything (the next apply compares them all).
    this.recordsMatch = false;
    this.opts.log.debug({ commit, read: this.state?.files.size ?? 0, ms: Date.now() - started, ...(restored === undefined ? {} : { why: restored }) }, 'kept the sealed commit as read whole from Git');
  }

  /** `commit` read and checked, against the kept state of `sealed` when that is the one kept. */
  async read(commit: string, sealed: string | undefined): Promise<ReadCommit> {
    const { fullCheck, limits, git, isolate } = this.opts;
    const state = this.state;
    const due = this.incrementals >= fullCheck.passes || Date.now() - this.fullAt >= fullCheck.ms;
    if (state && state.commit === sealed && !due) {
      const inc = await checkAgainst(state, commit, this.access, limits);
      if (inc) {
        const keep = (): Promise<void> => {
          this.state = inc.keep();
          this.keptFor = commit;
          this.incrementals++;
          this.recordsMatch = true;
          return Promise.resolve();
        };
        return { check: inc.check, plan: { against: state.commit, plan: inc.plan }, fresh: inc.fresh, reread: inc.reread, files: { ...inc.files, ...(this.recordsMatch ? { against: state.commit } : {}) }, keep };
      }
    }
    let refused: string | undefined;
    const whole = await checkAgainst(undefined, commit, {
      ...this.access,
      checkBlobs: async (c, blobs) => {
        const r = await checkBlobsInParallel(git.tree(c), blobs, isolate);
        if (r && 'refused' in r) refused = r.refused;
        return r && 'files' in r ? r.files : undefined;
      },
    }, limits);
    if (whole) return { check: whole.check, fresh: whole.check.objects, reread: whole.reread, files: whole.files, keep: () => Promise.resolve(this.keepWhole(commit, whole.keep())) };
    if (refused !== undefined) {
      const check = refusedCheck(git.tree(commit), refused);
      return { check, fresh: check.objects, reread: 0, keep: () => Promise.resolve() };
    }
    const full = await checkCommit(git.tree(commit), isolate);
    const keep = async (): Promise<void> => {
      const next = await fullState(commit, full, this.access).catch((err: unknown) => {
        this.opts.log.warn({ err: messageOf(err) }, 'cannot keep the sealed tree; the next commit is read whole');
        return undefined;
      });
      this.keepWhole(commit, next);
    };
    const files = full.blobs && full.errors.length === 0 && full.omitted === 0 ? [...filesOf(full.blobs, full).values()] : undefined;
    return { check: full, fresh: full.objects, reread: full.files, ...(files ? { files: { changed: files, gone: [], count: files.length, all: () => files } } : {}), keep };
  }

  private keepWhole(commit: string, next: TreeState | undefined): void {
    this.keptFor = commit;
    this.recordsMatch = next !== undefined;
    this.state = next;
    this.fullAt = Date.now();
    this.incrementals = 0;
  }
}
