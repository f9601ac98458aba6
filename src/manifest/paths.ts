// Paths a repository writes inside a pod's volumes, checked as Kubernetes checks them; apart from
// volumes.ts's schemas, so that the agent, which checks them again on the node, loads no schema or yaml.
import { quote } from './text.js';

/** The longest path berth takes (Linux's PATH_MAX). */
export const MAX_PATH = 4096;

/**
 * A path inside a volume (an item's `path`, a `subPath`), as Kubernetes checks it
 * (validateLocalDescendingPath): relative, with no `..` part, so it can never leave the volume.
 */
export function checkLocalPath(s: string): string | undefined {
  if (s.length > MAX_PATH) return `is longer than ${MAX_PATH} characters`;
  if (s.startsWith('/')) return `${quote(s)} must be a relative path inside the volume, not an absolute one`;
  if (s.split('/').includes('..')) return `${quote(s)} must not contain '..': a path must stay inside the volume`;
  if (s.includes('\0')) return `${quote(s)} must not contain a NUL character`;
  return undefined;
}

/** An item's path: also not starting with '..', the names a ConfigMap volume's writer keeps for itself (as Kubernetes). */
export function checkItemPath(s: string): string | undefined {
  if (s === '') return 'must not be empty';
  return checkLocalPath(s) ?? (s.startsWith('..') ? `${quote(s)} must not start with '..'` : undefined);
}
