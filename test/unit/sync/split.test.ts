import { describe, expect, it } from 'vitest';
import { splitBlobs } from '../../../src/sync/isolate.js';

// A whole commit's files are dealt to the check workers in turn, never fewer than 4 a worker.
describe('splitBlobs', () => {
  const n = (k: number): number[] => Array.from({ length: k }, (_, i) => i);
  it.each([
    { files: 0, ways: 4, parts: [] },
    { files: 1, ways: 4, parts: [1] },
    { files: 4, ways: 4, parts: [4] },
    { files: 5, ways: 4, parts: [3, 2] },
    { files: 10, ways: 2, parts: [5, 5] },
    { files: 100, ways: 2, parts: [50, 50] },
    { files: 100, ways: 4, parts: [25, 25, 25, 25] },
    { files: 10, ways: 8, parts: [4, 3, 3] },
    { files: 10, ways: 0, parts: [10] },
  ])('$files files, $ways ways → $parts', ({ files, ways, parts }) => {
    const split = splitBlobs(n(files), ways);
    expect(split.map((p) => p.length)).toEqual(parts);
    expect(split.flat().sort((a, b) => a - b)).toEqual(n(files));
  });
  it('deals in turn, so neighbours in a folder go to different workers', () => {
    expect(splitBlobs(n(32), 2)).toEqual([n(16).map((i) => i * 2), n(16).map((i) => i * 2 + 1)]);
  });
});
