// A container's environment as Kubernetes defines it: `env` (a value, a ConfigMap or Secret key, or a
// field of the pod) and `envFrom` (a whole ConfigMap or Secret), read by the schemas here and
// resolved by resolveEnv (env-resolve.ts, re-exported here), pure, with kubelet's precedence and
// `$(VAR)` expansion.
import { quote } from './text.js';
import { checkConfigMapKey, checkDnsSubdomain, checkEnvName } from './names.js';
import { boolean, object, oneOf, optional, refine, required, string, type Schema } from './schema.js';
import * as unsupported from './unsupported.js';
import type { EnvFrom } from './env-resolve.js';

export * from './env-resolve.js';

/** The pod fields a `fieldRef` may read; status.podIP is the pod's address, known once its network exists. */
export const FIELD_PATHS = ['metadata.name', 'metadata.namespace', 'spec.nodeName', 'status.podIP'] as const;
/** One of FIELD_PATHS. */
export type FieldPath = (typeof FIELD_PATHS)[number];

// Kubernetes' other downward-API fields, each refused with why.
const OTHER_FIELDS: Readonly<Record<string, string>> = {
  'metadata.uid': 'berth pods have no uid',
  'metadata.labels': 'berth passes no labels into containers',
  'metadata.annotations': 'berth keeps no annotations',
  'spec.serviceAccountName': 'berth mounts no service account',
  'status.hostIP': 'berth passes no node address into containers',
  'status.hostIPs': 'berth passes no node address into containers',
  'status.podIPs': 'use status.podIP',
};

const fieldPath: Schema<FieldPath> = string((s) => {
  if ((FIELD_PATHS as readonly string[]).includes(s)) return undefined;
  const base = s.replace(/\[.*$/, '');
  const why = Object.hasOwn(OTHER_FIELDS, base) ? ` (${OTHER_FIELDS[base] ?? ''})` : '';
  return `${quote(s)} is not a field berth can pass${why}; berth passes ${FIELD_PATHS.join(', ')}`;
}) as Schema<FieldPath>;

const configMapKeyRefSchema = object({
  name: required(string(checkDnsSubdomain)),
  key: required(string(checkConfigMapKey)),
  optional: optional(boolean()),
});

const fieldRefSchema = object({ apiVersion: optional(oneOf(['v1'])), fieldPath: required(fieldPath) });

type ValueFrom = { configMapKeyRef: KeyRef } | { secretKeyRef: KeyRef } | { fieldRef: { fieldPath: FieldPath } };

/** Where an env value comes from: exactly one of a ConfigMap key, a Secret key and a pod field. */
const envVarSourceSchema = refine(
  object({ configMapKeyRef: optional(configMapKeyRefSchema), secretKeyRef: optional(configMapKeyRefSchema), fieldRef: optional(fieldRefSchema) }, unsupported.ENV_VAR_SOURCE),
  (s, node, cx): ValueFrom | undefined => {
    const set = (['configMapKeyRef', 'secretKeyRef', 'fieldRef'] as const).filter((k) => s[k] !== undefined);
    if (set.length !== 1) {
      cx.report(node, set.length === 0 ? 'must have one of configMapKeyRef, secretKeyRef, fieldRef' : `must have only one of configMapKeyRef, secretKeyRef, fieldRef, not ${set.join(' and ')}`);
      return undefined;
    }
    if (s.configMapKeyRef !== undefined) return { configMapKeyRef: s.configMapKeyRef };
    if (s.secretKeyRef !== undefined) return { secretKeyRef: s.secretKeyRef };
    return s.fieldRef === undefined ? undefined : { fieldRef: { fieldPath: s.fieldRef.fieldPath } };
  },
);

/** One `env[]` entry: a `value` (default "" as in Kubernetes) or a `valueFrom`, never both. */
export const envVarSchema = refine(
  object({ name: required(string(checkEnvName)), value: optional(string()), valueFrom: optional(envVarSourceSchema) }),
  (e, node, cx): EnvVar | undefined => {
    if (e.valueFrom === undefined) return { name: e.name, value: e.value ?? '' };
    // Kubernetes' rule: a value with a valueFrom is refused (an empty value is the same as none).
    if (e.value !== undefined && e.value !== '') {
      cx.reportAt(node, ['value'], 'must not be set with `valueFrom`; keep one of them');
      return undefined;
    }
    return { name: e.name, valueFrom: e.valueFrom };
  },
);

/** A key of a ConfigMap or Secret. */
export interface KeyRef {
  name: string;
  key: string;
  optional?: boolean;
}

/** A normalized `env[]` entry. An entry with a value keeps the shape it always had, so its template hash does not move. */
export type EnvVar = { name: string; value: string } | { name: string; valueFrom: ValueFrom };

const objectRefSchema = object({ name: required(string(checkDnsSubdomain)), optional: optional(boolean()) });

/** One `envFrom[]` entry: every key of a ConfigMap or a Secret, each name prefixed with `prefix`. */
export const envFromSchema = refine(
  object(
    { configMapRef: optional(objectRefSchema), secretRef: optional(objectRefSchema), prefix: optional(string((s) => (s === '' ? undefined : checkEnvName(s)))) },
    unsupported.ENV_FROM,
  ),
  (e, node, cx): EnvFrom | undefined => {
    const prefix = e.prefix === undefined || e.prefix === '' ? {} : { prefix: e.prefix };
    if (e.configMapRef !== undefined && e.secretRef === undefined) return { configMapRef: e.configMapRef, ...prefix };
    if (e.secretRef !== undefined && e.configMapRef === undefined) return { secretRef: e.secretRef, ...prefix };
    cx.report(node, e.configMapRef === undefined ? 'must have one of `configMapRef`, `secretRef`' : 'must have only one of `configMapRef`, `secretRef`');
    return undefined;
  },
);
