import type { Logger } from '../log.js';
import { messageOf } from '../errors.js';
import type { Closer, Store } from './store.js';

/** How a component reacts: watch these prefixes, and on any change (or a tick) reconcile from a fresh read. */
export interface LoopOptions {
  store: Store;
  log: Logger;
  /** Key prefixes whose changes wake the loop. */
  watch: string[];
  /** Recompute everything from the store and act; throwing means "try again later". */
  reconcile: () => Promise<void>;
  /** Periodic full reconcile even without events (default 30 s); a safety net, not the trigger. */
  resyncMs?: number;
  /** Extra wake-ups from outside the store (Docker events, git triggers) call the returned `kick`. */
}

/** A running loop. */
export interface Loop {
  /** Ask for a reconcile soon; many kicks while one runs coalesce into one more run. */
  kick(): void;
  /** Resolves once no reconcile is running or pending. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

const MIN_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 10_000;

/**
 * The one loop shape of every component: watch from the current revision, then reconcile on each
 * change. The reconcile reads its whole view itself, so nothing is remembered only in this process;
 * a failed reconcile is retried with exponential backoff and logged once per failure streak.
 */
export async function startLoop(opts: LoopOptions): Promise<Loop> {
  const { store, log } = opts;
  let running: Promise<void> | undefined;
  let pending = false;
  let stopped = false;
  let failures = 0;
  let retryTimer: NodeJS.Timeout | undefined;
  let idleWaiters: (() => void)[] = [];
  const watches: Closer[] = [];

  const settleIdle = (): void => {
    if (running || pending) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const w of waiters) w();
  };

  const run = async (): Promise<void> => {
    while (pending && !stopped) {
      pending = false;
      try {
        await opts.reconcile();
        if (failures > 0) log.info({ after: failures }, 'reconcile recovered');
        failures = 0;
      } catch (err) {
        failures++;
        if (failures === 1) log.warn({ err: messageOf(err) }, 'reconcile failed; retrying with backoff');
        else log.debug({ err: messageOf(err), failures }, 'reconcile failed again');
        const delay = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** (failures - 1));
        clearTimeout(retryTimer);
        retryTimer = setTimeout(kick, delay);
      }
    }
  };

  function kick(): void {
    if (stopped) return;
    pending = true;
    if (running) return;
    running = run().finally(() => {
      running = undefined;
      settleIdle();
    });
  }

  const openWatches = async (): Promise<void> => {
    const from = (await store.revision()) + 1;
    for (const prefix of opts.watch) {
      watches.push(
        store.watch(prefix, from, kick, (err) => {
          if (stopped) return;
          log.warn({ err: messageOf(err), prefix }, 'watch broke; re-listing');
          void reopen();
        }),
      );
    }
  };

  const reopen = async (): Promise<void> => {
    const old = watches.splice(0);
    await Promise.allSettled(old.map((w) => w.close()));
    try {
      await openWatches();
    } catch (err) {
      log.warn({ err: messageOf(err) }, 'cannot reopen watch; retrying');
      setTimeout(() => void reopen(), 1000).unref();
    }
    kick();
  };

  await openWatches();
  const tick = setInterval(kick, opts.resyncMs ?? 30_000);
  kick();

  return {
    kick,
    idle: () =>
      new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        settleIdle();
      }),
    stop: async () => {
      stopped = true;
      clearInterval(tick);
      clearTimeout(retryTimer);
      await Promise.allSettled(watches.map((w) => w.close()));
      await running;
    },
  };
}
