import { isAlias, isMap, isScalar, visit, type Alias, type Document, type Node } from 'yaml';
import { formatBytes, type Limits } from './limits.js';
import type { Issue } from './schema.js';
import { quote } from './text.js';

/** What one linear pass over a composed document finds. */
export interface Inspection {
  /** Each alias's anchored node (the last anchor of that name before it, as YAML says); absent if it has none. */
  targets: Map<Alias, Node>;
  /** Problems that make the document unreadable (duplicate keys, oversized keys or values). */
  errors: Issue[];
  /** Spellings Kubernetes reads differently (YAML 1.1), which berth accepts but names. */
  warnings: Issue[];
}

// YAML 1.1 (which Kubernetes' decoder speaks) reads these as booleans; YAML 1.2 (berth, via `yaml`) as strings.
const YAML11_TRUE = new Set(['y', 'Y', 'yes', 'Yes', 'YES', 'on', 'On', 'ON']);
const YAML11_FALSE = new Set(['n', 'N', 'no', 'No', 'NO', 'off', 'Off', 'OFF']);
const OCTAL = /^[-+]?0[0-7]+$/;

/**
 * One pass over a document, in document order: resolves every alias to its anchor (so reading an
 * alias costs a lookup, not a walk of the document as the yaml library's own `resolve` does), checks
 * keys are unique per map in linear time (the library's own check is quadratic and is turned off),
 * bounds keys and values, and notes YAML 1.1 spellings.
 */
export function inspectDocument(doc: Document.Parsed, limits: Limits): Inspection {
  const targets = new Map<Alias, Node>();
  const anchors = new Map<string, Node>();
  const errors: Issue[] = [];
  const warnings: Issue[] = [];
  visit(doc, {
    Node: (_key, node) => {
      if (isAlias(node)) {
        const target = anchors.get(node.source);
        if (target !== undefined) targets.set(node, target);
        return;
      }
      // Set before the children are visited, so `&a [*a]` refers to itself, as in the yaml library.
      if (node.anchor) anchors.set(node.anchor, node);
      if (isMap(node)) {
        const seen = new Set<unknown>();
        for (const pair of node.items) {
          const key = pair.key;
          if (!isScalar(key)) continue;
          if (seen.has(key.value)) errors.push({ offset: key.range?.[0] ?? 0, message: 'invalid YAML: Map keys must be unique' });
          seen.add(key.value);
          if (typeof key.value === 'string' && key.value.length > limits.keyBytes / 4 && Buffer.byteLength(key.value) > limits.keyBytes) {
            errors.push({ offset: key.range?.[0] ?? 0, message: `key ${quote(key.value, 40)} is ${formatBytes(Buffer.byteLength(key.value))}; keys are at most ${formatBytes(limits.keyBytes)}` });
          }
        }
      } else if (isScalar(node)) {
        if (typeof node.value === 'string' && node.value.length > limits.valueBytes / 4 && Buffer.byteLength(node.value) > limits.valueBytes) {
          errors.push({ offset: node.range?.[0] ?? 0, message: `value is ${formatBytes(Buffer.byteLength(node.value))}; values are at most ${formatBytes(limits.valueBytes)}` });
        }
        const warning = node.type === 'PLAIN' && node.source !== undefined ? yaml11(node.source) : undefined;
        if (warning !== undefined) warnings.push({ offset: node.range?.[0] ?? 0, message: warning });
      }
    },
  });
  return { targets, errors, warnings };
}

/** What Kubernetes (YAML 1.1) makes of a plain scalar that berth (YAML 1.2) reads otherwise; undefined when they agree. */
function yaml11(source: string): string | undefined {
  const bool = YAML11_TRUE.has(source) ? 'true' : YAML11_FALSE.has(source) ? 'false' : undefined;
  if (bool !== undefined) {
    return `${source} is the string ${quote(source)} here, but Kubernetes (YAML 1.1) reads it as the boolean ${bool}; write ${quote(source)} or ${bool}`;
  }
  if (OCTAL.test(source) && Number.parseInt(source, 8) !== Number.parseInt(source, 10)) {
    const octal = Number.parseInt(source, 8);
    return `${source} is the number ${Number.parseInt(source, 10)} here, but Kubernetes (YAML 1.1) reads it as octal ${octal}; write ${octal}, or quote it`;
  }
  return undefined;
}
