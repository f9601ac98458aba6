import { describe, expect, it } from 'vitest';
import { timeKey } from '../../../src/agent/docker-shapes.js';

describe('timeKey', () => {
  it.each([
    // Docker trims trailing zeros of the nanoseconds: as text, the earlier time sorts after.
    ['2026-11-30T10:40:01.12345Z', '2026-11-30T10:40:01.123456789Z'],
    ['2026-11-30T10:40:01Z', '2026-11-30T10:40:01.000000001Z'],
    ['2026-11-30T10:40:01.9Z', '2026-11-30T10:40:02Z'],
    ['2026-11-30T10:40:01.5+00:00', '2026-11-30T10:40:01.51+00:00'],
  ])('%s sorts before %s', (earlier, later) => {
    expect(timeKey(earlier) < timeKey(later)).toBe(true);
  });

  it('leaves a text it cannot read as it is', () => {
    expect(timeKey('yesterday')).toBe('yesterday');
  });
});
