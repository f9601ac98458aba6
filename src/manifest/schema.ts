import { isAlias, isMap, isNode, isScalar, isSeq, type Alias, type Node, type Scalar, type YAMLMap, type YAMLSeq } from 'yaml';
import { formatBytes, type Limits } from './limits.js';
import { suggest } from './suggest.js';
import { quote } from './text.js';

// A tiny schema combinator library over the `yaml` package's AST. Each schema reads a node,
// reports what is wrong at the exact node (with the field path), and returns the typed value
// or undefined. Types of manifests are inferred from these schemas (see types.ts), so the
// shape is written once.

/** A problem at a character offset of the file. */
export interface Issue {
  offset: number;
  message: string;
}

/** A reader of one YAML node: the typed value, or undefined after reporting why not. */
export type Schema<T> = (node: Node, cx: Context) => T | undefined;

/** The value type a schema produces. */
export type Infer<S> = S extends Schema<infer T> ? T : never;

/** One step of a field path: a key or a list index. */
export type Segment = string | number;

/** What reading aliases of one file has cost so far; shared by the documents of the file. */
export interface AliasBudget {
  uses: number;
  bytes: number;
}

/** Thrown when a file's aliases expand past the limits: reading stops at once (the document is rejected there). */
export class AliasLimitError extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

/** Validation state of one document: where the reader is, and every issue so far (at most `limits.errors`). */
export class Context {
  readonly issues: Issue[] = [];
  /** Issues past `limits.errors`, counted but not kept. */
  dropped = 0;
  private readonly trail: Segment[] = [];

  constructor(
    private readonly targets: ReadonlyMap<Alias, Node>,
    private readonly budget: AliasBudget,
    private readonly limits: Pick<Limits, 'aliasesPerFile' | 'aliasBytesPerFile' | 'errors'>,
  ) {}

  /** Records an issue at a node, prefixed with the current field path (`spec.replicas: …`). */
  report(node: Node | undefined, message: string): void {
    if (this.issues.length >= this.limits.errors) {
      this.dropped++;
      return;
    }
    const path = formatPath(this.trail);
    this.issues.push({ offset: node?.range?.[0] ?? 0, message: path === '' ? message : `${path}: ${message}` });
  }

  /** Records an issue about the value at `path` under `node` (for checks that span fields). */
  reportAt(node: Node, path: readonly Segment[], message: string): void {
    const depth = this.trail.length;
    this.trail.push(...path);
    this.report(this.find(node, ...path), message);
    this.trail.length = depth;
  }

  /** Runs `read` one level down the field path (a key or a list index). */
  within<T>(segment: Segment, read: () => T | undefined): T | undefined {
    this.trail.push(segment);
    try {
      return read();
    } finally {
      this.trail.pop();
    }
  }

  /**
   * The node an alias points at (reported if its anchor does not exist); any other node as is.
   * An alias that contains itself (`&a [*a]`) cannot loop: every schema is a finite tree, so
   * reading stops at a leaf schema, which rejects the collection it finds there. Each use counts
   * against the file's alias budget (uses, and the bytes of what they expand to), so nested
   * aliases ("billion laughs") stop after a bounded amount of work.
   */
  deref(node: Node): Scalar | YAMLMap | YAMLSeq | undefined {
    if (!isAlias(node)) return node;
    const target = this.targets.get(node);
    if (target === undefined) {
      const name = quote(node.source, 40).slice(1, -1);
      this.report(node, `alias *${name} has no anchor &${name} before it`);
      return undefined;
    }
    const offset = node.range?.[0] ?? 0;
    this.budget.uses++;
    this.budget.bytes += target.range ? target.range[1] - target.range[0] : 0;
    if (this.budget.uses > this.limits.aliasesPerFile) {
      throw new AliasLimitError(offset, `more than ${this.limits.aliasesPerFile} alias uses in this file; berth bounds alias expansion (write the values out)`);
    }
    if (this.budget.bytes > this.limits.aliasBytesPerFile) {
      throw new AliasLimitError(offset, `aliases in this file expand to more than ${formatBytes(this.limits.aliasBytesPerFile)}; berth bounds alias expansion (write the values out)`);
    }
    return isAlias(target) ? this.deref(target) : (target as Scalar | YAMLMap | YAMLSeq);
  }

  /** The deepest node that exists along `path` under `node`: where to point an error about a value. */
  find(node: Node, ...path: Segment[]): Node {
    let at = node;
    for (const segment of path) {
      const here = this.deref(at);
      const next = isMap(here)
        ? here.items.find((p) => isScalar(p.key) && p.key.value === segment)?.value
        : isSeq(here) && typeof segment === 'number'
          ? here.items[segment]
          : undefined;
      if (!isNode(next)) return at;
      at = next;
    }
    return at;
  }
}

/** A field path as messages show it: `spec.containers[0].env[1]`. */
export function formatPath(trail: readonly Segment[]): string {
  return trail
    .map((s, i) => (typeof s === 'number' ? `[${s}]` : /^[A-Za-z_][\w-]{0,62}$/.test(s) ? (i === 0 ? s : `.${s}`) : `[${quote(s, 60)}]`))
    .join('');
}

/** How a node reads in a message: "a map", "the number 3", "null". */
export function describe(node: Node | undefined): string {
  if (isMap(node)) return 'a map';
  if (isSeq(node)) return 'a list';
  if (!isScalar(node) || node.value === null || node.value === undefined) return 'null';
  if (typeof node.value === 'string') return `the string ${quote(node.value)}`;
  return `the ${typeof node.value} ${quote(sourceOf(node), 40).slice(1, -1)}`;
}

/** The text a scalar was written as (`0.5`, `129e6`), which is what Kubernetes reads numbers from. */
export function sourceOf(node: Scalar): string {
  return node.source ?? String(node.value);
}

/** True for a value that YAML leaves empty (`key:`, `~`, `null`): Kubernetes reads it as unset. */
export function isAbsent(node: unknown): boolean {
  return node === null || node === undefined || (isScalar(node) && (node.value === null || node.value === undefined));
}

/** A string, optionally checked: `check` returns what is wrong, or undefined. */
export function string(check?: (s: string) => string | undefined): Schema<string> {
  return (raw, cx) => {
    const node = cx.deref(raw);
    if (node === undefined) return undefined;
    if (isScalar(node) && typeof node.value === 'string') {
      const problem = check?.(node.value);
      if (problem === undefined) return node.value;
      cx.report(node, problem);
      return undefined;
    }
    if (isScalar(node) && (typeof node.value === 'number' || typeof node.value === 'boolean')) {
      cx.report(node, `must be a string, not ${describe(node)}; quote it: ${quote(sourceOf(node), 40)}`);
    } else if (isAbsent(node)) {
      cx.report(node, 'must be a string, not null; write "" for an empty string');
    } else {
      cx.report(node, `must be a string, not ${describe(node)}`);
    }
    return undefined;
  };
}

/** true or false, written as a YAML boolean (not `"true"`; YAML 1.1's `yes` is warned of elsewhere). */
export function boolean(): Schema<boolean> {
  return (raw, cx) => {
    const node = cx.deref(raw);
    if (node === undefined) return undefined;
    if (isScalar(node) && typeof node.value === 'boolean') return node.value;
    const unquote = isScalar(node) && (node.value === 'true' || node.value === 'false');
    cx.report(node, `must be true or false, not ${describe(node)}${unquote ? '; remove the quotes' : ''}`);
    return undefined;
  };
}

/** One of a fixed set of strings; a near miss gets a suggestion. */
export function oneOf<const V extends readonly string[]>(values: V): Schema<V[number]> {
  const isValue = (s: string): s is V[number] => values.includes(s);
  const read = string((s) => {
    if (isValue(s)) return undefined;
    const near = suggest(s, values);
    return `must be one of ${values.join(', ')}, not ${quote(s)}${near === undefined ? '' : `; did you mean ${near}?`}`;
  });
  return (node, cx) => {
    const s = read(node, cx);
    return s !== undefined && isValue(s) ? s : undefined;
  };
}

/** A whole number within bounds, written as a YAML integer (not `"3"`, not `3.0`). */
export function integer(bounds: { min?: number; max?: number } = {}): Schema<number> {
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = bounds;
  return (raw, cx) => {
    const node = cx.deref(raw);
    if (node === undefined) return undefined;
    if (isScalar(node) && typeof node.value === 'number' && /^[-+]?[0-9]+$/.test(sourceOf(node))) {
      const n = node.value;
      if (n >= min && n <= max) return n;
      cx.report(node, `must be ${n < min ? `at least ${min}` : `at most ${max}`}, not ${quote(sourceOf(node), 40).slice(1, -1)}`);
      return undefined;
    }
    const unquote = isScalar(node) && typeof node.value === 'string' && /^[-+]?[0-9]+$/.test(node.value);
    cx.report(node, `must be an integer, not ${describe(node)}${unquote ? '; remove the quotes' : ''}`);
    return undefined;
  };
}

/** A list whose items all read with `item`. */
export function list<T>(item: Schema<T>, opts: { min?: number } = {}): Schema<T[]> {
  return (raw, cx) => {
    const node = cx.deref(raw);
    if (node === undefined) return undefined;
    if (!isSeq(node)) {
      cx.report(node, `must be a list, not ${describe(node)}`);
      return undefined;
    }
    const out: T[] = [];
    let ok = true;
    node.items.forEach((it, i) => {
      const value = isNode(it) ? cx.within(i, () => item(it, cx)) : undefined;
      if (!isNode(it)) cx.within(i, () => cx.report(node, 'must be a value, not a `key: value` pair'));
      if (value === undefined) ok = false;
      else out.push(value);
    });
    if (opts.min !== undefined && node.items.length < opts.min) {
      cx.report(node, `must have at least ${opts.min} item${opts.min === 1 ? '' : 's'}`);
      ok = false;
    }
    return ok ? out : undefined;
  };
}

/** A map with free-form string keys (labels, data); `key` returns what is wrong with a key. */
export function record<T>(key: (k: string) => string | undefined, value: Schema<T>): Schema<Record<string, T>> {
  return (raw, cx) => {
    const node = cx.deref(raw);
    if (node === undefined) return undefined;
    if (!isMap(node)) {
      if (isAbsent(node)) return {};
      cx.report(node, `must be a map, not ${describe(node)}`);
      return undefined;
    }
    // Pairs first, then one object: Object.fromEntries defines each key as data, so a key such as
    // `__proto__` is data here, not a prototype (and a ConfigMap of 30,000 keys is built once).
    const out: [string, T][] = [];
    let ok = true;
    for (const pair of node.items) {
      const k = isScalar(pair.key) && typeof pair.key.value === 'string' ? pair.key.value : undefined;
      const keyNode = isNode(pair.key) ? pair.key : node;
      if (k === undefined) {
        cx.report(keyNode, `keys must be strings, not ${describe(isNode(pair.key) ? pair.key : undefined)}`);
        ok = false;
        continue;
      }
      const problem = key(k);
      if (problem !== undefined) cx.within(k, () => cx.report(keyNode, problem));
      const valueNode = pair.value;
      const v = isNode(valueNode) ? cx.within(k, () => value(valueNode, cx)) : undefined;
      if (!isNode(valueNode)) cx.within(k, () => cx.report(keyNode, 'has no value'));
      if (problem !== undefined || v === undefined) ok = false;
      else out.push([k, v]);
    }
    return ok ? (Object.fromEntries(out) as Record<string, T>) : undefined;
  };
}

type Presence = 'required' | 'optional' | 'default';

/** One field of an object schema: how it reads and whether it may be left out. */
export interface Field<T, P extends Presence> {
  read: Schema<T>;
  presence: P;
  fallback?: T;
}

/** A field that must be present. */
export function required<T>(read: Schema<T>): Field<T, 'required'> {
  return { read, presence: 'required' };
}

/** A field that may be left out (then absent from the value). */
export function optional<T>(read: Schema<T>): Field<T, 'optional'> {
  return { read, presence: 'optional' };
}

/** A field that takes `fallback` when left out, so the value always has it. */
export function withDefault<T>(read: Schema<T>, fallback: NoInfer<T>): Field<T, 'default'> {
  return { read, presence: 'default', fallback };
}

type Shape = Record<string, Field<unknown, Presence>>;
type FieldValue<F> = F extends Field<infer T, Presence> ? T : never;
type Flatten<T> = { [K in keyof T]: T[K] } & {};

/** The value of an object schema: required and defaulted fields always there, optional ones maybe. */
export type ObjectOf<S extends Shape> = Flatten<
  { [K in keyof S as S[K]['presence'] extends 'optional' ? never : K]: FieldValue<S[K]> } & {
    [K in keyof S as S[K]['presence'] extends 'optional' ? K : never]?: FieldValue<S[K]>;
  }
>;

/** A map with known fields. Anything else is an error: `unsupported` names Kubernetes fields berth refuses, with why. */
export function object<S extends Shape>(shape: S, unsupported: Readonly<Record<string, string>> = {}): Schema<ObjectOf<S>> {
  const names = Object.keys(shape);
  return (raw, cx) => {
    const node = cx.deref(raw);
    if (node === undefined) return undefined;
    if (!isMap(node)) {
      cx.report(node, `must be a map, not ${describe(node)}`);
      return undefined;
    }
    // First the keys (unknown ones reported), then the fields in the schema's order, so the
    // value's key order does not depend on how the file was written.
    const values = new Map<string, Node | undefined>();
    let ok = true;
    for (const pair of node.items) {
      const keyNode = isNode(pair.key) ? pair.key : node;
      const name = isScalar(pair.key) && typeof pair.key.value === 'string' ? pair.key.value : undefined;
      if (name === undefined) {
        cx.report(keyNode, `keys must be strings, not ${describe(isNode(pair.key) ? pair.key : undefined)}`);
        ok = false;
      } else if (!Object.hasOwn(shape, name)) {
        cx.within(name, () => cx.report(keyNode, unknownField(name, names, unsupported)));
        ok = false;
      } else {
        values.set(name, isNode(pair.value) && !isAbsent(pair.value) ? pair.value : undefined);
      }
    }
    const out: Record<string, unknown> = {};
    for (const [name, field] of Object.entries(shape)) {
      const valueNode = values.get(name);
      if (valueNode !== undefined) {
        const value = cx.within(name, () => field.read(valueNode, cx));
        if (value === undefined) ok = false;
        else out[name] = value;
      } else if (field.presence === 'default') {
        out[name] = structuredClone(field.fallback);
      } else if (field.presence === 'required') {
        ok = false;
        if (values.has(name)) cx.reportAt(node, [name], 'must have a value');
        else cx.report(node, `missing required field \`${name}\``);
      }
    }
    // Every required and defaulted field was filled above; the cast restates that for the type system.
    return ok ? (out as ObjectOf<S>) : undefined;
  };
}

function unknownField(name: string, supported: readonly string[], unsupported: Readonly<Record<string, string>>): string {
  if (Object.hasOwn(unsupported, name)) return unsupported[name] ?? 'not supported by berth; remove it';
  if (name === '<<') return 'YAML merge keys are not supported; write the fields out';
  const near = suggest(name, supported);
  if (near !== undefined) return `unknown field; did you mean \`${near}\`?`;
  return `unknown field (supported here: ${supported.join(', ')})`;
}

/** A schema whose value is checked or reshaped further; `fn` reports and returns undefined to reject. */
export function refine<T, U>(read: Schema<T>, fn: (value: T, node: Node, cx: Context) => U | undefined): Schema<U> {
  return (raw, cx) => {
    const value = read(raw, cx);
    if (value === undefined) return undefined;
    return fn(value, cx.deref(raw) ?? raw, cx);
  };
}

/** Accepts only an empty map or list (as `kubectl --dry-run -o yaml` writes `status: {}`); anything else gets `message`. */
export function empty(message: string): Schema<Record<string, never>> {
  return (raw, cx) => {
    const node = cx.deref(raw);
    if ((isMap(node) || isSeq(node)) && node.items.length === 0) return {};
    cx.report(node ?? raw, message);
    return undefined;
  };
}
