import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../faults/support/seed.js';
import { formatConverge, formatFaultTable } from '../../faults/support/table.js';

describe('the fault table', () => {
  it.each([
    { ms: [], shown: '—' },
    { ms: [1500], shown: '1.5 s / 1.5 s' },
    { ms: [4000, 1000, 2000], shown: '2.0 s / 4.0 s' },
    { ms: [1000, 2000, 3000, 9000], shown: '2.0 s / 9.0 s' },
  ])('converge times $ms read $shown', ({ ms, shown }) => {
    expect(formatConverge(ms)).toBe(shown);
  });

  it('prints one aligned Markdown row per scenario', () => {
    expect(formatFaultTable([
      { scenario: 'kill -9 sync', trials: 12, faults: 24, failures: 0, convergeMs: [1200, 3400], seed: 42 },
      { scenario: 'cut a link', trials: 1, faults: 1, failures: 1, convergeMs: [] },
    ]).split('\n')).toEqual([
      '| scenario     | trials | faults injected | failures found | time to converge (p50 / max) | seed |',
      '| ------------ | ------ | --------------- | -------------- | ---------------------------- | ---- |',
      '| kill -9 sync | 12     | 24              | 0              | 1.2 s / 3.4 s                | 42   |',
      '| cut a link   | 1      | 1               | 1              | —                            |      |',
    ]);
  });
});

describe('the seeded random source', () => {
  it('replays the same choices for the same seed and scenario, others for another scenario', () => {
    const draw = (seed: number, scenario: string): number[] => {
      const r = seededRandom(seed, scenario);
      return Array.from({ length: 5 }, () => r.int(0, 1000));
    };
    expect(draw(7, 'a')).toEqual(draw(7, 'a'));
    expect(draw(7, 'a')).not.toEqual(draw(7, 'b'));
    expect(draw(7, 'a')).not.toEqual(draw(8, 'a'));
  });

  it.each([[0], [1], [123456789], [2 ** 32 - 1]])('seed %d stays within bounds', (seed) => {
    const r = seededRandom(seed);
    for (let i = 0; i < 200; i++) {
      const v = r.int(3, 9);
      expect(v).toBeGreaterThanOrEqual(3);
      expect(v).toBeLessThanOrEqual(9);
    }
  });
});
