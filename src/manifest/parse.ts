import { LineCounter, parseAllDocuments } from 'yaml';
import { readDocument } from './document.js';
import { formatLocation } from './format.js';
import { Context, isAbsent } from './schema.js';
import { objectKey, type DesiredObject, type ManifestError } from './types.js';

/** A file of the repository: its path (relative to the root) and its text. */
export interface ManifestFile {
  path: string;
  text: string;
}

/** How to read a commit's files. */
export interface ParseOptions {
  /** Kinds to leave alone on purpose (a repository that also feeds a Kubernetes cluster); each skip is reported in `skipped`. */
  skipKinds?: readonly string[];
}

/** A document left out because its kind is in `skipKinds`. */
export interface SkippedDocument {
  path: string;
  line: number;
  kind: string;
  name?: string;
}

/** Every valid object (sorted by objectKey), every error (sorted by place), every skipped document. Any error rejects the commit. */
export interface ParseResult {
  objects: DesiredObject[];
  errors: ManifestError[];
  skipped: SkippedDocument[];
}

/** True for a file berth reads as manifests: `.yaml`, `.yml` or `.json`. */
export function isManifestPath(path: string): boolean {
  return /\.(ya?ml|json)$/.test(path);
}

/** Parses, validates and normalizes a commit's manifest files (JSON is read as the YAML it is), reporting every error at once. */
export function parseFiles(files: readonly ManifestFile[], opts: ParseOptions = {}): ParseResult {
  const skipKinds = new Set(opts.skipKinds ?? []);
  const errors: ManifestError[] = [];
  const skipped: SkippedDocument[] = [];
  const byKey = new Map<string, { object: DesiredObject; place: string }>();
  // Sorted so that "first defined" in a duplicate error does not depend on the caller's order.
  for (const file of [...files].sort((a, b) => compare(a.path, b.path))) {
    const lines = new LineCounter();
    const locate = (offset: number): { line: number; col: number } => lines.linePos(offset);
    const at = (offset: number, message: string): ManifestError => ({ path: file.path, ...locate(offset), message });
    for (const doc of parseAllDocuments(file.text, { lineCounter: lines, prettyErrors: false })) {
      const problems = [...doc.errors, ...doc.warnings];
      if (problems.length > 0) {
        // The AST of a broken document is a guess; validating it would only add noise.
        const syntax = file.path.endsWith('.json') ? 'JSON' : 'YAML';
        for (const p of problems) errors.push(at(p.pos[0], `invalid ${syntax}: ${p.message}`));
        continue;
      }
      const root = doc.contents;
      if (root === null || isAbsent(root)) continue; // an empty document (`---` twice, or only comments)
      const cx = new Context(doc);
      const outcome = readDocument(root, cx, { path: file.path, line: locate(root.range[0]).line }, skipKinds);
      for (const issue of cx.issues) errors.push(at(issue.offset, issue.message));
      if (outcome.type === 'skipped') skipped.push({ path: file.path, line: locate(root.range[0]).line, kind: outcome.kind, ...(outcome.name === undefined ? {} : { name: outcome.name }) });
      if (outcome.type !== 'object') continue;
      const key = objectKey(outcome.object);
      const place = formatLocation({ path: file.path, ...locate(outcome.at) });
      const first = byKey.get(key);
      if (first === undefined) byKey.set(key, { object: outcome.object, place });
      else errors.push(at(outcome.at, `duplicate ${outcome.object.kind} ${outcome.object.namespace}/${outcome.object.name}: also defined at ${first.place}`));
    }
  }
  const objects = [...byKey.values()].map((v) => v.object).sort((a, b) => compare(objectKey(a), objectKey(b)));
  errors.sort((a, b) => compare(a.path, b.path) || a.line - b.line || a.col - b.col);
  return { objects, errors, skipped };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
