// References from a Deployment to ConfigMaps of the same commit. The repository is the whole
// truth: a ConfigMap or key a pod needs (not `optional`) must be in the commit that asks for it,
// or the commit is refused at the line of the reference, not met later as a pod that cannot start.
import { quote } from './text.js';
import type { Segment } from './schema.js';
import { envInputs, type ConfigMapLookup } from './env.js';
import { objectKey, type DeploymentObject, type DesiredObject, type PodTemplate } from './types.js';

/** One reference to a ConfigMap: where it is written (from the Deployment's root) and what it needs. */
export interface ConfigMapRef {
  /** Path of the reference's map (configMapKeyRef, configMapRef, a volume's configMap or one of its items). */
  path: Segment[];
  name: string;
  /** The key it needs, when it needs one. */
  key?: string;
  optional: boolean;
  /** An item of a volume: its ConfigMap's absence is reported once, at the volume, not at each item. */
  item?: true;
}

const TEMPLATE: Segment[] = ['spec', 'template', 'spec'];

/** Every ConfigMap reference of a pod template, in the order written. */
export function configMapRefs(t: PodTemplate): ConfigMapRef[] {
  const refs: ConfigMapRef[] = [];
  t.containers.forEach((c, i) => {
    const at = [...TEMPLATE, 'containers', i];
    c.envFrom?.forEach((f, j) => refs.push({ path: [...at, 'envFrom', j, 'configMapRef'], name: f.configMapRef.name, optional: f.configMapRef.optional === true }));
    c.env.forEach((e, j) => {
      if (!('valueFrom' in e) || !('configMapKeyRef' in e.valueFrom)) return;
      const r = e.valueFrom.configMapKeyRef;
      refs.push({ path: [...at, 'env', j, 'valueFrom', 'configMapKeyRef'], name: r.name, key: r.key, optional: r.optional === true });
    });
  });
  t.volumes?.forEach((v, i) => {
    if (!('configMap' in v)) return;
    const c = v.configMap;
    const at = [...TEMPLATE, 'volumes', i, 'configMap'];
    refs.push({ path: at, name: c.name, optional: c.optional === true });
    c.items?.forEach((item, j) => refs.push({ path: [...at, 'items', j], name: c.name, key: item.key, optional: c.optional === true, item: true }));
  });
  return refs;
}

/** What is wrong with `ref` in `namespace` (the field under the reference's map it is about, and why), or undefined. */
export function checkRef(ref: ConfigMapRef, namespace: string, configMaps: ConfigMapLookup): { field: 'name' | 'key'; message: string } | undefined {
  if (ref.optional) return undefined;
  const data = configMaps(ref.name);
  if (data === undefined) {
    if (ref.item === true) return undefined;
    return { field: 'name', message: `no ConfigMap ${quote(ref.name)} in namespace ${quote(namespace)} in this commit; add it, or set \`optional: true\`` };
  }
  if (ref.key === undefined || Object.hasOwn(data, ref.key)) return undefined;
  const keys = Object.keys(data);
  const known = keys.length === 0 ? 'it has no keys' : `its keys: ${keys.slice(0, 10).map((k) => quote(k, 60)).join(', ')}${keys.length > 10 ? ', …' : ''}`;
  return { field: 'key', message: `ConfigMap ${quote(ref.name)} has no key ${quote(ref.key)} (${known}); add it, or set \`optional: true\`` };
}

/** The ConfigMaps among `objects`, as a lookup per namespace. */
export function configMapsOf(objects: Iterable<DesiredObject>): (namespace: string) => ConfigMapLookup {
  const byKey = new Map<string, Readonly<Record<string, string>>>();
  for (const o of objects) if (o.kind === 'ConfigMap') byKey.set(objectKey(o), o.spec.data);
  return (namespace) => (name) => byKey.get(objectKey({ kind: 'ConfigMap', namespace, name }));
}

/** True when every reference of every Deployment among `objects` is met (what the incremental check asks before trusting its merge). */
export function referencesMet(objects: readonly DesiredObject[]): boolean {
  const lookup = configMapsOf(objects);
  return objects.every((o) => o.kind !== 'Deployment' || configMapRefs(o.spec.template).every((r) => checkRef(r, o.namespace, lookup(o.namespace)) === undefined));
}

/**
 * What each Deployment among `objects` reads from the ConfigMaps beside it through its environment
 * (envInputs), for its template hash; Deployments that read none are not in the map.
 */
export function deploymentInputs(objects: readonly DesiredObject[]): Map<DeploymentObject, Record<string, unknown>> {
  const lookup = configMapsOf(objects);
  const out = new Map<DeploymentObject, Record<string, unknown>>();
  for (const o of objects) {
    if (o.kind !== 'Deployment') continue;
    const inputs = envInputs(o.spec.template.containers, lookup(o.namespace));
    if (inputs !== undefined) out.set(o, inputs);
  }
  return out;
}
