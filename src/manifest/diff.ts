// Pure: what a plan changes in desired state, as `kubectl diff` shows it (one unified diff per object).
import { stringify } from 'yaml';
import type { DesiredPlan } from './plan.js';
import { objectKey, type DesiredObject } from './types.js';
import { redactSecret } from './secret.js';

/** Lines of context around each change, as `diff -u`. */
const CONTEXT = 3;
/** Above this many line pairs an object is shown replaced whole rather than diffed line by line (bounded work). */
const MAX_CELLS = 4_000_000;

/** An object as desired state holds it (normalized, defaults filled in), as YAML lines: what the diff compares. */
export function renderObject(o: DesiredObject): string[] {
  // A Secret shows its ciphertext and keys, never a plain value.
  const doc = { kind: o.kind, metadata: { namespace: o.namespace, name: o.name, labels: o.labels }, spec: redactSecret(o).spec };
  // The file is part of the stored record (a move is an update); the line is not (planDesired).
  return [`# file: ${o.path}`, ...stringify(doc, { sortMapEntries: true, lineWidth: 0 }).trimEnd().split('\n')];
}

/** What the two sides of a diff are called in its headers (`--- desired/…  <from>`). */
export interface DiffLabels {
  from: string;
  to: string;
}

/**
 * `plan` as unified diffs, one per object in key order (creates, updates and deletes together),
 * each headed `diff -u -N desired/<key> <to>/<key>` as `kubectl diff` heads them; '' when the plan is empty.
 */
export function formatPlanDiff(plan: DesiredPlan, labels: DiffLabels): string {
  const pairs: [string, DesiredObject | undefined, DesiredObject | undefined][] = [
    ...plan.create.map((o): [string, undefined, DesiredObject] => [objectKey(o), undefined, o]),
    ...plan.update.map((u): [string, DesiredObject, DesiredObject] => [objectKey(u.to), u.from, u.to]),
    ...plan.delete.map((o): [string, DesiredObject, undefined] => [objectKey(o), o, undefined]),
  ];
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: string[] = [];
  for (const [key, from, to] of pairs) {
    out.push(`diff -u -N desired/${key} commit/${key}`);
    out.push(`--- desired/${key}\t${from ? labels.from : '(absent)'}`);
    out.push(`+++ commit/${key}\t${to ? labels.to : '(absent)'}`);
    out.push(...unifiedHunks(from ? renderObject(from) : [], to ? renderObject(to) : []));
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

type Op = { kind: ' ' | '-' | '+'; line: string };

/** The hunks (`@@ -a,b +c,d @@` and their lines) of a unified diff of two line lists. */
export function unifiedHunks(a: readonly string[], b: readonly string[], context = CONTEXT): string[] {
  const ops = editScript(a, b);
  const out: string[] = [];
  let i = 0;
  while (i < ops.length) {
    // Find the next change; a hunk runs from `context` lines before it to `context` lines after the
    // last change that lies within 2 * context of the one before.
    while (i < ops.length && ops[i]?.kind === ' ') i++;
    if (i >= ops.length) break;
    const start = Math.max(0, i - context);
    let end = i;
    for (let j = i; j < ops.length; j++) {
      if (ops[j]?.kind !== ' ') end = j;
      else if (j - end > 2 * context) break;
    }
    const stop = Math.min(ops.length, end + context + 1);
    const hunk = ops.slice(start, stop);
    const before = ops.slice(0, start);
    const aStart = before.filter((o) => o.kind !== '+').length;
    const bStart = before.filter((o) => o.kind !== '-').length;
    const aLen = hunk.filter((o) => o.kind !== '+').length;
    const bLen = hunk.filter((o) => o.kind !== '-').length;
    out.push(`@@ -${range(aStart, aLen)} +${range(bStart, bLen)} @@`);
    for (const o of hunk) out.push(`${o.kind}${o.line}`);
    i = stop;
  }
  return out;
}

/** diff's range: the 1-based first line and the count; an empty side is `<line before>,0`. */
function range(start: number, len: number): string {
  return len === 0 ? `${start},0` : `${start + 1},${len}`;
}

/** The shortest edit script from `a` to `b` (longest common subsequence), deletions before insertions at each point. */
function editScript(a: readonly string[], b: readonly string[]): Op[] {
  if (a.length * b.length > MAX_CELLS) return [...a.map((line): Op => ({ kind: '-', line })), ...b.map((line): Op => ({ kind: '+', line }))];
  const n = a.length;
  const m = b.length;
  // lcs[i][j]: the longest common subsequence of a[i..] and b[j..], in one flat array.
  const lcs = new Uint32Array((n + 1) * (m + 1));
  const at = (i: number, j: number): number => lcs[i * (m + 1) + j] ?? 0;
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * (m + 1) + j] = a[i] === b[j] ? at(i + 1, j + 1) + 1 : Math.max(at(i + 1, j), at(i, j + 1));
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ kind: ' ', line: a[i] ?? '' });
      i++;
      j++;
    } else if (i < n && (j >= m || at(i + 1, j) >= at(i, j + 1))) {
      ops.push({ kind: '-', line: a[i] ?? '' });
      i++;
    } else {
      ops.push({ kind: '+', line: b[j] ?? '' });
      j++;
    }
  }
  return ops;
}
