// Output of the read commands: aligned text tables like kubectl's, or the views as JSON / YAML.
import { stringify } from 'yaml';
export { renderTable } from '../api/tables.js';

/** The formats of `-o`. */
export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
/** The formats of `berth get -o`: the table with more columns too, as kubectl's `-o wide`. */
export const GET_FORMATS = [...OUTPUT_FORMATS, 'wide'] as const;
/** One of OUTPUT_FORMATS. */
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Data as pretty JSON or YAML, newline-terminated. */
export function renderData(value: unknown, format: Exclude<OutputFormat, 'table'>): string {
  return format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : stringify(value);
}

/** A list as `-o json|yaml` prints it: `{items: [...]}`, or the object itself when one NAME was asked for. */
export function listOrOne<T>(items: readonly T[], named: boolean): unknown {
  return named && items.length === 1 ? items[0] : { items };
}

