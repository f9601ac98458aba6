// The body of checkCommit's worker thread: read a commit's tree and check it, off the main thread.
import { getHeapSpaceStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { BerthError } from '../errors.js';
import { checkTree } from './check.js';
import { checkAlone } from './combine.js';
import { checkBlobs } from './incremental.js';
import type { CheckRequest, CheckResponse } from './isolate.js';
import { readTreeFiles } from './tree.js';
import { warmUp } from './warm-up.js';

// The yaml library reads process.env.LOG_TOKENS once per token (186,000 for 1 MB of ConfigMap), and
// process.env answers each read from the C++ side; this thread's copy as a plain object answers it as
// a property lookup. Nothing here sets the environment.
process.env = { ...process.env };

// A worker started ahead of need (isolate.ts's pool) optimizes the code it runs before its first request.
if ((workerData as { warm?: boolean } | undefined)?.warm === true) warmUp();

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

async function run(request: CheckRequest): Promise<DistributiveOmit<CheckResponse, 'heapBytes'>> {
  try {
    const opts = { skipKinds: request.skipKinds, limits: request.limits, allowPlainSecrets: request.allowPlainSecrets === true };
    if ('raw' in request) return { ok: true, files: request.raw.map((f) => checkAlone(f, '', opts)) };
    if (request.blobs) return { ok: true, files: await checkBlobs(request.src.gitdir, request.blobs, opts) };
    const read = await readTreeFiles(request.src, { ...request.limits });
    return { ok: true, result: { ...checkTree(read, opts), blobs: read.blobs } };
  } catch (err) {
    if (err instanceof BerthError) return { ok: false, error: { name: err.name, code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}) } };
    return { ok: false, error: { name: 'Error', code: 'ECHECK', message: err instanceof Error ? err.message : String(err) } };
  }
}

/**
 * The heap this thread holds outside V8's young generation. The young generation's semi-spaces stay
 * committed once grown (up to the worker's maxYoungGenerationSizeMb) whatever was read: counted in,
 * the heap of a warmed worker that read one small file was already past the parent's bound.
 */
function oldGenerationBytes(): number {
  return getHeapSpaceStatistics().filter((s) => !s.space_name.startsWith('new_')).reduce((n, s) => n + s.space_size, 0);
}

// One request at a time: the parent sends the next only after this one's answer.
parentPort?.on('message', (request: CheckRequest) => {
  void run(request).then((response) => parentPort?.postMessage({ ...response, heapBytes: oldGenerationBytes() }));
});
