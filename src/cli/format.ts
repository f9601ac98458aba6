// Output of the read commands: aligned text tables like kubectl's, or the views as JSON / YAML.
import { stringify } from 'yaml';
export { renderTable } from '../api/tables.js';

import type { OutputFormat } from './choices.js';
export { GET_FORMATS, OUTPUT_FORMATS, type OutputFormat } from './choices.js';

/** Data as pretty JSON or YAML, newline-terminated. */
export function renderData(value: unknown, format: Exclude<OutputFormat, 'table'>): string {
  return format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : stringify(value);
}

/** A list as `-o json|yaml` prints it: `{items: [...]}`, or the object itself when one NAME was asked for. */
export function listOrOne<T>(items: readonly T[], named: boolean): unknown {
  return named && items.length === 1 ? items[0] : { items };
}

