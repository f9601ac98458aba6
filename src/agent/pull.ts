// When the agent pulls an image: Kubernetes' imagePullPolicy, with Kubernetes' defaults.
import type { ContainerSpec } from '../manifest/types.js';

/** Always: pull before every create. IfNotPresent: only when absent. Never: use what the node has, or fail. */
export type PullPolicy = 'Always' | 'IfNotPresent' | 'Never';

/**
 * The container's imagePullPolicy, or Kubernetes' default for its image: Always for `:latest` or
 * an untagged name (a moving tag must be fetched to be current), IfNotPresent for any other tag
 * or a digest (it names fixed content).
 */
export function pullPolicyOf(spec: Pick<ContainerSpec, 'image' | 'imagePullPolicy'>): PullPolicy {
  if (spec.imagePullPolicy !== undefined) return spec.imagePullPolicy;
  if (spec.image.includes('@')) return 'IfNotPresent';
  const last = spec.image.slice(spec.image.lastIndexOf('/') + 1);
  const colon = last.indexOf(':');
  return colon < 0 || last.slice(colon + 1) === 'latest' ? 'Always' : 'IfNotPresent';
}
