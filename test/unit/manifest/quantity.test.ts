import { describe, expect, it } from 'vitest';
import { readQuantity } from '../../../src/manifest/quantity.js';

// Expected values are what Kubernetes' MilliValue() (cpu) and Value() (memory) return: exact, rounded up.
describe('readQuantity', () => {
  it.each([
    ['100m', 100],
    ['0.5', 500],
    ['.5', 500],
    ['5.', 5000],
    ['1', 1000],
    ['2000m', 2000],
    ['+1', 1000],
    ['0', 0],
    ['-0', 0],
    ['0.0001', 1], // finer than a millicore rounds up
    ['1e-3', 1],
    ['1.5e2', 150000],
    ['1k', 1000000],
    [' 250m ', 250], // Kubernetes trims a quantity before reading it
  ])('cpu %j is %d millicores', (text, value) => {
    expect(readQuantity(text, 'cpu')).toEqual({ ok: true, value });
  });

  it.each([
    ['64Mi', 67108864],
    ['1Gi', 1073741824],
    ['1.5Ki', 1536],
    ['1G', 1000000000],
    ['1M', 1000000],
    ['1k', 1000],
    ['1P', 1000000000000000],
    ['1Ti', 1099511627776],
    ['128974848', 128974848],
    ['129e6', 129000000],
    ['129E6', 129000000],
    ['123Mi', 128974848],
    ['100m', 1], // 0.1 byte, which Kubernetes reads as 1 (guestbook-ui in test/fixtures/compat does this)
    ['1.1', 2],
    ['0.5Ki', 512],
    ['1e3', 1000],
    ['0Gi', 0],
  ])('memory %j is %d bytes', (text, value) => {
    expect(readQuantity(text, 'memory')).toEqual({ ok: true, value });
  });

  it.each([
    ['', 'memory', '"" is not a valid quantity (e.g. "64Mi", "1G" or "129e6")'],
    ['1 core', 'cpu', '"1 core" is not a valid quantity (e.g. "100m", "0.5" or "2")'],
    ['1KiB', 'memory', '"1KiB" is not a valid quantity (e.g. "64Mi", "1G" or "129e6")'],
    ['1K', 'memory', '"1K" is not a valid quantity (e.g. "64Mi", "1G" or "129e6")'],
    ['1ki', 'memory', '"1ki" is not a valid quantity (e.g. "64Mi", "1G" or "129e6")'],
    ['1e', 'memory', '"1e" is not a valid quantity (e.g. "64Mi", "1G" or "129e6")'],
    ['Mi', 'memory', '"Mi" is not a valid quantity (e.g. "64Mi", "1G" or "129e6")'],
    ['1.2.3', 'cpu', '"1.2.3" is not a valid quantity (e.g. "100m", "0.5" or "2")'],
    ['0x10', 'cpu', '"0x10" is not a valid quantity (e.g. "100m", "0.5" or "2")'],
    ['-1Gi', 'memory', '"-1Gi" must not be negative'],
    ['-100m', 'cpu', '"-100m" must not be negative'],
    ['1e400', 'memory', '"1e400" is too large'],
    ['1E', 'memory', '"1E" is too large'], // an exabyte is past what a JSON number holds exactly
    ['100Ei', 'memory', '"100Ei" is too large'],
  ] as const)('%j is rejected as %s', (text, resource, message) => {
    expect(readQuantity(text, resource)).toEqual({ ok: false, message });
  });
});
