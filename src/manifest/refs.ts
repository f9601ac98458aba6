// References from a Deployment to ConfigMaps and Secrets of the same commit. The repository is the
// whole truth: a ConfigMap, Secret or key a pod needs (not `optional`) must be in the commit that asks
// for it, or the commit is refused at the line of the reference, not met later as a pod that cannot
// start. A Secret's keys are in the clear in a sops file (only values are encrypted), so they are
// checked here too.
import { quote } from './text.js';
import type { Segment } from './schema.js';
import { envInputs } from './env-resolve.js';
import type { SecretSpec } from './secret.js';
import { objectKey, type DeploymentObject, type DesiredObject, type PodTemplate } from './types.js';

/** One reference to a ConfigMap or Secret: where it is written (from the Deployment's root) and what it needs. */
export interface ConfigMapRef {
  kind: 'ConfigMap' | 'Secret';
  /** Path of the reference's map (configMapKeyRef, secretRef, a volume's configMap or one of its items…). */
  path: Segment[];
  /** The field under `path` that names the object (`secretName` in a Secret volume). */
  nameField: 'name' | 'secretName';
  name: string;
  /** The key it needs, when it needs one. */
  key?: string;
  optional: boolean;
  /** An item of a volume: its ConfigMap's absence is reported once, at the volume, not at each item. */
  item?: true;
}

const TEMPLATE: Segment[] = ['spec', 'template', 'spec'];

/** Every ConfigMap and Secret reference of a pod template, in the order written. */
export function configMapRefs(t: PodTemplate): ConfigMapRef[] {
  const refs: ConfigMapRef[] = [];
  const ref = (kind: ConfigMapRef['kind'], path: Segment[], r: { name: string; key?: string; optional?: boolean }): ConfigMapRef => ({
    kind,
    path,
    nameField: 'name',
    name: r.name,
    ...(r.key === undefined ? {} : { key: r.key }),
    optional: r.optional === true,
  });
  // Init containers read ConfigMaps and Secrets as the pod's containers do.
  const lists = [['initContainers', t.initContainers ?? []], ['containers', t.containers]] as const;
  for (const [list, containers] of lists) containers.forEach((c, i) => {
    const at = [...TEMPLATE, list, i];
    c.envFrom?.forEach((f, j) => {
      if ('configMapRef' in f) refs.push(ref('ConfigMap', [...at, 'envFrom', j, 'configMapRef'], f.configMapRef));
      else refs.push(ref('Secret', [...at, 'envFrom', j, 'secretRef'], f.secretRef));
    });
    c.env.forEach((e, j) => {
      if (!('valueFrom' in e) || 'fieldRef' in e.valueFrom) return;
      if ('configMapKeyRef' in e.valueFrom) refs.push(ref('ConfigMap', [...at, 'env', j, 'valueFrom', 'configMapKeyRef'], e.valueFrom.configMapKeyRef));
      else refs.push(ref('Secret', [...at, 'env', j, 'valueFrom', 'secretKeyRef'], e.valueFrom.secretKeyRef));
    });
  });
  t.volumes?.forEach((v, i) => {
    if (!('configMap' in v) && !('secret' in v)) return;
    const [kind, field, name, c] = 'configMap' in v ? (['ConfigMap', 'configMap', v.configMap.name, v.configMap] as const) : (['Secret', 'secret', v.secret.secretName, v.secret] as const);
    const at = [...TEMPLATE, 'volumes', i, field];
    refs.push({ ...ref(kind, at, { name, ...(c.optional === undefined ? {} : { optional: c.optional }) }), nameField: kind === 'Secret' ? 'secretName' : 'name' });
    c.items?.forEach((item, j) => refs.push({ ...ref(kind, [...at, 'items', j], { name, key: item.key, ...(c.optional === undefined ? {} : { optional: c.optional }) }), item: true }));
  });
  return refs;
}

/** What is wrong with `ref` in `namespace` (the field under the reference's map it is about, and why), or undefined. */
export function checkRef(ref: ConfigMapRef, namespace: string, objects: ObjectLookup): { field: 'name' | 'secretName' | 'key'; message: string } | undefined {
  if (ref.optional) return undefined;
  const data = objects(ref.kind, ref.name);
  if (data === undefined) {
    if (ref.item === true) return undefined;
    return { field: ref.nameField, message: `no ${ref.kind} ${quote(ref.name)} in namespace ${quote(namespace)} in this commit; add it, or set \`optional: true\`` };
  }
  if (ref.key === undefined || Object.hasOwn(data, ref.key)) return undefined;
  const keys = Object.keys(data);
  const known = keys.length === 0 ? 'it has no keys' : `its keys: ${keys.slice(0, 10).map((k) => quote(k, 60)).join(', ')}${keys.length > 10 ? ', …' : ''}`;
  return { field: 'key', message: `${ref.kind} ${quote(ref.name)} has no key ${quote(ref.key)} (${known}); add it, or set \`optional: true\`` };
}

/** A namespace's ConfigMaps and Secrets by kind and name: a ConfigMap's data, a Secret's keys with each value's ciphertext. */
export type ObjectLookup = (kind: ConfigMapRef['kind'], name: string) => Readonly<Record<string, string>> | undefined;

/** What a reference can read of `o`: a ConfigMap's data, a Secret's keys; undefined for the other kinds. */
export function referableData(o: DesiredObject): Readonly<Record<string, string>> | undefined {
  if (o.kind === 'ConfigMap') return o.spec.data;
  if (o.kind === 'Secret') return secretKeys(o.spec);
  return undefined;
}

/** The ConfigMaps and Secrets among `objects`, as a lookup per namespace. */
export function configMapsOf(objects: Iterable<DesiredObject>): (namespace: string) => ObjectLookup {
  const byKey = new Map<string, Readonly<Record<string, string>>>();
  for (const o of objects) {
    const data = referableData(o);
    if (data !== undefined) byKey.set(objectKey(o), data);
  }
  return (namespace) => (kind, name) => byKey.get(objectKey({ kind, namespace, name }));
}

/** True when every reference of Deployment `o` finds what it needs through `lookup` (its namespace's objects). */
export function deploymentRefsMet(o: DeploymentObject, lookup: ObjectLookup): boolean {
  return configMapRefs(o.spec.template).every((r) => checkRef(r, o.namespace, lookup) === undefined);
}

/** True when every reference of every Deployment among `objects` is met (what the incremental check asks before trusting its merge). */
export function referencesMet(objects: readonly DesiredObject[]): boolean {
  const lookup = configMapsOf(objects);
  return objects.every((o) => o.kind !== 'Deployment' || deploymentRefsMet(o, lookup(o.namespace)));
}

/**
 * What each Deployment among `objects` reads from the ConfigMaps and Secrets beside it through its environment
 * (envInputs), for its template hash; Deployments that read none are not in the map.
 */
export function deploymentInputs(objects: readonly DesiredObject[]): Map<DeploymentObject, Record<string, unknown>> {
  const lookup = configMapsOf(objects);
  const out = new Map<DeploymentObject, Record<string, unknown>>();
  for (const o of objects) {
    if (o.kind !== 'Deployment') continue;
    const objects = lookup(o.namespace);
    const inputs = envInputs(o.spec.template.containers, (name) => objects('ConfigMap', name), (name) => objects('Secret', name));
    if (inputs !== undefined) out.set(o, inputs);
  }
  return out;
}

/** Every key of a Secret (data and stringData), for references checked against the commit (here, not in secret.ts: the agent reads references and loads no schema or yaml). */
export function secretKeys(spec: SecretSpec): Record<string, string> {
  return { ...spec.data, ...spec.stringData };
}
