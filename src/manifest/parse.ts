import { Composer, LineCounter, Parser, type Document, type Node } from 'yaml';
import { readDocument } from './document.js';
import { formatLocation } from './format.js';
import { inspectDocument } from './inspect.js';
import { DEFAULT_LIMITS, formatBytes, type Limits } from './limits.js';
import { AliasLimitError, Context, formatPath, isAbsent, type AliasBudget } from './schema.js';
import { checkRef, configMapRefs, configMapsOf, type ConfigMapRef } from './refs.js';
import { objectKey, type DesiredObject, type ManifestError } from './types.js';
import { flowDepthExceeded, scanTokens } from './yaml-scan.js';
import { compareText } from '../text.js';

/** A file of the repository: its path (relative to the root) and its text. */
export interface ManifestFile {
  path: string;
  text: string;
}

/** How to read a commit's files. */
export interface ParseOptions {
  /** Kinds to leave alone on purpose (a repository that also feeds a Kubernetes cluster); each skip is reported in `skipped`. */
  skipKinds?: readonly string[];
  /** Bounds on what is read (DEFAULT_LIMITS for any left out). */
  limits?: Partial<Limits>;
  /**
   * Check references between objects (a Deployment's ConfigMaps must be in the files read); default
   * true. False for a file checked alone, whose references point into other files.
   */
  references?: boolean;
  /** The operator's --allow-plain-secrets: a Secret without a sops envelope is accepted (default: refused at its line). */
  allowPlainSecrets?: boolean;
}

/** A document left out because its kind is in `skipKinds`. */
export interface SkippedDocument {
  path: string;
  line: number;
  kind: string;
  name?: string;
}

/**
 * Every valid object (sorted by objectKey), the errors (sorted by place; at most `limits.errors`,
 * with `omitted` counting the rest), every skipped document, and warnings (spellings Kubernetes
 * reads differently, which do not reject). Any error rejects the commit.
 */
export interface ParseResult {
  objects: DesiredObject[];
  errors: ManifestError[];
  /** Errors past `limits.errors`, counted but not kept. */
  omitted: number;
  skipped: SkippedDocument[];
  warnings: ManifestError[];
}

/** True for a file berth reads as manifests: `.yaml`, `.yml` or `.json`. */
export function isManifestPath(path: string): boolean {
  return /\.(ya?ml|json)$/.test(path);
}

/** Errors of a commit, kept up to a limit and counted beyond it. */
export class ErrorList {
  readonly kept: ManifestError[] = [];
  omitted = 0;

  constructor(private readonly max: number) {}

  push(e: ManifestError): void {
    if (this.kept.length < this.max) this.kept.push(e);
    else this.omitted++;
  }

  /** How many more may be kept. */
  get room(): number {
    return Math.max(0, this.max - this.kept.length);
  }
}

/**
 * Parses, validates and normalizes a commit's manifest files (JSON is read as the YAML it is),
 * reporting every error at once. Every bound of `limits` is checked before the work it bounds.
 */
export function parseFiles(files: readonly ManifestFile[], opts: ParseOptions = {}): ParseResult {
  const limits: Limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const skipKinds = new Set(opts.skipKinds ?? []);
  const errors = new ErrorList(limits.errors);
  const warnings = new ErrorList(limits.errors);
  const skipped: SkippedDocument[] = [];
  const byKey = new Map<string, { object: DesiredObject; place: string }>();
  // A node publishes a nodePort once: two Services of one commit asking for it is an error, as in Kubernetes.
  const nodePorts = new Map<number, string>();
  // References to check once every file is read: where each is written, and what it needs.
  const refs: { ref: ConfigMapRef; namespace: string; at: Record<'name' | 'secretName' | 'key', { path: string; line: number; col: number }> }[] = [];
  let tooMany = false;
  // Sorted so that "first defined" in a duplicate error does not depend on the caller's order.
  for (const input of [...files].sort((a, b) => compareText(a.path, b.path))) {
    // A byte order mark is no column: without it, line 1 is counted as an editor shows it.
    const file = input.text.startsWith('\uFEFF') ? { path: input.path, text: input.text.slice(1) } : input;
    const lines = new LineCounter();
    const locate = (offset: number): { line: number; col: number } => lines.linePos(offset);
    const at = (offset: number, message: string): ManifestError => ({ path: file.path, ...locate(offset), message });
    const syntax = file.path.endsWith('.json') ? 'JSON' : 'YAML';
    const budget: AliasBudget = { uses: 0, bytes: 0 };

    const readOne = (doc: Document.Parsed, quotes: readonly number[]): void => {
      const problems = [...doc.errors, ...doc.warnings];
      if (problems.length > 0) {
        // The AST of a broken document is a guess; validating it would only add noise.
        for (const p of problems) {
          const open = openingQuote(p, quotes);
          errors.push(at(open ?? p.pos[0], open === undefined ? `invalid ${syntax}: ${p.message}` : `invalid ${syntax}: the quote opened here is never closed`));
        }
        return;
      }
      const root = doc.contents;
      if (root === null || isAbsent(root)) return; // an empty document (`---` twice, or only comments)
      const inspection = inspectDocument(doc, limits);
      for (const w of inspection.warnings) warnings.push(at(w.offset, w.message));
      if (inspection.errors.length > 0) {
        for (const e of inspection.errors) errors.push(at(e.offset, e.message));
        return;
      }
      const cx = new Context(inspection.targets, budget, { ...limits, errors: Math.max(1, errors.room) });
      let outcome;
      try {
        outcome = readDocument(root, cx, { path: file.path, line: locate(root.range[0]).line }, skipKinds, opts.allowPlainSecrets === true);
      } catch (err) {
        if (!(err instanceof AliasLimitError)) throw err;
        outcome = { type: 'invalid' } as const;
        cx.issues.push({ offset: err.offset, message: err.message });
      }
      for (const issue of cx.issues) errors.push(at(issue.offset, issue.message));
      errors.omitted += cx.dropped;
      if (outcome.type === 'skipped') skipped.push({ path: file.path, line: locate(root.range[0]).line, kind: outcome.kind, ...(outcome.name === undefined ? {} : { name: outcome.name }) });
      if (outcome.type !== 'object') return;
      const key = objectKey(outcome.object);
      const place = formatLocation({ path: file.path, ...locate(outcome.at) });
      const first = byKey.get(key);
      if (first !== undefined) {
        errors.push(at(outcome.at, `duplicate ${outcome.object.kind} ${outcome.object.namespace}/${outcome.object.name}: also defined at ${first.place}`));
      } else if (byKey.size >= limits.objects) {
        if (!tooMany) errors.push(at(outcome.at, `more than ${limits.objects} objects in this source; berth reads at most ${limits.objects}`));
        tooMany = true;
      } else {
        byKey.set(key, { object: outcome.object, place });
        if (opts.references !== false && outcome.object.kind === 'Deployment') {
          for (const ref of configMapRefs(outcome.object.spec.template)) {
            const where = (field: string): { path: string; line: number; col: number } => {
              let node: Node = root;
              try {
                node = cx.find(root, ...ref.path, field);
              } catch (err) {
                if (!(err instanceof AliasLimitError)) throw err;
              }
              return { path: file.path, ...locate(node.range?.[0] ?? 0) };
            };
            const name = where(ref.nameField);
            refs.push({ ref, namespace: outcome.object.namespace, at: { name, secretName: name, key: ref.key === undefined ? name : where('key') } });
          }
        }
      }
      for (const claim of outcome.nodePorts ?? []) {
        const holder = nodePorts.get(claim.port);
        const name = `Service ${outcome.object.namespace}/${outcome.object.name}`;
        if (holder === undefined) nodePorts.set(claim.port, `${name} at ${formatLocation({ path: file.path, ...locate(claim.at) })}`);
        else errors.push(at(claim.at, `nodePort ${claim.port} is already used by ${holder}; each nodePort is published once per node`));
      }
    };

    const size = Buffer.byteLength(file.text);
    if (size > limits.fileBytes) {
      errors.push({ path: file.path, line: 1, col: 1, message: `file is ${formatBytes(size)}; manifest files are at most ${formatBytes(limits.fileBytes)}` });
      continue;
    }
    // Composing recurses per level: refuse deep nesting before the yaml library sees it.
    const deepAt = flowDepthExceeded(file.text, limits.depth);
    if (deepAt !== undefined) {
      errors.push({ path: file.path, ...positionOf(file.text, deepAt), message: `nested deeper than ${limits.depth} levels; berth reads at most ${limits.depth}` });
      continue;
    }
    const composer = new Composer({ uniqueKeys: false, prettyErrors: false });
    let documents = 0;
    let quotes: readonly number[] = [];
    let refused: ManifestError | undefined;
    for (const token of new Parser(lines.addNewLine).parse(file.text)) {
      if (token.type === 'document') {
        documents++;
        const scan = scanTokens(token, limits.depth);
        // Documents composed so far are read; this one is refused, and the file ends here.
        if (documents > limits.documentsPerFile) refused = at(token.offset, `more than ${limits.documentsPerFile} documents in one file; split it`);
        else if (scan.tooDeep !== undefined) refused = at(scan.tooDeep, `nested deeper than ${limits.depth} levels; berth reads at most ${limits.depth}`);
        if (refused) break;
        for (const doc of composer.next(token)) readOne(doc, quotes);
        quotes = scan.quotes;
        continue;
      }
      for (const doc of composer.next(token)) readOne(doc, quotes);
    }
    for (const doc of composer.end()) readOne(doc, quotes);
    if (refused) errors.push(refused);
  }
  const objects = [...byKey.values()].map((v) => v.object).sort((a, b) => compareText(objectKey(a), objectKey(b)));
  const lookup = configMapsOf(objects);
  for (const r of refs) {
    const problem = checkRef(r.ref, r.namespace, lookup(r.namespace));
    if (problem !== undefined) errors.push({ ...r.at[problem.field], message: `${formatPath([...r.ref.path, problem.field])}: ${problem.message}` });
  }
  const byPlace = (a: ManifestError, b: ManifestError): number => compareText(a.path, b.path) || a.line - b.line || a.col - b.col;
  return { objects, errors: errors.kept.sort(byPlace), omitted: errors.omitted, skipped, warnings: warnings.kept.sort(byPlace) };
}

/**
 * Where to point a syntax error. The yaml library reports an unterminated quote where the file ends;
 * the quote that was never closed is the last one opened before that.
 */
function openingQuote(p: { code: string; message: string; pos: [number, number] }, quotes: readonly number[]): number | undefined {
  if (p.code !== 'MISSING_CHAR' || !/closing ["']quote/.test(p.message)) return undefined;
  let open: number | undefined;
  for (const q of quotes) if (q < p.pos[0]) open = q;
  return open;
}

/** 1-based line and column of `offset` in `text`. */
function positionOf(text: string, offset: number): { line: number; col: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, col: offset - start + 1 };
}

