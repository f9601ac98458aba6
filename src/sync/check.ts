import { checkFiles, type ManifestError, type ParseOptions, type ParseResult } from '../manifest/index.js';
import type { SkippedEntry, TreeRead } from './files.js';

/** What checking a tree found: the parse, the entries left out, and how many manifest files it had. */
export interface TreeCheck extends ParseResult {
  entries: SkippedEntry[];
  files: number;
}

/**
 * Checks a tree read from a folder or a commit, the same way for both: files that could not be read
 * are errors at their path, the rest go through checkFiles (sizes, encoding, parse, validation).
 */
export function checkTree(read: TreeRead, opts: ParseOptions = {}): TreeCheck {
  const parsed = checkFiles(read.files, opts);
  const errors = [...read.errors, ...parsed.errors].sort(byPlace);
  return { ...parsed, errors, entries: read.skipped, files: read.files.length + read.errors.length };
}

function byPlace(a: ManifestError, b: ManifestError): number {
  return (a.path < b.path ? -1 : a.path > b.path ? 1 : 0) || a.line - b.line || a.col - b.col;
}
