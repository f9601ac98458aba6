import type { Logger } from '../log.js';
import { kindOf, messageOf, type ErrorKind } from '../errors.js';
import { countReconcile } from '../metrics.js';
import type { Closer, Store } from './store.js';

/** How a component reacts: watch these prefixes, and on any change (or a tick) reconcile from a fresh read. */
export interface LoopOptions {
  store: Store;
  log: Logger;
  /** Key prefixes whose changes wake the loop. */
  watch: string[];
  /**
   * Recompute everything from the store and act. What it throws is handled by kind (errors.ts
   * `kindOf`): a conflict re-runs at once, an input error waits for the next change, anything else
   * is retried with backoff. A reconcile records a bad input of its own (a rejected commit) itself.
   */
  reconcile: () => Promise<void>;
  /**
   * Periodic full reconcile even without events (default 30 s); a safety net, not the trigger. Each
   * wait is jittered by ±10% (RESYNC_JITTER), so berths polling one Git server do not fall in step.
   */
  resyncMs?: number;
  /**
   * Called once when transient failures have gone on for `troubleAfterMs`, and at once for an input
   * error the reconcile did not record itself (again only if its message changes), with that error:
   * where a component shows it (sync: the source's `error` in `berth status`). Its own failure is
   * logged, not retried.
   */
  onTrouble?: (err: unknown, since: Date) => Promise<void>;
  /** Called once when a reconcile succeeds after `onTrouble`. */
  onRecovered?: () => Promise<void>;
  /** How long transient failures go on before they are logged (once) and `onTrouble` is called (default 10 s). */
  troubleAfterMs?: number;
  /** Bounds of the retry backoff (default 100 ms to 10 s). */
  backoff?: Backoff;
  /** [0, 1) source of the jitter of the backoff and the resync (default Math.random). */
  random?: () => number;
  /** Extra wake-ups from outside the store (Docker events, git triggers) call the returned `kick`. */
}

/** The longest wait a Node timer keeps (a longer one fires after 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The periodic resync waits resyncMs times a factor drawn from [1 - this, 1 + this). */
export const RESYNC_JITTER = 0.1;

/** A running loop. */
export interface Loop {
  /** Ask for a reconcile soon; many kicks while one runs coalesce into one more run. */
  kick(): void;
  /** Resolves once no reconcile is running or pending. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/** Capped exponential backoff. */
export interface Backoff {
  minMs: number;
  maxMs: number;
}

const DEFAULT_BACKOFF: Backoff = { minMs: 100, maxMs: 10_000 };
const TROUBLE_AFTER_MS = 10_000;
/** Conflicts in a row re-run at once; past this, another writer keeps winning and backoff takes over. */
export const IMMEDIATE_CONFLICT_RETRIES = 5;

/** What a loop does after a failed reconcile. */
export type Reaction =
  /** Re-run now (a lost compare-and-swap: re-read and try again). */
  | { retry: 'now' }
  /** Do not retry: the input is wrong, and the next change (watch event, commit, tick) brings a new one. */
  | { retry: 'on-change' }
  /** Transient: retry after a backoff. */
  | { retry: 'backoff' };

/**
 * The loops' one error policy, by kind (sample-controller: forget a permanent error, requeue a
 * transient one rate-limited; Flux: stalled vs. waiting). Pure: `conflictsInARow` counts this one.
 */
export function reactionTo(kind: ErrorKind, conflictsInARow: number): Reaction {
  if (kind === 'input') return { retry: 'on-change' };
  if (kind === 'conflict' && conflictsInARow <= IMMEDIATE_CONFLICT_RETRIES) return { retry: 'now' };
  return { retry: 'backoff' };
}

/**
 * Delay before retry number `failures` (1-based): min·2^(failures-1) capped at max, with "equal
 * jitter" (half fixed, half random), so that loops failing together (one etcd outage) do not retry
 * in step, and the delay never drops below half the exponential step.
 */
export function retryDelay(failures: number, backoff: Backoff, random: number): number {
  const step = Math.min(backoff.maxMs, backoff.minMs * 2 ** Math.min(30, Math.max(0, failures - 1)));
  return Math.round(step / 2 + (step / 2) * random);
}

/**
 * The one loop shape of every component: watch from the current revision, then reconcile on each
 * change. The reconcile reads its whole view itself, so nothing is remembered only in this process.
 * Failures are handled by kind (`reactionTo`); a transient streak is logged once it has lasted
 * `troubleAfterMs`, and once more when it ends, never once per retry.
 */
export async function startLoop(opts: LoopOptions): Promise<Loop> {
  const { store, log } = opts;
  const backoff = opts.backoff ?? DEFAULT_BACKOFF;
  const random = opts.random ?? Math.random;
  const troubleAfterMs = opts.troubleAfterMs ?? TROUBLE_AFTER_MS;
  const component = componentOf(log);
  let running: Promise<void> | undefined;
  let pending = false;
  let stopped = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let idleWaiters: (() => void)[] = [];
  const watches: Closer[] = [];
  /** The current streak of transient failures. */
  let streak: { since: number; failures: number; reported: boolean } | undefined;
  let conflicts = 0;
  /** The input error last logged, so a resync that meets it again stays quiet. */
  let inputError: string | undefined;
  /** onTrouble was called and onRecovered not yet. */
  let troubled = false;

  const settleIdle = (): void => {
    if (running || pending) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const w of waiters) w();
  };

  const hook = async (name: string, fn: (() => Promise<void>) | undefined): Promise<void> => {
    try {
      await fn?.();
    } catch (err) {
      log.warn({ err: messageOf(err) }, `${name} failed`);
    }
  };

  const succeeded = async (): Promise<void> => {
    conflicts = 0;
    inputError = undefined;
    const ended = streak;
    streak = undefined;
    if (ended?.reported) log.info({ failures: ended.failures, ms: Date.now() - ended.since }, 'reconcile recovered');
    if (troubled) {
      troubled = false;
      await hook('onRecovered', opts.onRecovered);
    }
  };

  const trouble = async (err: unknown, since: number): Promise<void> => {
    troubled = true;
    const onTrouble = opts.onTrouble;
    await hook('onTrouble', onTrouble && (() => onTrouble(err, new Date(since))));
  };

  const failed = async (err: unknown): Promise<void> => {
    const kind = kindOf(err);
    conflicts = kind === 'conflict' ? conflicts + 1 : 0;
    const reaction = reactionTo(kind, conflicts);
    if (reaction.retry === 'now') {
      log.debug({ err: messageOf(err), conflicts }, 'conflict; reconciling again at once');
      pending = true;
      return;
    }
    if (reaction.retry === 'on-change') {
      const message = messageOf(err);
      streak = undefined;
      if (message === inputError) return;
      inputError = message;
      log.error({ err: message }, 'input rejected; waiting for it to change');
      await trouble(err, Date.now());
      return;
    }
    streak ??= { since: Date.now(), failures: 0, reported: false };
    streak.failures++;
    const delay = retryDelay(streak.failures, backoff, random());
    log.debug({ err: messageOf(err), kind, failures: streak.failures, retryInMs: delay }, 'reconcile failed; retrying with backoff');
    if (!streak.reported && Date.now() - streak.since >= troubleAfterMs) {
      streak.reported = true;
      log.warn({ err: messageOf(err), kind, failures: streak.failures, ms: Date.now() - streak.since }, 'reconcile keeps failing; retrying with backoff');
      await trouble(err, streak.since);
    }
    clearTimeout(retryTimer);
    retryTimer = setTimeout(kick, delay);
  };

  const run = async (): Promise<void> => {
    while (pending && !stopped) {
      pending = false;
      const began = performance.now();
      try {
        await opts.reconcile();
        countReconcile(component, (performance.now() - began) / 1000);
        await succeeded();
      } catch (err) {
        countReconcile(component, (performance.now() - began) / 1000, err);
        await failed(err);
      }
    }
  };

  function kick(): void {
    if (stopped) return;
    pending = true;
    if (running) return;
    running = run().finally(() => {
      running = undefined;
      // A kick that came after run's last look at `pending` (a listener fired between its end and
      // this callback) found `running` still set: run it now, or it would wait for the next event.
      if (pending && !stopped) kick();
      else settleIdle();
    });
  }

  const openWatches = async (): Promise<void> => {
    const from = (await store.revision()) + 1;
    for (const prefix of opts.watch) {
      watches.push(
        store.watch(prefix, from, kick, (err) => {
          if (stopped) return;
          log.debug({ err: messageOf(err), prefix }, 'watch broke; re-listing');
          void reopen();
        }),
      );
    }
  };

  // One reopen at a time; during an outage it is retried with backoff and logged once.
  let reopening = false;
  let reopenFailures = 0;
  let reopenSince = 0;
  let reopenWarned = false;
  let reopenTimer: NodeJS.Timeout | undefined;
  const reopen = async (): Promise<void> => {
    if (reopening || stopped) return;
    reopening = true;
    const old = watches.splice(0);
    await Promise.allSettled(old.map((w) => w.close()));
    try {
      await openWatches();
      if (reopenWarned) log.info({ failures: reopenFailures }, 'watch reopened');
      reopenFailures = 0;
      reopenWarned = false;
    } catch (err) {
      if (reopenFailures++ === 0) reopenSince = Date.now();
      // Like a failing reconcile: said once, after a while, not on every retry of an outage.
      if (!reopenWarned && Date.now() - reopenSince >= troubleAfterMs) {
        reopenWarned = true;
        log.warn({ err: messageOf(err), failures: reopenFailures }, 'cannot reopen watch; retrying with backoff');
      } else {
        log.debug({ err: messageOf(err), failures: reopenFailures }, 'cannot reopen watch; retrying');
      }
      reopenTimer = setTimeout(() => void reopen(), retryDelay(reopenFailures, backoff, random()));
      reopenTimer.unref();
    } finally {
      reopening = false;
    }
    kick();
  };

  await openWatches();
  const resyncMs = opts.resyncMs ?? 30_000;
  let tick: ReturnType<typeof setTimeout> | undefined;
  const schedule = (): void => {
    if (stopped) return;
    tick = setTimeout(() => {
      kick();
      schedule();
      // NOTE: Node runs a timer of more than 2^31 - 1 ms after 1 ms: a jittered long period must stay below it.
    }, Math.min(MAX_TIMER_MS, resyncMs * (1 - RESYNC_JITTER + 2 * RESYNC_JITTER * random())));
  };
  schedule();
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
      clearTimeout(tick);
      clearTimeout(retryTimer);
      clearTimeout(reopenTimer);
      await Promise.allSettled(watches.map((w) => w.close()));
      await running;
    },
  };
}

/** The component a loop's logger speaks for (its `component` binding), naming its metrics. */
export function componentOf(log: Logger): string {
  const bound = (log.bindings() as { component?: unknown }).component;
  return typeof bound === 'string' ? bound : 'loop';
}
