import type { ManifestError } from './types.js';

/** `path:line:col`, the place as editors and CI logs link it. */
export function formatLocation(at: { path: string; line: number; col: number }): string {
  return `${at.path}:${at.line}:${at.col}`;
}

/** One error as a line: `path:line:col: message`. */
export function formatError(e: ManifestError): string {
  return `${formatLocation(e)}: ${e.message}`;
}
