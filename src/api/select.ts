// `get <kind> [NAME] [-n NS]`: which rows, and the one-line answer when NAME is not there.
import { BerthError, InvalidInputError } from '../errors.js';

/** What to select: a namespace (all when absent) and a name (all when absent). */
export interface Selector {
  namespace?: string;
  name?: string;
}

/** The names of a kind, for messages: `pod` and `berth get pods`. */
export interface KindNames {
  singular: string;
  plural: string;
}

/**
 * Rows of a namespaced kind in `sel.namespace` (every namespace without one) named `sel.name`.
 * A name that is not there is ENOTFOUND; without a namespace, a name held in several is EAMBIGUOUS.
 */
export function selectNamespaced<T extends { namespace: string; name: string }>(rows: readonly T[], kind: KindNames, sel: Selector): T[] {
  const inNamespace = sel.namespace === undefined ? [...rows] : rows.filter((r) => r.namespace === sel.namespace);
  if (sel.name === undefined) return inNamespace;
  const named = inNamespace.filter((r) => r.name === sel.name);
  if (named.length === 0) {
    const where = sel.namespace === undefined ? '' : ` in namespace "${sel.namespace}"`;
    throw notFound(kind, `${kind.singular} "${sel.name}" not found${where}`);
  }
  const namespaces = [...new Set(named.map((r) => r.namespace))];
  if (namespaces.length > 1) {
    throw new InvalidInputError('EAMBIGUOUS', `${kind.singular} "${sel.name}" exists in namespaces ${namespaces.join(', ')}`, {
      hint: 'pass -n <namespace>',
    });
  }
  return named;
}

/** Rows of a cluster-wide kind (nodes) named `name`, or all of them; ENOTFOUND when the name is not there. */
export function selectNamed<T extends { name: string }>(rows: readonly T[], kind: KindNames, name: string | undefined): T[] {
  if (name === undefined) return [...rows];
  const named = rows.filter((r) => r.name === name);
  if (named.length === 0) throw notFound(kind, `${kind.singular} "${name}" not found`);
  return named;
}

function notFound(kind: KindNames, message: string): BerthError {
  return new BerthError('ENOTFOUND', message, { hint: `list them with \`berth get ${kind.plural}\`` });
}
