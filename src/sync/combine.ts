import { checkFiles, DEFAULT_LIMITS, nodePortsUnique, objectKey, referencesMet, type Limits, type ParseOptions, type RawFile, type SkippedDocument } from '../manifest/index.js';
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
 * met, within the commit's limits. Undefined otherwise: the full check finds and words the errors.
 */
export function combineChecks(files: readonly FileCheck[], entries: SkippedEntry[], limits: Partial<Limits> = {}): TreeCheck | undefined {
  const l = { ...DEFAULT_LIMITS, ...limits };
  const objects: DesiredObject[] = [];
  const warnings: ManifestError[] = [];
  const skipped: SkippedDocument[] = [];
  const keys = new Set<string>();
  let total = 0;
  for (const f of files) {
    if (!f.clean) return undefined;
    total += f.size;
    if (total > l.commitBytes) return undefined;
    for (const o of f.objects) {
      const key = objectKey(o);
      if (keys.has(key)) return undefined;
      keys.add(key);
      objects.push(o);
    }
    warnings.push(...f.warnings);
    skipped.push(...f.skipped);
  }
  if (objects.length > l.objects || warnings.length > l.errors || !referencesMet(objects) || !nodePortsUnique(objects)) return undefined;
  // Keys made once, not per comparison: 10,000 objects take ~140,000 comparisons.
  const keyed = objects.map((o) => ({ o, key: objectKey(o) })).sort((a, b) => compareText(a.key, b.key));
  objects.splice(0, objects.length, ...keyed.map((k) => k.o));
  warnings.sort((a, b) => compareText(a.path, b.path) || a.line - b.line || a.col - b.col);
  return { objects, errors: [], omitted: 0, skipped, warnings, entries, files: files.length };
}
