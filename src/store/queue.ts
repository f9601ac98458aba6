import type { Logger } from '../log.js';
import { queueDepth } from '../metrics.js';
import { componentOf, startLoop, type Loop } from './loop.js';
import type { Store } from './store.js';

/** What one pass of a keyed loop works on: the keys that changed, or everything (start, re-list, resync). */
export interface Batch {
  all: boolean;
  keys: ReadonlySet<string>;
}

/**
 * Keys waiting for work, each once however often it changed (sample-controller's work queue), taken
 * as one batch per pass: a burst of changes to one key costs one recompute of it.
 */
export class WorkQueue {
  private keys = new Set<string>();
  private everything = true;

  add(key: string): void {
    this.keys.add(key);
  }

  /** Ask for a pass over everything. */
  addAll(): void {
    this.everything = true;
  }

  get empty(): boolean {
    return !this.everything && this.keys.size === 0;
  }

  /** Everything waiting, and the queue empty again. */
  take(): Batch {
    const batch = { all: this.everything, keys: this.keys };
    this.keys = new Set();
    this.everything = false;
    return batch;
  }

  /** A batch whose work failed goes back, so the retry sees its keys again. */
  putBack(batch: Batch): void {
    if (batch.all) this.everything = true;
    for (const k of batch.keys) this.keys.add(k);
  }
}

/** How to run a keyed loop. */
export interface KeyedLoopOptions {
  store: Store;
  log: Logger;
  /** Work on one batch; what it throws is handled by kind as in startLoop, and the batch is retried. */
  work: (batch: Batch) => Promise<void>;
  /** Runs before each batch is taken (it may add keys: a seal read that names what changed). */
  prepare?: () => Promise<void>;
  /** Period of the pass over everything (default KEYED_RESYNC_MS); a safety net, not the trigger. */
  resyncMs?: number;
}

/** A running keyed loop: `add` a key that changed; the loop works on it soon. */
export interface KeyedLoop extends Loop {
  add(key: string): void;
  addAll(): void;
}

/** startLoop's own tick, a day (within a timer's 2^31 ms with any jitter): a keyed loop's resync is a pass over everything, set below. */
const NO_TICK_MS = 24 * 3600_000;

/**
 * A keyed loop's default resync: every 5 minutes. It is a pass over everything from the same memory
 * the events keep current (a broken watch re-lists and queues everything; what changes with time has
 * its own wake-ups), so it only backs up the mapping of changes to keys; at 30,000 pods the controller's
 * pass costs ~0.25 s of CPU, which every 30 s was most of an idle controller's CPU. Kubernetes'
 * controller-manager resyncs its informers every 12 h or more.
 */
export const KEYED_RESYNC_MS = 5 * 60_000;

/**
 * startLoop over a WorkQueue instead of watches: callers feed keys from their caches' listeners,
 * and each pass works only on the keys queued since the last; a wake-up with nothing queued does
 * nothing. The periodic resync is a pass over everything, from memory.
 */
export async function startKeyedLoop(opts: KeyedLoopOptions): Promise<KeyedLoop> {
  const queue = new WorkQueue();
  const loop = await startLoop({
    store: opts.store,
    log: opts.log,
    watch: [],
    resyncMs: NO_TICK_MS,
    reconcile: async () => {
      await opts.prepare?.();
      if (queue.empty) return;
      const batch = queue.take();
      queueDepth.set({ component: componentOf(opts.log) }, batch.keys.size);
      opts.log.debug({ all: batch.all, keys: batch.keys.size }, 'pass');
      try {
        await opts.work(batch);
      } catch (err) {
        queue.putBack(batch);
        throw err;
      }
    },
  });
  const addAll = (): void => {
    queue.addAll();
    loop.kick();
  };
  const tick = setInterval(addAll, opts.resyncMs ?? KEYED_RESYNC_MS);
  tick.unref();
  return {
    kick: loop.kick,
    idle: loop.idle,
    stop: async () => {
      clearInterval(tick);
      await loop.stop();
    },
    add: (key) => {
      queue.add(key);
      loop.kick();
    },
    addAll,
  };
}
