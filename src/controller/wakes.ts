/** Call `fn` once after `ms`; returns what cancels it. Tests pass a fake one that moves with their clock. */
export type SetTimer = (fn: () => void, ms: number) => () => void;

/** The system's timers; unref'd, so a pending wake-up never keeps the process alive. */
export const systemTimer: SetTimer = (fn, ms) => {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return () => clearTimeout(timer);
};

/**
 * When keys of a work queue are due again with no write to the store (a pod turning available, a
 * settle window or a node's grace ending): one timer, at the earliest; each key is handed to `due`
 * once its time has come.
 */
export class Wakes {
  private readonly at = new Map<string, number>();
  private cancel = (): void => undefined;

  constructor(
    private readonly setTimer: SetTimer,
    private readonly now: () => Date,
    private readonly due: (key: string) => void,
  ) {}

  /** Wake `key` at `at` (ms since the epoch), or not at all; takes effect at the next `arm`. */
  set(key: string, at: number | undefined): void {
    if (at === undefined) this.at.delete(key);
    else this.at.set(key, at);
  }

  /** Set the timer for the earliest wake-up. */
  arm(): void {
    this.cancel();
    this.cancel = () => undefined;
    let next = Infinity;
    for (const t of this.at.values()) next = Math.min(next, t);
    if (next === Infinity) return;
    this.cancel = this.setTimer(() => this.fire(), Math.max(0, next - this.now().getTime()));
  }

  stop(): void {
    this.cancel();
    this.at.clear();
  }

  private fire(): void {
    const t = this.now().getTime();
    for (const [key, when] of [...this.at]) {
      if (when > t) continue;
      this.at.delete(key);
      this.due(key);
    }
    this.arm();
  }
}
