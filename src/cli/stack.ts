import type { Logger } from '../log.js';
import { messageOf } from '../errors.js';

/** Stops one started thing; may hang (a dead etcd, a wedged Docker), so the stack bounds it. */
export type Stopper = () => Promise<void>;

/** What a component start registers with the stack. */
export interface Stack {
  /** Stopped in reverse order of push. */
  stops: Stopper[];
  /** Run after every other stop, even when the stop is forced: `berth up`'s own etcd goes last. */
  last?: Stopper;
}

/** Whole graceful stop: within this, then the process exits whatever still runs (the promise is 5 s). */
export const STOP_BUDGET_MS = 4_000;
/** Share of the budget kept back for the `last` stopper (stopping etcd takes ~0.1 s, a SIGKILL less). */
const LAST_RESERVE_MS = 1_500;

/**
 * Start what `start` starts, run until SIGINT/SIGTERM, then stop it all in reverse order, each stop
 * bounded by one overall budget, and exit. A second signal exits at once (after telling `last` to
 * stop). Exiting explicitly is the point: an etcd or Docker client with a call in flight keeps
 * timers of its own, and a process that waited for them to drain did not stop (issue 11).
 * A failed start stops what did start and rethrows.
 */
export async function runStack(log: Logger, start: (stack: Stack) => Promise<void>): Promise<never> {
  const stack: Stack = { stops: [] };
  let stopping = false;
  const exit = (code: number): void => {
    // pino writes asynchronously: flush what is buffered, but never wait on a blocked stderr.
    const timer = setTimeout(() => process.exit(code), 200);
    log.flush(() => {
      clearTimeout(timer);
      process.exit(code);
    });
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      void stack.last?.().catch(() => undefined); // its first step (SIGTERM to etcd) is synchronous
      exit(1);
      return;
    }
    stopping = true;
    log.info({ signal }, 'stopping');
    void stopAll(stack, log, Date.now() + STOP_BUDGET_MS).then((inTime) => exit(inTime ? 0 : 1));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await start(stack);
  } catch (err) {
    // A signal during the start: onSignal is stopping what started, and exits.
    if (stopping) return new Promise<never>(() => undefined);
    await stopAll(stack, log, Date.now() + STOP_BUDGET_MS);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    throw err;
  }
  // Run until a signal; onSignal exits the process.
  return new Promise<never>(() => undefined);
}

/** Stop in reverse order, `last` after all; false if something did not stop before `deadline`. */
async function stopAll(stack: Stack, log: Logger, deadline: number): Promise<boolean> {
  let inTime = true;
  const bounded = async (stop: Stopper, until: number): Promise<void> => {
    const outcome = await within(stop(), until - Date.now());
    if (outcome === 'timeout') {
      inTime = false;
      log.warn('a component did not stop in time; leaving it');
    } else if (outcome instanceof Error) {
      log.warn({ err: messageOf(outcome) }, 'stop failed');
    }
  };
  const stops = stack.stops.splice(0).reverse();
  for (const stop of stops) await bounded(stop, deadline - (stack.last ? LAST_RESERVE_MS : 0));
  const last = stack.last;
  stack.last = undefined;
  if (last) await bounded(last, deadline);
  return inTime;
}

/** Settle `p` within `ms`: its error, 'timeout', or undefined when it resolved. */
async function within(p: Promise<void>, ms: number): Promise<Error | 'timeout' | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), Math.max(0, ms));
  });
  try {
    return await Promise.race([
      p.then(
        () => undefined,
        (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
