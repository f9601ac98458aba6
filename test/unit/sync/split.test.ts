import { describe, expect, it } from 'vitest';
import { splitBlobs } from '../../../src/sync/isolate.js';

// A whole commit's files are dealt to the check workers in turn, never fewer than 16 a worker.
describe('splitBlobs', () => {
  const n = (k: number): number[] => Array.from({ length: k }, (_, i) => i);
  it.each([
    { files: 0, ways: 4, parts: [] },
    { files: 1, ways: 4, parts: [1] },
    { files: 16, ways: 4, parts: [16] },
    { files: 17, ways: 4, parts: [9, 8] },
    { files: 100, ways: 2, parts: [50, 50] },
    { files: 100, ways: 4, parts: [25, 25, 25, 25] },
    { files: 40, ways: 8, parts: [14, 13, 13] },
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
