// A container's environment as Kubernetes defines it: `env` (a value, a ConfigMap key or a field of
// the pod) and `envFrom` (a whole ConfigMap), read by the schemas here and resolved by resolveEnv,
// pure, with kubelet's precedence and `$(VAR)` expansion.
import { quote } from './text.js';
import { checkConfigMapKey, checkDnsSubdomain, checkEnvName } from './names.js';
import { boolean, object, oneOf, optional, refine, required, string, type Schema } from './schema.js';
import * as unsupported from './unsupported.js';

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

/** Where an env value comes from: exactly one of a ConfigMap key and a pod field. */
const envVarSourceSchema = refine(
  object({ configMapKeyRef: optional(configMapKeyRefSchema), fieldRef: optional(fieldRefSchema) }, unsupported.ENV_VAR_SOURCE),
  (s, node, cx) => {
    if (s.configMapKeyRef !== undefined && s.fieldRef === undefined) return { configMapKeyRef: s.configMapKeyRef };
    if (s.fieldRef !== undefined && s.configMapKeyRef === undefined) return { fieldRef: { fieldPath: s.fieldRef.fieldPath } };
    cx.report(node, s.fieldRef === undefined ? 'must have one of configMapKeyRef, fieldRef' : 'must have only one of configMapKeyRef, fieldRef');
    return undefined;
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

/** A normalized `env[]` entry. An entry with a value keeps the shape it always had, so its template hash does not move. */
export type EnvVar =
  | { name: string; value: string }
  | { name: string; valueFrom: { configMapKeyRef: { name: string; key: string; optional?: boolean } } | { fieldRef: { fieldPath: FieldPath } } };

/** One `envFrom[]` entry: every key of a ConfigMap, each name prefixed with `prefix`. */
export const envFromSchema = refine(
  object(
    {
      configMapRef: optional(object({ name: required(string(checkDnsSubdomain)), optional: optional(boolean()) })),
      prefix: optional(string((s) => (s === '' ? undefined : checkEnvName(s)))),
    },
    unsupported.ENV_FROM,
  ),
  (e, node, cx): EnvFrom | undefined => {
    if (e.configMapRef === undefined) {
      cx.report(node, 'must have `configMapRef`');
      return undefined;
    }
    return { configMapRef: e.configMapRef, ...(e.prefix === undefined || e.prefix === '' ? {} : { prefix: e.prefix }) };
  },
);

/** A normalized `envFrom[]` entry. */
export interface EnvFrom {
  configMapRef: { name: string; optional?: boolean };
  prefix?: string;
}

/** What a container's environment is made of. */
export interface EnvSource {
  env: readonly EnvVar[];
  envFrom?: readonly EnvFrom[];
}

/** The pod fields a fieldRef reads; podIP absent while the pod has no address. */
export interface PodFields {
  name: string;
  namespace: string;
  nodeName: string;
  podIP?: string;
}

/** A ConfigMap's data by name, in the pod's namespace; undefined when there is none. */
export type ConfigMapLookup = (name: string) => Readonly<Record<string, string>> | undefined;

/** A container's resolved environment, or why it cannot be made (Kubernetes' CreateContainerConfigError). */
export type ResolvedEnv = { ok: true; env: { name: string; value: string }[] } | { ok: false; message: string };

/**
 * The environment kubelet gives a container: every `envFrom` ConfigMap in order (a later one wins a
 * name; keys that are no valid variable name are left out, as kubelet does), then `env` in order
 * (over envFrom; a later entry wins), a `value` expanded with `$(VAR)` against what is defined
 * before it. A missing ConfigMap or key that is not `optional` fails the container.
 */
export function resolveEnv(c: EnvSource, configMaps: ConfigMapLookup, pod: PodFields): ResolvedEnv {
  const vars = new Map<string, string>();
  for (const from of c.envFrom ?? []) {
    const data = configMaps(from.configMapRef.name);
    if (data === undefined) {
      if (from.configMapRef.optional === true) continue;
      return { ok: false, message: `configmap ${quote(from.configMapRef.name)} not found` };
    }
    for (const [key, value] of Object.entries(data)) {
      const name = `${from.prefix ?? ''}${key}`;
      if (checkEnvName(name) === undefined) vars.set(name, value);
    }
  }
  for (const e of c.env) {
    if ('value' in e) {
      vars.set(e.name, expand(e.value, vars));
      continue;
    }
    const from = e.valueFrom;
    if ('fieldRef' in from) {
      const value = fieldValue(from.fieldRef.fieldPath, pod);
      if (value === undefined) return { ok: false, message: `${from.fieldRef.fieldPath} of env ${quote(e.name)} is not known yet` };
      vars.set(e.name, value);
      continue;
    }
    const ref = from.configMapKeyRef;
    const data = configMaps(ref.name);
    const value = data !== undefined && Object.hasOwn(data, ref.key) ? data[ref.key] : undefined;
    if (value !== undefined) vars.set(e.name, value);
    else if (ref.optional !== true) {
      return { ok: false, message: data === undefined ? `configmap ${quote(ref.name)} not found` : `couldn't find key ${ref.key} in ConfigMap ${pod.namespace}/${ref.name}` };
    }
  }
  return { ok: true, env: [...vars].map(([name, value]) => ({ name, value })) };
}

/** `command` and `args` with `$(VAR)` expanded against the container's environment, as kubelet does. */
export function expandCommand(words: readonly string[], env: readonly { name: string; value: string }[]): string[] {
  const vars = new Map(env.map((e) => [e.name, e.value]));
  return words.map((w) => expand(w, vars));
}

function fieldValue(path: FieldPath, pod: PodFields): string | undefined {
  switch (path) {
    case 'metadata.name':
      return pod.name;
    case 'metadata.namespace':
      return pod.namespace;
    case 'spec.nodeName':
      return pod.nodeName;
    case 'status.podIP':
      return pod.podIP;
  }
}

/**
 * Kubernetes' expansion (third_party/forked/golang/expansion): `$(NAME)` becomes NAME's value when
 * it is defined and stays as written when not; `$$` is a literal `$`; any other `$` is kept.
 */
export function expand(input: string, vars: ReadonlyMap<string, string>): string {
  let out = '';
  let checkpoint = 0;
  for (let i = 0; i < input.length; i++) {
    if (input[i] !== '$' || i + 1 >= input.length) continue;
    out += input.slice(checkpoint, i);
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i += 1;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close === -1) {
        out += '$(';
        i += 1;
      } else {
        const name = input.slice(i + 2, close);
        out += vars.get(name) ?? `$(${name})`;
        i = close;
      }
    } else {
      out += `$${next ?? ''}`;
      i += 1;
    }
    checkpoint = i + 1;
  }
  return out + input.slice(checkpoint);
}

/**
 * What of its ConfigMaps a pod's environment reads, for its hash: each envFrom map whole, each
 * configMapKeyRef's one key (null when absent). Undefined when the environment reads none, so such
 * a template keeps the hash it always had. A change in any of it rolls the pods; a ConfigMap that is
 * only mounted is not here (its files are updated in place).
 */
export function envInputs(containers: readonly EnvSource[], configMaps: ConfigMapLookup): Record<string, unknown> | undefined {
  const inputs: Record<string, unknown> = {};
  for (const c of containers) {
    for (const from of c.envFrom ?? []) inputs[`configMap:${from.configMapRef.name}`] = configMaps(from.configMapRef.name) ?? null;
    for (const e of c.env) {
      if (!('valueFrom' in e) || !('configMapKeyRef' in e.valueFrom)) continue;
      const { name, key } = e.valueFrom.configMapKeyRef;
      const data = configMaps(name);
      inputs[`configMapKey:${name}/${key}`] = data !== undefined && Object.hasOwn(data, key) ? data[key] : null;
    }
  }
  return Object.keys(inputs).length === 0 ? undefined : inputs;
}

/** True when a container of `t` reads the pod's address (`fieldRef: status.podIP`): it waits for its sandbox's address. */
export function readsPodIP(t: { containers: readonly EnvSource[] }): boolean {
  return t.containers.some((c) => c.env.some((e) => 'valueFrom' in e && 'fieldRef' in e.valueFrom && e.valueFrom.fieldRef.fieldPath === 'status.podIP'));
}
