import { escapeControl } from './text.js';
import type { ManifestError } from './types.js';

/** `path:line:col`, the place as editors and CI logs link it (control characters of the path escaped). */
export function formatLocation(at: { path: string; line: number; col: number }): string {
  return `${escapeControl(at.path)}:${at.line}:${at.col}`;
}

/** One error as one line: `path:line:col: message`; nothing from the repository can break or forge the line. */
export function formatError(e: ManifestError): string {
  const message = e.message.length > MAX_MESSAGE ? `${e.message.slice(0, MAX_MESSAGE)}…` : e.message;
  return `${formatLocation(e)}: ${escapeControl(message)}`;
}

/** Longest message shown of one error. */
const MAX_MESSAGE = 500;

/** The first `max` errors as lines, then `… and M more errors` for the rest (`omitted` counts errors not even kept). */
export function formatErrors(errors: readonly ManifestError[], omitted: number, max: number): string[] {
  const lines = errors.slice(0, max).map(formatError);
  const more = errors.length - lines.length + omitted;
  if (more > 0) lines.push(`… and ${more} more error${more === 1 ? '' : 's'}`);
  return lines;
}

/** How many errors a list from formatErrors stands for: its lines, plus the M of a last `… and M more errors`. */
export function countErrors(lines: readonly string[]): number {
  const more = /^… and (\d+) more errors?$/.exec(lines.at(-1) ?? '');
  return more ? lines.length - 1 + Number(more[1]) : lines.length;
}
