import { createRequire } from 'node:module';
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BerthError, InvalidInputError } from '../errors.js';
import { DEFAULT_LIMITS, type Limits } from '../manifest/index.js';
import type { TreeCheck } from './check.js';
import type { FileCheck } from './incremental.js';
import type { BlobInfo, TreeSource } from './tree.js';

/** What the worker is asked: a commit's tree and how to check it; with `blobs`, only those files, each alone. */
export interface CheckRequest {
  src: TreeSource;
  skipKinds: string[];
  limits: Limits;
  blobs?: { path: string; oid: string }[];
}

/** What the worker answers: the check, or the error that stopped the read (a missing path). */
export type CheckResponse =
  | { ok: true; result: TreeCheck & { blobs?: BlobInfo[] } }
  | { ok: true; files: FileCheck[] }
  | { ok: false; error: { name: string; code: string; message: string; hint?: string } };

/** How much time and memory one commit's check may take. */
export interface IsolateOptions {
  skipKinds?: readonly string[];
  limits?: Partial<Limits>;
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
  const r = await inWorker({ src, skipKinds: [...(opts.skipKinds ?? [])], limits: { ...DEFAULT_LIMITS, ...opts.limits } }, opts);
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
  const r = await inWorker({ src, skipKinds: [...(opts.skipKinds ?? [])], limits: { ...DEFAULT_LIMITS, ...opts.limits }, blobs }, opts);
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
  const parts = splitBlobs(blobs, opts.parallelism ?? os.availableParallelism());
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const outcomes = await Promise.allSettled(parts.map((part) => inWorker({ src, skipKinds: [...(opts.skipKinds ?? [])], limits, blobs: part }, opts)));
  const files: FileCheck[] = [];
  for (const o of outcomes) {
    if (o.status === 'rejected') return undefined;
    if ('refused' in o.value) return { refused: o.value.refused };
    if (!('files' in o.value)) return undefined;
    files.push(...o.value.files);
  }
  return { files };
}

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

// A worker that checked changed blobs is kept for the next incremental check (starting one costs
// more than a one-file check): one idle worker per heap size, unref'd so it never holds the process.
// A worker that passed a bound, failed, or read a whole commit is stopped; each check is alone in it.
const idle = new Map<number, Worker>();

function takeWorker(memoryMb: number): Worker {
  const kept = idle.get(memoryMb);
  idle.delete(memoryMb);
  if (kept) {
    kept.ref();
    return kept;
  }
  const worker = startWorker(memoryMb);
  worker.on('exit', () => {
    if (idle.get(memoryMb) === worker) idle.delete(memoryMb);
  });
  return worker;
}

function keepWorker(memoryMb: number, worker: Worker): void {
  if (idle.has(memoryMb)) {
    void worker.terminate();
    return;
  }
  worker.unref();
  idle.set(memoryMb, worker);
}

function inWorker(request: CheckRequest, opts: IsolateOptions): Promise<WorkerOutcome> {
  const { src } = request;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const memoryMb = opts.memoryMb ?? 512;
  const worker = takeWorker(memoryMb);
  const refused = (message: string): WorkerOutcome => ({ refused: message });
  return new Promise<WorkerOutcome>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void, reuse = false): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      fn();
      if (reuse) keepWorker(memoryMb, worker);
      else void worker.terminate();
    };
    const timer = setTimeout(() => {
      settle(() => resolve(refused(`reading and checking this commit took longer than ${Math.round(timeoutMs / 1000)} s; berth stopped (see the limits on manifests)`)));
    }, timeoutMs);
    const onMessage = (m: CheckResponse): void => {
      settle(() => {
        if (m.ok) resolve('files' in m ? { files: m.files } : { result: m.result });
        else reject(m.error.name === 'InvalidInputError' ? new InvalidInputError(m.error.code, m.error.message, m.error.hint ? { hint: m.error.hint } : {}) : new BerthError(m.error.code, m.error.message));
      }, m.ok && 'files' in m);
    };
    const onError = (err: Error & { code?: string }): void => {
      settle(() => {
        if (err.code === 'ERR_WORKER_OUT_OF_MEMORY') resolve(refused(`reading and checking this commit needed more than ${memoryMb} MiB of memory; berth stopped (see the limits on manifests)`));
        else reject(new BerthError('ECHECK', `checking commit ${src.commit.slice(0, 7)} failed: ${err.message}`, { cause: err }));
      });
    };
    const onExit = (code: number): void => {
      settle(() => reject(new BerthError('ECHECK', `checking commit ${src.commit.slice(0, 7)} stopped (exit ${code})`)));
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
function startWorker(memoryMb: number): Worker {
  const resourceLimits = { maxOldGenerationSizeMb: memoryMb, maxYoungGenerationSizeMb: 64 };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./check-worker.js', import.meta.url), { resourceLimits });
  const body = new URL('./check-worker.ts', import.meta.url).href;
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/package.json').replace(/package\.json$/, 'dist/esm/api/index.mjs')).href;
  const boot = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(body)}); });`;
  return new Worker(boot, { eval: true, resourceLimits });
}
