// The labels an operator gives a node (`--label zone=eu-1`), for the scheduler's nodeSelector.
import { UsageError } from '../errors.js';
import { checkLabelValue, checkQualifiedName } from '../manifest/names.js';

/** Label keys under this prefix are berth's own (hostname, os, arch) and set by the agent. */
export const RESERVED_LABEL_PREFIX = 'berth.io/';

/**
 * Parse `key=value` pairs, each checked as Kubernetes checks label keys and values. A key given
 * twice, a key under berth.io/ or a malformed pair is an error naming the flag, never ignored.
 */
export function parseNodeLabels(pairs: readonly string[], flag = '--label'): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const bad = (why: string): UsageError =>
      new UsageError('ELABEL', `${flag} ${JSON.stringify(pair)}: ${why}`, { hint: `pass ${flag} key=value, e.g. ${flag} zone=eu-1 (repeat it for more labels)` });
    if (eq < 0) throw bad('expected key=value');
    const key = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    const problem = checkQualifiedName(key) ?? checkLabelValue(value);
    if (problem !== undefined) throw bad(problem);
    if (key.startsWith(RESERVED_LABEL_PREFIX)) throw bad(`keys under ${RESERVED_LABEL_PREFIX} are set by berth itself`);
    if (key in labels) throw bad(`${key} is given twice`);
    labels[key] = value;
  }
  return labels;
}
