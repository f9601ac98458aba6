// How the read side writes times, sizes and commits: the way kubectl users read them.

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const YEAR = 365 * DAY;

/**
 * The age of `since` at `now`, as kubectl's AGE column writes it (apimachinery's HumanDuration):
 * `45s`, `3m20s`, `12m`, `5h3m`, `20h`, `3d4h`, `40d`, `2y30d`; `<unknown>` for a missing or bad time.
 */
export function humanAge(since: string | undefined, now: Date): string {
  const from = since === undefined ? Number.NaN : Date.parse(since);
  if (Number.isNaN(from)) return '<unknown>';
  const seconds = Math.floor((now.getTime() - from) / 1000);
  // A clock a second ahead of ours still reads as "just now".
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 2 * MINUTE) return `${seconds}s`;
  if (seconds < 10 * MINUTE) return withRest(seconds, MINUTE, 'm', 1, 's');
  if (seconds < 3 * HOUR) return `${Math.floor(seconds / MINUTE)}m`;
  if (seconds < 8 * HOUR) return withRest(seconds, HOUR, 'h', MINUTE, 'm');
  if (seconds < 2 * DAY) return `${Math.floor(seconds / HOUR)}h`;
  if (seconds < 8 * DAY) return withRest(seconds, DAY, 'd', HOUR, 'h');
  if (seconds < 2 * YEAR) return `${Math.floor(seconds / DAY)}d`;
  if (seconds < 8 * YEAR) return withRest(seconds, YEAR, 'y', DAY, 'd');
  return `${Math.floor(seconds / YEAR)}y`;
}

/** `3m20s`; `3m` when the rest is zero. */
function withRest(seconds: number, unit: number, name: string, restUnit: number, restName: string): string {
  const rest = Math.floor((seconds % unit) / restUnit);
  return `${Math.floor(seconds / unit)}${name}${rest === 0 ? '' : `${rest}${restName}`}`;
}

/** The 7-character abbreviation of a commit id, as `git log --oneline` shows it. */
export function shortCommit(commit: string): string {
  return commit.slice(0, 7);
}

/** The first line of a commit message, trimmed. */
export function firstLine(message: string): string {
  return (message.split('\n', 1)[0] ?? '').trim();
}

/** Millicores as Kubernetes writes them: whole cores as `2`, the rest as `1500m`. */
export function formatCpu(millicores: number): string {
  return millicores % 1000 === 0 ? String(millicores / 1000) : `${millicores}m`;
}

const BINARY_UNITS = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];

/** Bytes in the largest binary unit that keeps a number ≥ 1: `512Mi`, `7.6Gi` (one decimal below 10), `16Gi`. */
export function formatMemory(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BINARY_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = value < 10 && unit > 0 ? (Math.round(value * 10) / 10).toString() : String(Math.round(value));
  return `${text}${BINARY_UNITS[unit] ?? ''}`;
}

/** An ISO time to the second, UTC: `2025-06-01T12:00:00Z` (stable, sortable, for audit columns). */
export function formatTime(iso: string): string {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
