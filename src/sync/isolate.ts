import { createRequire } from 'node:module';
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BerthError, InvalidInputError } from '../errors.js';
import { DEFAULT_LIMITS, type Limits, type RawFile } from '../manifest/index.js';
import type { TreeCheck } from './check.js';
import type { FileCheck } from './combine.js';
import type { BlobInfo, TreeSource } from './tree.js';

/**
 * What the worker is asked: a commit's tree and how to check it; with `blobs`, only those files of
 * it, each alone; with `raw`, files read from a folder (`berth validate`), each alone.
 */
export type CheckRequest = CheckBase & (
  | { src: TreeSource; blobs?: { path: string; oid: string }[] }
  | { raw: RawFile[] }
);

/** How every file of a request is read: kinds left alone, bounds, and whether plain Secrets are allowed (--allow-plain-secrets). */
export interface CheckBase {
  skipKinds: string[];
  limits: Limits;
  allowPlainSecrets?: boolean;
}

function baseOf(opts: IsolateOptions): CheckBase {
  return { skipKinds: [...(opts.skipKinds ?? [])], limits: { ...DEFAULT_LIMITS, ...opts.limits }, ...(opts.allowPlainSecrets === true ? { allowPlainSecrets: true } : {}) };
}

/** What the worker answers: the check, or the error that stopped the read (a missing path). */
export type CheckResponse = (
  | { ok: true; result: TreeCheck & { blobs?: BlobInfo[] } }
  | { ok: true; files: FileCheck[] }
  | { ok: false; error: { name: string; code: string; message: string; hint?: string } }
) & {
  /** The worker's heap after answering, outside the young generation, so the parent keeps only a small one. */
  heapBytes: number;
};

/** Wall time of one commit's read and check unless told otherwise. */
const DEFAULT_TIMEOUT_MS = 60_000;

/** Heap of a check worker unless told otherwise, in MiB. */
const DEFAULT_MEMORY_MB = 512;

/** How much time and memory one commit's check may take. */
export interface IsolateOptions {
  skipKinds?: readonly string[];
  limits?: Partial<Limits>;
  /** The operator's --allow-plain-secrets: a Secret without a sops envelope is accepted. */
  allowPlainSecrets?: boolean;
  /** Wall time for reading and checking one commit (default 60 s). */
  timeoutMs?: number;
  /** Heap of the worker, in MiB (default 512). */
  memoryMb?: number;
}

/**
 * Reads and checks one commit's manifests in a worker thread, so that no content of a commit can
 * block the process's other loops (the event loop keeps turning while it parses) or take more
 * than `memoryMb` of heap or `timeoutMs` of time: past either, the worker is stopped and the
 * commit gets one error saying which bound it passed.
 */
export async function checkCommit(src: TreeSource, opts: IsolateOptions = {}): Promise<TreeCheck & { blobs?: BlobInfo[] }> {
  const r = await inWorker({ ...baseOf(opts), src }, commitNamed(src), opts);
  if ('refused' in r) return refusedCheck(src, r.refused);
  if ('files' in r) throw new BerthError('ECHECK', 'the check worker answered a whole-commit check with files');
  return r.result;
}

/** A commit refused whole because its check passed a bound of time or memory: one error, at the source's folder. */
export function refusedCheck(src: TreeSource, message: string): TreeCheck {
  return { objects: [], errors: [{ path: src.subdir === '' ? '.' : src.subdir, line: 1, col: 1, message }], omitted: 0, skipped: [], warnings: [], entries: [], files: 0 };
}

/**
 * Reads and checks only `blobs` of a commit, each file alone (an incremental sync's changed files),
 * in the same worker and within the same bounds as checkCommit. Undefined when a bound was passed:
 * the caller runs the full check, which reports it.
 */
export async function checkChangedBlobs(src: TreeSource, blobs: { path: string; oid: string }[], opts: IsolateOptions = {}): Promise<FileCheck[] | undefined> {
  const r = await inWorker({ ...baseOf(opts), src, blobs }, commitNamed(src), opts);
  return 'files' in r ? r.files : undefined;
}

/**
 * Reads and checks every one of `blobs`, each file alone, split over several workers at once (one
 * per core, `parallelism`, each within the same bounds as checkCommit): a whole commit's parse, which
 * is CPU-bound and file by file, then takes about its time divided by the cores. `refused` names the
 * bound a worker passed (the commit is then refused with it, not read again); undefined when the
 * read failed (the folder gone): the caller runs the full check, which words the error.
 */
export async function checkBlobsInParallel(
  src: TreeSource,
  blobs: { path: string; oid: string }[],
  opts: IsolateOptions & { parallelism?: number } = {},
): Promise<{ files: FileCheck[] } | { refused: string } | undefined> {
  return inParallel(blobs, (part, base) => ({ ...base, src, blobs: part }), commitNamed(src), opts);
}

/**
 * checkBlobsInParallel for files read from a folder (`berth validate`): each file checked alone, in
 * one worker per core, within the same bounds. Put them together with combineChecks.
 */
export function checkFilesInParallel(files: RawFile[], opts: IsolateOptions & { parallelism?: number } = {}): Promise<{ files: FileCheck[] } | { refused: string } | undefined> {
  return inParallel(files, (part, base) => ({ ...base, raw: part }), { name: 'the files', subject: 'these files' }, opts);
}

async function inParallel<T>(
  items: T[],
  request: (part: T[], base: CheckBase) => CheckRequest,
  what: Subject,
  opts: IsolateOptions & { parallelism?: number },
): Promise<{ files: FileCheck[] } | { refused: string } | undefined> {
  const ways = Math.max(1, Math.floor(opts.parallelism ?? os.availableParallelism()));
  // Batches, not one part a worker: a worker holds one batch's checks at a time (its heap stays
  // small enough to be kept), and the answers arrive while the other batches are read.
  const parts = splitBlobs(items, Math.max(ways, Math.ceil(items.length / BATCH_FILES)));
  const base = baseOf(opts);
  // One bound of time for the whole read, as for a single worker's.
  const deadline = Date.now() + (opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const answers: FileCheck[][] = [];
  let stop: { refused: string } | 'failed' | undefined;
  let next = 0;
  const runner = async (): Promise<void> => {
    while (stop === undefined && next < parts.length) {
      const i = next++;
      const part = parts[i] ?? [];
      const outcome = await inWorker(request(part, base), what, opts, deadline).catch(() => undefined);
      if (outcome !== undefined && 'refused' in outcome) stop ??= { refused: outcome.refused };
      else if (outcome === undefined || !('files' in outcome)) stop ??= 'failed';
      else answers[i] = outcome.files;
    }
  };
  await Promise.all(Array.from({ length: Math.min(ways, parts.length) }, runner));
  if (stop === 'failed') return undefined;
  if (stop) return stop;
  return { files: answers.flat() };
}

/** Files of a whole read sent to a worker at once (in turn with the other workers). */
const BATCH_FILES = 500;

/** Workers start at a cost: each takes at least this many files (10 files of 1 MiB already pay for two). */
const MIN_FILES_PER_WORKER = 4;

/** `blobs` dealt into at most `ways` parts in turn (paths in a folder tend to be alike in size), none smaller than MIN_FILES_PER_WORKER. */
export function splitBlobs<T>(blobs: readonly T[], ways: number): T[][] {
  const n = Math.max(1, Math.min(Math.floor(ways), Math.ceil(blobs.length / MIN_FILES_PER_WORKER)));
  const parts: T[][] = Array.from({ length: n }, () => []);
  blobs.forEach((b, i) => parts[i % n]?.push(b));
  return parts.filter((p) => p.length > 0);
}

type WorkerOutcome = { result: TreeCheck & { blobs?: BlobInfo[] } } | { files: FileCheck[] } | { refused: string };

// A worker that checked blobs is kept for the next check (starting one costs 100–300 ms of loading,
// and a fresh one runs cold code): up to one per core for each heap size, unref'd so they never hold
// the process, and stopped after IDLE_MS unused so an idle berth gives their memory back; one that
// grew large is replaced by a fresh one. A worker that passed a bound, failed, or read a whole
// commit is stopped; each check is alone in it. While a sync loop runs it holds its pool
// (holdCheckWorkers): warmed workers, one per core, never stopped for idleness and replaced when
// one is stopped, so a commit that comes after hours of quiet is read as fast as one that comes
// after minutes (a cold read of a commit at the limits takes about a third longer).
const idle = new Map<number, Worker[]>();
/** How long an idle check worker nobody holds is kept (exported for the tests). */
export const IDLE_MS = 5 * 60_000;
/**
 * A worker whose heap (outside the young generation) grew past this (it read megabytes) is replaced,
 * not kept: idle, it would hold that memory. A warmed worker holds about 16 MiB, 42 after a 1 MiB file.
 */
const KEEP_HEAP_BYTES = 48 * 2 ** 20;
const expiry = new WeakMap<Worker, NodeJS.Timeout>();
/** How many holders keep the pool of each heap size (holdCheckWorkers). */
const holds = new Map<number, number>();

function idleOf(memoryMb: number): Worker[] {
  let list = idle.get(memoryMb);
  if (list === undefined) {
    list = [];
    idle.set(memoryMb, list);
  }
  return list;
}

function takeWorker(memoryMb: number): Worker {
  const kept = idleOf(memoryMb).pop();
  if (kept) {
    clearTimeout(expiry.get(kept));
    kept.ref();
    return kept;
  }
  return newWorker(memoryMb, false);
}

/**
 * A worker started now, which leaves the idle list when it ends; `warm`: started ahead of need, it
 * first optimizes the code a read runs (warm-up.ts), so a request waits for that only if it comes early.
 */
function newWorker(memoryMb: number, warm: boolean): Worker {
  const worker = startWorker(memoryMb, warm);
  // A worker may fail while idle (warming up): with no listener, its 'error' would end this process.
  // In use, inWorker's own listener reports it; idle, it only exits, and leaves the list below.
  worker.on('error', () => undefined);
  worker.on('exit', () => {
    const list = idleOf(memoryMb);
    const i = list.indexOf(worker);
    if (i >= 0) list.splice(i, 1);
  });
  return worker;
}

function keepWorker(memoryMb: number, worker: Worker): void {
  const list = idleOf(memoryMb);
  if (list.length >= os.availableParallelism()) {
    void worker.terminate();
    return;
  }
  worker.unref();
  list.push(worker);
  if ((holds.get(memoryMb) ?? 0) === 0) expire(worker);
}

function expire(worker: Worker): void {
  clearTimeout(expiry.get(worker));
  expiry.set(worker, setTimeout(() => void worker.terminate(), IDLE_MS).unref());
}

/** The held pool of `memoryMb` filled up again with warmed workers, one per core (a no-op when nobody holds it). */
function refill(memoryMb: number): void {
  if ((holds.get(memoryMb) ?? 0) > 0) prewarmCheckWorkers(memoryMb);
}

/**
 * Keeps one warmed check worker per core ready until the returned function is called (a sync loop,
 * for as long as it runs): none is stopped for idleness, and one that is stopped (it read a whole
 * commit, passed a bound or failed) is replaced by a freshly warmed one. They cost about 60 MB each
 * (loaded code, and the heap the warm-up grew). Once no holder is left, the idle ones stop after IDLE_MS.
 */
export function holdCheckWorkers(memoryMb = DEFAULT_MEMORY_MB): () => void {
  holds.set(memoryMb, (holds.get(memoryMb) ?? 0) + 1);
  prewarmCheckWorkers(memoryMb);
  for (const w of idleOf(memoryMb)) clearTimeout(expiry.get(w));
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = (holds.get(memoryMb) ?? 1) - 1;
    holds.set(memoryMb, left);
    if (left === 0) for (const w of idleOf(memoryMb)) expire(w);
  };
}

let started = 0;

/** How many check workers this process has started (for the tests: a kept worker is not started again). */
export function checkWorkersStarted(): number {
  return started;
}

/** How many check workers of a heap size wait idle now (for the tests and the benchmark). */
export function idleCheckWorkers(memoryMb = DEFAULT_MEMORY_MB): number {
  return idleOf(memoryMb).length;
}

/** Stops every idle check worker now (a process that shuts down, or a measurement that wants a cold start). */
export async function stopIdleCheckWorkers(): Promise<void> {
  const all = [...idle.values()].flatMap((list) => list.splice(0));
  await Promise.all(all.map((w) => w.terminate()));
}

/**
 * Starts the check workers a whole commit's read will use (one per core), so that the first read
 * finds them loaded; a sync loop calls it as it starts. They stop again after IDLE_MS unused.
 */
export function prewarmCheckWorkers(memoryMb = DEFAULT_MEMORY_MB): void {
  const missing = os.availableParallelism() - idleOf(memoryMb).length;
  for (let i = 0; i < missing; i++) keepWorker(memoryMb, newWorker(memoryMb, true));
}

/** What a check reads, as its errors name it: `name` in a failure, `subject` in a refusal. */
interface Subject {
  name: string;
  subject: string;
}

function commitNamed(src: TreeSource): Subject {
  return { name: `commit ${src.commit.slice(0, 7)}`, subject: 'this commit' };
}

/** `request` answered by a worker within the bounds of `opts` (its time up at `deadline` when given: a batch of a read). */
function inWorker(request: CheckRequest, what: Subject, opts: IsolateOptions, deadline?: number): Promise<WorkerOutcome> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const memoryMb = opts.memoryMb ?? DEFAULT_MEMORY_MB;
  const worker = takeWorker(memoryMb);
  const refused = (message: string): WorkerOutcome => ({ refused: message });
  return new Promise<WorkerOutcome>((resolve, reject) => {
    let settled = false;
    /** `heapBytes` given: the worker answered a check of files and may be kept (see keepWorker). */
    const settle = (fn: () => void, heapBytes?: number): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      fn();
      if (heapBytes === undefined) {
        void worker.terminate();
        refill(memoryMb);
      } else if (heapBytes <= KEEP_HEAP_BYTES) keepWorker(memoryMb, worker);
      else {
        // A worker that read a large commit holds a large heap until it is stopped: a fresh one takes its place.
        void worker.terminate();
        if (idleOf(memoryMb).length < os.availableParallelism()) keepWorker(memoryMb, newWorker(memoryMb, true));
      }
    };
    const timer = setTimeout(() => {
      settle(() => resolve(refused(`reading and checking ${what.subject} took longer than ${Math.round(timeoutMs / 1000)} s; berth stopped (see the limits on manifests)`)));
    }, deadline === undefined ? timeoutMs : Math.max(1, deadline - Date.now()));
    const onMessage = (m: CheckResponse): void => {
      settle(() => {
        if (m.ok) resolve('files' in m ? { files: m.files } : { result: m.result });
        else reject(m.error.name === 'InvalidInputError' ? new InvalidInputError(m.error.code, m.error.message, m.error.hint ? { hint: m.error.hint } : {}) : new BerthError(m.error.code, m.error.message));
      }, m.ok && 'files' in m ? m.heapBytes : undefined);
    };
    const onError = (err: Error & { code?: string }): void => {
      settle(() => {
        if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') resolve(refused(`reading and checking ${what.subject} needed more than ${memoryMb} MiB of memory; berth stopped (see the limits on manifests)`));
        else reject(new BerthError('ECHECK', `checking ${what.name} failed: ${err.message}`, { cause: err }));
      });
    };
    const onExit = (code: number): void => {
      settle(() => reject(new BerthError('ECHECK', `checking ${what.name} stopped (exit ${code})`)));
    };
    worker.on('message', onMessage);
    worker.once('error', onError);
    worker.once('exit', onExit);
    worker.postMessage(request);
  });
}

/**
 * The worker runs the built check-worker.js; run from source (tsx, vitest), the .ts file is loaded
 * through tsx's loader, registered in the worker first (a Worker does not inherit it).
 */
function startWorker(memoryMb: number, warm: boolean): Worker {
  started++;
  const resourceLimits = { maxOldGenerationSizeMb: memoryMb, maxYoungGenerationSizeMb: 64 };
  const workerData = { warm };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./check-worker.js', import.meta.url), { resourceLimits, workerData });
  const body = new URL('./check-worker.ts', import.meta.url).href;
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/package.json').replace(/package\.json$/, 'dist/esm/api/index.mjs')).href;
  const boot = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(body)}); });`;
  return new Worker(boot, { eval: true, resourceLimits, workerData });
}
