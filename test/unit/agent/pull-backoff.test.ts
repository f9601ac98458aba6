import { describe, expect, it } from 'vitest';
import { afterFailure, backOffUntil, type PullBackOff } from '../../../src/agent/pull-backoff.js';

const S = 1000;

describe('image pull back-off (kubelet: 10 s doubling to 5 min, forgotten after 10 min quiet)', () => {
  it('doubles from 10 s to 5 min over failures in a row', () => {
    let b: PullBackOff | undefined;
    const delays: number[] = [];
    let now = 0;
    for (let i = 0; i < 8; i++) {
      b = afterFailure(b, now, 'x');
      delays.push(b.delayMs / S);
      now += b.delayMs;
    }
    expect(delays).toEqual([10, 20, 40, 80, 160, 300, 300, 300]);
  });

  it.each([
    ['no back-off', undefined, 5 * S, undefined],
    ['inside the delay', { delayMs: 20 * S, at: 0, error: 'x' }, 19 * S, 20 * S],
    ['at its end', { delayMs: 20 * S, at: 0, error: 'x' }, 20 * S, undefined],
  ])('backOffUntil: %s', (_name, b, now, want) => {
    expect(backOffUntil(b, now)).toBe(want);
  });

  it('starts over at 10 s after twice the maximum without a failure', () => {
    const b = { delayMs: 300 * S, at: 0, error: 'x' };
    expect(afterFailure(b, 600 * S, 'y').delayMs).toBe(300 * S);
    expect(afterFailure(b, 601 * S, 'y').delayMs).toBe(10 * S);
  });
});
