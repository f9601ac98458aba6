import type { TestContext } from 'vitest';

/**
 * One scenario's line in the fault suite's table: how often it ran, how many faults it injected,
 * how many broken promises it found, and how long the system took to converge after each fault.
 */
export interface FaultRow {
  /** What was done, e.g. `kill -9 sync during applies`. */
  scenario: string;
  /** Independent runs of the scenario (each with its own faults and its own check). */
  trials: number;
  /** Faults injected over all trials (kills, cut links, members stopped…). */
  faults: number;
  /** Checks that failed over all trials: a lost or doubled status, a partial commit seen, no convergence. */
  failures: number;
  /** Per trial, milliseconds from the (last) fault to the converged state. */
  convergeMs: readonly number[];
  /** Seed of the random choices, when the scenario made any (replay with BERTH_FAULT_SEED). */
  seed?: number;
}

declare module '@vitest/runner' {
  interface TaskMeta {
    /** Set by {@link recordFaultRow}; read by the table reporter at the end of the run. */
    faultRows?: FaultRow[];
  }
}

/**
 * Record a row of the fault table on the running test (call it before asserting, so a failing
 * scenario still shows its failures). The reporter `table-reporter.ts` prints every row once the
 * run ends.
 */
export function recordFaultRow(context: Pick<TestContext, 'task'>, row: FaultRow): void {
  const rows = context.task.meta.faultRows ?? [];
  rows.push(row);
  context.task.meta.faultRows = rows;
}

const HEADER = ['scenario', 'trials', 'faults injected', 'failures found', 'time to converge (p50 / max)', 'seed'];

/** The rows as a Markdown table (the closing note of a fault run pastes it as is). Pure. */
export function formatFaultTable(rows: readonly FaultRow[]): string {
  const lines = rows.map((r) => [r.scenario, String(r.trials), String(r.faults), String(r.failures), formatConverge(r.convergeMs), r.seed === undefined ? '' : String(r.seed)]);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const row = (cells: readonly string[]): string => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [row(HEADER), row(widths.map((w) => '-'.repeat(w))), ...lines.map(row)].join('\n');
}

/** `1.2 s / 3.4 s`, or `—` when nothing converged (no trial measured). */
export function formatConverge(ms: readonly number[]): string {
  if (ms.length === 0) return '—';
  const sorted = [...ms].sort((a, b) => a - b);
  const median = sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
  const max = sorted[sorted.length - 1] ?? 0;
  const s = (v: number): string => `${(v / 1000).toFixed(1)} s`;
  return `${s(median)} / ${s(max)}`;
}
