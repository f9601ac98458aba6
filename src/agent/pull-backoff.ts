// kubelet's image pull back-off (flowcontrol.Backoff, keyed by pod and image): after a failed pull
// the next try waits 10 s, doubling to 5 min; a key quiet for twice the maximum starts over. Pure.
import type { BackOffSchedule } from './plan.js';

/** One key's back-off: the delay in force and when it was set. */
export interface PullBackOff {
  delayMs: number;
  /** ms since the epoch of the failure that set it. */
  at: number;
  /** What the registry answered that time, for the pod status while it waits. */
  error: string;
}

/** The first delay after a failed pull, doubled per failure up to the maximum. */
export type ImageBackOffSchedule = Pick<BackOffSchedule, 'initialMs' | 'maxMs'>;

/** kubelet's image back-off: 10 s doubling to 5 min (forgotten after twice the maximum: see `expired`). */
export const IMAGE_BACKOFF: ImageBackOffSchedule = { initialMs: 10_000, maxMs: 300_000 };

/** True when `b` is old enough to be forgotten: nothing failed for twice the maximum delay. */
export function expired(b: PullBackOff, now: number, schedule = IMAGE_BACKOFF): boolean {
  return now - b.at > 2 * schedule.maxMs;
}

/** The back-off after a pull failed at `now`: the initial delay, or the last one doubled up to the maximum. */
export function afterFailure(prev: PullBackOff | undefined, now: number, error: string, schedule = IMAGE_BACKOFF): PullBackOff {
  const delayMs = prev === undefined || expired(prev, now, schedule) ? schedule.initialMs : Math.min(prev.delayMs * 2, schedule.maxMs);
  return { delayMs, at: now, error };
}

/** When the next pull may be tried, or undefined when it may be tried now. */
export function backOffUntil(b: PullBackOff | undefined, now: number): number | undefined {
  if (b === undefined) return undefined;
  const until = b.at + b.delayMs;
  return now < until ? until : undefined;
}
