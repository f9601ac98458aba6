/**
 * A clock that moves only when a test says so, with timers that fire as it passes them: pass
 * `now` and `setTimer` to what takes them, so a verdict that changes with time (a settle window,
 * a grace period) is reached by `advance`, never by waiting on the wall clock.
 */
export class FakeClock {
  private time: number;
  private nextId = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start: Date) {
    this.time = start.getTime();
  }

  /** The current fake time. */
  now = (): Date => new Date(this.time);

  /** Call `fn` once the clock has advanced `ms` from now; returns what cancels it. */
  setTimer = (fn: () => void, ms: number): (() => void) => {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + Math.max(0, ms), fn });
    return () => void this.timers.delete(id);
  };

  /** Move the clock `ms` forward, firing every timer it passes, earliest first. */
  advance(ms: number): void {
    this.time += ms;
    const due = [...this.timers].filter(([, t]) => t.at <= this.time).sort(([, a], [, b]) => a.at - b.at);
    for (const [id, t] of due) {
      this.timers.delete(id);
      t.fn();
    }
  }

  /** How many timers wait to fire. */
  get pending(): number {
    return this.timers.size;
  }
}
