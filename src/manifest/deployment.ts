import { quote } from './text.js';
import { isScalar } from 'yaml';
import { apiVersionSchema, labelsSchema, metadataSchema, statusField } from './metadata.js';
import { podTemplateSchema } from './pod.js';
import { describe, integer, object, oneOf, optional, refine, required, sourceOf, string, withDefault, type Schema } from './schema.js';
import * as unsupported from './unsupported.js';

type StrategyType = 'RollingUpdate' | 'Recreate';
type Strategy = { type: StrategyType; maxSurge: number | string; maxUnavailable: number | string };

/** maxSurge / maxUnavailable: a whole number of pods, or a percentage of replicas ("25%"). */
const intOrPercent: Schema<number | string> = (raw, cx) => {
  const node = cx.deref(raw);
  if (node === undefined) return undefined;
  if (isScalar(node) && typeof node.value === 'number' && node.value >= 0 && /^\+?[0-9]+$/.test(sourceOf(node))) return node.value;
  if (isScalar(node) && typeof node.value === 'string' && /^[0-9]+%$/.test(node.value)) return node.value;
  cx.report(node, `must be a number of pods (e.g. 1) or a percentage of replicas (e.g. "25%"), not ${describe(node)}`);
  return undefined;
};

const isZero = (v: number | string): boolean => v === 0 || (typeof v === 'string' && Number.parseInt(v, 10) === 0);

// Kubernetes' defaults. Recreate is expressed in the same terms (no surge, everything may be
// down) so that a controller reading only the numbers still does the right thing.
const ROLLING_DEFAULT: Strategy = { type: 'RollingUpdate', maxSurge: '25%', maxUnavailable: '25%' };
const RECREATE: Strategy = { type: 'Recreate', maxSurge: 0, maxUnavailable: '100%' };

const strategySchema = refine(
  object({
    type: withDefault(oneOf(['RollingUpdate', 'Recreate']), 'RollingUpdate'),
    rollingUpdate: optional(
      object({ maxSurge: withDefault(intOrPercent, ROLLING_DEFAULT.maxSurge), maxUnavailable: withDefault(intOrPercent, ROLLING_DEFAULT.maxUnavailable) }),
    ),
  }),
  (s, node, cx): Strategy | undefined => {
    if (s.type === 'Recreate') {
      if (s.rollingUpdate === undefined) return { ...RECREATE };
      cx.reportAt(node, ['rollingUpdate'], 'must not be set when `type` is Recreate');
      return undefined;
    }
    const { maxSurge, maxUnavailable } = s.rollingUpdate ?? ROLLING_DEFAULT;
    if (isZero(maxSurge) && isZero(maxUnavailable)) {
      cx.reportAt(node, ['rollingUpdate', 'maxUnavailable'], 'must not be 0 when maxSurge is 0: the rollout could never replace a pod');
      return undefined;
    }
    if (typeof maxUnavailable === 'string' && Number.parseInt(maxUnavailable, 10) > 100) {
      cx.reportAt(node, ['rollingUpdate', 'maxUnavailable'], 'must not be more than 100%');
      return undefined;
    }
    return { type: 'RollingUpdate', maxSurge, maxUnavailable };
  },
);

const selectorSchema = refine(object({ matchLabels: withDefault(labelsSchema, {}) }, unsupported.SELECTOR), (s, node, cx) => {
  if (Object.keys(s.matchLabels).length > 0) return s;
  cx.report(node, 'must have `matchLabels`: they select this Deployment\'s pods (e.g. `app: web`)');
  return undefined;
});

/** A Deployment's spec, normalized. The selector is checked against the template, then dropped: berth owns its pods by name. */
export const deploymentSpecSchema = refine(
  object(
    {
      replicas: withDefault(integer({ min: 0, max: 2147483647 }), 1),
      selector: required(selectorSchema),
      strategy: withDefault(strategySchema, { ...ROLLING_DEFAULT }),
      template: required(podTemplateSchema),
      // A new pod counts as available only once it has been Ready this long; rollouts pace on available pods.
      minReadySeconds: withDefault(integer({ min: 0, max: 2147483647 }), 0),
      // A rollout that makes no progress for this long is reported failed (Progressing=False, ProgressDeadlineExceeded).
      progressDeadlineSeconds: withDefault(integer({ min: 0, max: 2147483647 }), 600),
      // Accepted and dropped: it bounds kept ReplicaSets, and berth keeps none; the rollback record is Git.
      revisionHistoryLimit: optional(integer({ min: 0 })),
    },
    unsupported.DEPLOYMENT_SPEC,
  ),
  (spec, node, cx) => {
    let ok = true;
    if (spec.progressDeadlineSeconds <= spec.minReadySeconds) {
      // Kubernetes' rule: a deadline no longer than minReadySeconds would expire before any pod could count.
      cx.reportAt(node, ['progressDeadlineSeconds'], `must be greater than minReadySeconds (${spec.minReadySeconds})`);
      ok = false;
    }
    for (const [key, value] of Object.entries(spec.selector.matchLabels)) {
      const label = Object.hasOwn(spec.template.labels, key) ? spec.template.labels[key] : undefined;
      if (label === value) continue;
      ok = false;
      cx.reportAt(
        node,
        ['selector', 'matchLabels', key],
        label === undefined
          ? `the pod template has no label ${quote(key)}; add \`${key}: ${value}\` to spec.template.metadata.labels`
          : `${quote(value)} does not match the pod template's label ${key}: ${quote(label)}; the selector must match spec.template.metadata.labels`,
      );
    }
    if (!ok) return undefined;
    const { replicas, strategy, template, minReadySeconds, progressDeadlineSeconds } = spec;
    return { replicas, strategy, template, minReadySeconds, progressDeadlineSeconds };
  },
);

/** A whole `apps/v1 Deployment` document. */
export const deploymentSchema = object({
  apiVersion: required(apiVersionSchema('apps/v1', 'Deployment')),
  kind: required(string()),
  metadata: required(metadataSchema),
  spec: required(deploymentSpecSchema),
  status: statusField,
});
