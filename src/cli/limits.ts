import { UsageError } from '../errors.js';
import { DEFAULT_LIMITS, formatBytes, readQuantity, type Limits } from '../manifest/index.js';

/** `--max-file-size` and `--max-commit-size`, as given (quantities such as 2Mi or 10M). */
export interface SizeFlags {
  maxFileSize?: string;
  maxCommitSize?: string;
}

/** The size limits an operator set on the command line; the defaults (DEFAULT_LIMITS) for the rest. */
export function limitsFromFlags(flags: SizeFlags): Partial<Limits> {
  const out: Partial<Limits> = {};
  if (flags.maxFileSize !== undefined) out.fileBytes = size(flags.maxFileSize, '--max-file-size');
  if (flags.maxCommitSize !== undefined) out.commitBytes = size(flags.maxCommitSize, '--max-commit-size');
  const file = out.fileBytes ?? DEFAULT_LIMITS.fileBytes;
  const commit = out.commitBytes ?? DEFAULT_LIMITS.commitBytes;
  if (file > commit) {
    throw new UsageError('EUSAGE', `--max-file-size (${formatBytes(file)}) is more than --max-commit-size (${formatBytes(commit)})`, {
      hint: 'a file is part of its commit: raise --max-commit-size too',
    });
  }
  return out;
}

function size(text: string, flag: string): number {
  const r = readQuantity(text, 'memory');
  if (!r.ok) throw new UsageError('EUSAGE', `${flag}: ${r.message}`, { hint: 'give a size such as 2Mi or 10M' });
  if (r.value < 1) throw new UsageError('EUSAGE', `${flag} must be at least 1 byte, not ${text}`, { hint: 'give a size such as 2Mi or 10M' });
  return r.value;
}
