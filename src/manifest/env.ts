// A container's environment as Kubernetes defines it: `env` (a value, a ConfigMap or Secret key, or a
// field of the pod) and `envFrom` (a whole ConfigMap or Secret), read by the schemas here and
// resolved by resolveEnv, pure, with kubelet's precedence and `$(VAR)` expansion.
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

/** A ConfigMap or Secret an envFrom (or a volume) reads whole. */
export interface ObjectRef {
  name: string;
  optional?: boolean;
}

/** A normalized `envFrom[]` entry. */
export type EnvFrom = ({ configMapRef: ObjectRef } | { secretRef: ObjectRef }) & { prefix?: string };

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

/** A Secret's values by name on the node that decrypted them, or why it could not (never a value); undefined when there is none. */
export type SecretLookup = (name: string) => { values: ReadonlyMap<string, Uint8Array> } | { error: string } | undefined;

const utf8 = new TextDecoder();

type Found = { data: Readonly<Record<string, string>> } | { error: string } | undefined;

/** A Secret's values as text, the way kubelet puts them into an environment; or why not. */
function secretText(secrets: SecretLookup, name: string): Found {
  const read = secrets(name);
  if (read === undefined || 'error' in read) return read;
  return { data: Object.fromEntries([...read.values].map(([k, v]) => [k, utf8.decode(v)])) };
}

function configMapText(configMaps: ConfigMapLookup, name: string): Found {
  const data = configMaps(name);
  return data === undefined ? undefined : { data };
}

/** A container's resolved environment, or why it cannot be made (Kubernetes' CreateContainerConfigError). */
export type ResolvedEnv = { ok: true; env: { name: string; value: string }[] } | { ok: false; message: string };

/**
 * The environment kubelet gives a container: every `envFrom` ConfigMap or Secret in order (a later
 * one wins a name; keys that are no valid variable name are left out, as kubelet does), then `env`
 * in order (over envFrom; a later entry wins), a `value` expanded with `$(VAR)` against what is
 * defined before it. A missing ConfigMap, Secret or key that is not `optional`, or a Secret this
 * node cannot decrypt, fails the container.
 */
export function resolveEnv(c: EnvSource, configMaps: ConfigMapLookup, pod: PodFields, secrets: SecretLookup = () => undefined): ResolvedEnv {
  const vars = new Map<string, string>();
  const source = (from: { configMapRef: ObjectRef } | { secretRef: ObjectRef }): { ref: ObjectRef; found: Found; noun: string } =>
    'configMapRef' in from
      ? { ref: from.configMapRef, found: configMapText(configMaps, from.configMapRef.name), noun: 'configmap' }
      : { ref: from.secretRef, found: secretText(secrets, from.secretRef.name), noun: 'secret' };
  for (const from of c.envFrom ?? []) {
    const { ref, found, noun } = source(from);
    if (found === undefined) {
      if (ref.optional === true) continue;
      return { ok: false, message: `${noun} ${quote(ref.name)} not found` };
    }
    if ('error' in found) return { ok: false, message: `cannot decrypt secret ${quote(ref.name)}: ${found.error}` };
    for (const [key, value] of Object.entries(found.data)) {
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
    const isConfigMap = 'configMapKeyRef' in from;
    const ref = isConfigMap ? from.configMapKeyRef : from.secretKeyRef;
    const found = isConfigMap ? configMapText(configMaps, ref.name) : secretText(secrets, ref.name);
    if (found !== undefined && 'error' in found) return { ok: false, message: `cannot decrypt secret ${quote(ref.name)}: ${found.error}` };
    const data = found?.data;
    const value = data !== undefined && Object.hasOwn(data, ref.key) ? data[ref.key] : undefined;
    if (value !== undefined) vars.set(e.name, value);
    else if (ref.optional !== true) {
      const [noun, kind] = isConfigMap ? ['configmap', 'ConfigMap'] : ['secret', 'Secret'];
      return { ok: false, message: data === undefined ? `${noun} ${quote(ref.name)} not found` : `couldn't find key ${ref.key} in ${kind} ${pod.namespace}/${ref.name}` };
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
 * What of its ConfigMaps and Secrets a pod's environment reads, for its hash: each envFrom map
 * whole, each key ref's one key (null when absent). For a Secret that is its ciphertext (sops keeps a
 * value's ciphertext while the value is unchanged), never its value. Undefined when the environment
 * reads none, so such a template keeps the hash it always had. A change in any of it rolls the pods;
 * a ConfigMap or Secret that is only mounted is not here (its files are updated in place).
 */
export function envInputs(containers: readonly EnvSource[], configMaps: ConfigMapLookup, secrets: ConfigMapLookup = () => undefined): Record<string, unknown> | undefined {
  const inputs: Record<string, unknown> = {};
  for (const c of containers) {
    for (const from of c.envFrom ?? []) {
      if ('configMapRef' in from) inputs[`configMap:${from.configMapRef.name}`] = configMaps(from.configMapRef.name) ?? null;
      else inputs[`secret:${from.secretRef.name}`] = secrets(from.secretRef.name) ?? null;
    }
    for (const e of c.env) {
      if (!('valueFrom' in e) || 'fieldRef' in e.valueFrom) continue;
      const [prefix, ref, lookup] = 'configMapKeyRef' in e.valueFrom ? ['configMapKey', e.valueFrom.configMapKeyRef, configMaps] as const : ['secretKey', e.valueFrom.secretKeyRef, secrets] as const;
      const data = lookup(ref.name);
      inputs[`${prefix}:${ref.name}/${ref.key}`] = data !== undefined && Object.hasOwn(data, ref.key) ? data[ref.key] : null;
    }
  }
  return Object.keys(inputs).length === 0 ? undefined : inputs;
}

/** True when a container of `t` reads the pod's address (`fieldRef: status.podIP`): it waits for its sandbox's address. */
export function readsPodIP(t: { containers: readonly EnvSource[] }): boolean {
  return t.containers.some((c) => c.env.some((e) => 'valueFrom' in e && 'fieldRef' in e.valueFrom && e.valueFrom.fieldRef.fieldPath === 'status.podIP'));
}
