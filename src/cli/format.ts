// Output of the read commands: aligned text tables like kubectl's, or the views as JSON / YAML.
import { stringify } from 'yaml';
import type { Table } from '../api/tables.js';
import { escapeControl } from '../manifest/text.js';

/** The formats of `-o`. */
export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
/** The formats of `berth get -o`: the table with more columns too, as kubectl's `-o wide`. */
export const GET_FORMATS = [...OUTPUT_FORMATS, 'wide'] as const;
/** One of OUTPUT_FORMATS. */
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

// kubectl's tabwriter pads columns with three spaces.
const GAP = '   ';

/** Columns padded to their widest cell, three spaces apart, no trailing blanks; one line per row. */
export function renderTable(table: Table, indent = ''): string {
  const rows = [table.columns, ...table.rows].map((r) => r.map(oneLine));
  const widths = table.columns.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => indent + r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join(GAP).trimEnd()).join('\n') + '\n';
}

/** Data as pretty JSON or YAML, newline-terminated. */
export function renderData(value: unknown, format: Exclude<OutputFormat, 'table'>): string {
  return format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : stringify(value);
}

/** A list as `-o json|yaml` prints it: `{items: [...]}`, or the object itself when one NAME was asked for. */
export function listOrOne<T>(items: readonly T[], named: boolean): unknown {
  return named && items.length === 1 ? items[0] : { items };
}

/** A cell on one line, with no control character: commit messages, names and paths come from a repository. */
function oneLine(cell: string): string {
  return escapeControl(cell.replace(/\s*\n\s*/g, ' '));
}
