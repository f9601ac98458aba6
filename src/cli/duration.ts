import { UsageError } from '../errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parse `500ms`, `30s`, `2m`, `1h` (a bare number is seconds) into milliseconds. */
export function parseDuration(text: string, flag = 'duration'): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  const unit = UNITS[m?.[2] ?? 's'];
  if (!m || unit === undefined) {
    throw new UsageError('EDURATION', `invalid ${flag} '${text}'`, { hint: 'use a number with ms, s, m or h, such as 30s' });
  }
  const ms = Number(m[1]) * unit;
  if (ms <= 0) throw new UsageError('EDURATION', `${flag} must be positive, got '${text}'`, { hint: 'use a value such as 30s' });
  return ms;
}
