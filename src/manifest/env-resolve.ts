// A container's environment resolved as kubelet resolves it, pure: apart from env.ts's schemas, so
// that the agent, which runs it on every node, loads neither the schemas nor yaml.
import { quote } from './text.js';
import { checkEnvName } from './names.js';
import type { EnvVar, FieldPath } from './env.js';

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
