import { checkFiles, type Limits, type ParseOptions, type RawFile, type SkippedDocument } from '../manifest/index.js';
import { emptyIndex, mergeSorted, planIndexChange } from './object-index.js';
import type { DesiredObject, ManifestError } from '../manifest/types.js';
import { compareText } from '../text.js';
import type { TreeCheck } from './check.js';
import type { SkippedEntry } from './files.js';

// A commit's (or a folder's) files checked one by one — in several workers at once, or only the
// changed ones against the last commit's — and put together into the whole check when that gives
// the full check's answer. No I/O here: `berth validate` loads it without the Git client.

/** One manifest file checked alone: what it holds, and whether it passed on its own. */
export interface FileCheck {
  path: string;
  oid: string;
  size: number;
  objects: DesiredObject[];
  warnings: ManifestError[];
  skipped: SkippedDocument[];
  /** No error of its own (an invalid file makes the commit go through the full check for its errors). */
  clean: boolean;
}

/** One file checked alone (what a worker does with each file of a folder `berth validate` reads); `oid` is empty for a file of a folder. */
export function checkAlone(raw: RawFile, oid: string, opts: ParseOptions): FileCheck {
  // Alone, a file's references into other files look broken; combineChecks checks them across the commit.
  const r = checkFiles([raw], { ...opts, references: false });
  return { path: raw.path, oid, size: raw.size ?? raw.bytes.length, objects: r.objects, warnings: r.warnings, skipped: r.skipped, clean: r.errors.length === 0 && r.omitted === 0 };
}

/**
 * The whole check of files each checked alone (`files` in path order), when that is the full
 * check's answer: every file clean, no object defined twice, no nodePort asked twice, references
 * met, within the commit's limits (planIndexChange). Undefined otherwise: the full check finds and words the errors.
 */
export function combineChecks(files: readonly FileCheck[], entries: SkippedEntry[], limits: Partial<Limits> = {}): TreeCheck | undefined {
  const change = planIndexChange(emptyIndex(), [], files, limits);
  if (change === undefined) return undefined;
  const warnings = files.flatMap((f) => f.warnings).sort(byPlace);
  return { objects: mergeSorted([], change), errors: [], omitted: 0, skipped: files.flatMap((f) => f.skipped), warnings, entries, files: files.length };
}

/** Errors and warnings in the order the full check gives them: by file, line and column. */
export function byPlace(a: ManifestError, b: ManifestError): number {
  return compareText(a.path, b.path) || a.line - b.line || a.col - b.col;
}
