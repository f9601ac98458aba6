import { describe, expect, it } from 'vitest';
import { limitsFromFlags } from '../../../src/cli/limits.js';

describe('limitsFromFlags', () => {
  it.each([
    { flags: {}, limits: {} },
    { flags: { maxFileSize: '2Mi' }, limits: { fileBytes: 2 * 1024 * 1024 } },
    { flags: { maxCommitSize: '50M' }, limits: { commitBytes: 50_000_000 } },
    { flags: { maxFileSize: '512Ki', maxCommitSize: '1Gi' }, limits: { fileBytes: 512 * 1024, commitBytes: 1024 ** 3 } },
  ])('$flags → $limits', ({ flags, limits }) => {
    expect(limitsFromFlags(flags)).toEqual(limits);
  });

  it.each([
    { flags: { maxFileSize: 'big' }, message: '--max-file-size: "big" is not a valid quantity (e.g. "64Mi", "1G" or "129e6")' },
    { flags: { maxCommitSize: '0' }, message: '--max-commit-size must be at least 1 byte, not 0' },
    { flags: { maxFileSize: '-1Mi' }, message: '--max-file-size: "-1Mi" must not be negative' },
    { flags: { maxFileSize: '20Mi' }, message: '--max-file-size (20 MiB) is more than --max-commit-size (10 MiB)' },
  ])('$flags is refused', ({ flags, message }) => {
    expect(() => limitsFromFlags(flags)).toThrow(message);
  });
});
