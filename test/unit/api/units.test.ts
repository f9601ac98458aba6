import { describe, expect, it } from 'vitest';
import { firstLine, formatCpu, formatMemory, formatTime, humanAge, shortCommit } from '../../../src/api/units.js';

const NOW = new Date('2025-06-01T12:00:00.000Z');
const ago = (seconds: number): string => new Date(NOW.getTime() - seconds * 1000).toISOString();
const M = 60;
const H = 60 * M;
const D = 24 * H;
const Y = 365 * D;

describe('humanAge writes ages as kubectl AGE does', () => {
  it.each([
    { since: ago(0), age: '0s' },
    { since: ago(-1), age: '0s' }, // a clock a second ahead is "now"
    { since: ago(-5), age: '<invalid>' },
    { since: ago(45), age: '45s' },
    { since: ago(119), age: '119s' },
    { since: ago(2 * M), age: '2m' },
    { since: ago(3 * M + 20), age: '3m20s' },
    { since: ago(12 * M + 30), age: '12m' },
    { since: ago(2 * H + 59 * M), age: '179m' },
    { since: ago(3 * H), age: '3h' },
    { since: ago(5 * H + 3 * M), age: '5h3m' },
    { since: ago(20 * H), age: '20h' },
    { since: ago(47 * H), age: '47h' },
    { since: ago(2 * D), age: '2d' },
    { since: ago(5 * D + 4 * H), age: '5d4h' },
    { since: ago(40 * D), age: '40d' },
    { since: ago(2 * Y + 30 * D), age: '2y30d' },
    { since: ago(9 * Y), age: '9y' },
    { since: 'yesterday-ish', age: '<unknown>' },
    { since: undefined, age: '<unknown>' },
  ])('$since → $age', ({ since, age }) => {
    expect(humanAge(since, NOW)).toBe(age);
  });
});

describe('capacities, commits and times', () => {
  it.each([
    { millicores: 2000, text: '2' },
    { millicores: 1500, text: '1500m' },
    { millicores: 250, text: '250m' },
    { millicores: 0, text: '0' },
  ])('cpu $millicores → $text', ({ millicores, text }) => {
    expect(formatCpu(millicores)).toBe(text);
  });

  it.each([
    { bytes: 512, text: '512' },
    { bytes: 64 * 2 ** 20, text: '64Mi' },
    { bytes: 1.5 * 2 ** 30, text: '1.5Gi' },
    { bytes: 8 * 2 ** 30, text: '8Gi' },
    { bytes: 8_000_000_000, text: '7.5Gi' },
    { bytes: 16.4 * 2 ** 30, text: '16Gi' },
    { bytes: 2 * 2 ** 40, text: '2Ti' },
  ])('memory $bytes → $text', ({ bytes, text }) => {
    expect(formatMemory(bytes)).toBe(text);
  });

  it.each([
    { f: () => shortCommit('0123456789abcdef0123456789abcdef01234567'), out: '0123456' },
    { f: () => shortCommit('abc'), out: 'abc' },
    { f: () => firstLine('  add web  \n\nlong body'), out: 'add web' },
    { f: () => firstLine(''), out: '' },
    { f: () => formatTime('2025-06-01T12:00:00.123Z'), out: '2025-06-01T12:00:00Z' },
    { f: () => formatTime('not a time'), out: 'not a time' },
  ])('$out', ({ f, out }) => {
    expect(f()).toBe(out);
  });
});
