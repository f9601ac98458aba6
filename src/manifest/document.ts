import { isMap, isScalar, type Node } from 'yaml';
import { configMapSchema } from './configmap.js';
import { deploymentSchema } from './deployment.js';
import { serviceSchema } from './services.js';
import { serviceAccountSchema } from './serviceaccount.js';
import { readSecret } from './secret.js';
import { hashObject } from './hash.js';
import { describe, isAbsent, type Context } from './schema.js';
import { shown } from './text.js';
import type { DesiredObject } from './types.js';

/** What one YAML document turned out to be; `at` is the offset of its `metadata.name`. */
export type DocumentOutcome =
  | { type: 'object'; object: DesiredObject; at: number; nodePorts?: { port: number; at: number }[] }
  | { type: 'skipped'; kind: string; name?: string }
  | { type: 'invalid' };

const SUPPORTED = ['Deployment', 'ConfigMap', 'Secret', 'Service', 'ServiceAccount'] as const;

/** Reads one non-empty document: dispatches on `kind`, validates, normalizes and hashes. `allowPlainSecrets`: the operator's --allow-plain-secrets. */
export function readDocument(raw: Node, cx: Context, where: { path: string; line: number }, skipKinds: ReadonlySet<string>, allowPlainSecrets = false): DocumentOutcome {
  const root = cx.deref(raw);
  if (!isMap(root)) {
    cx.report(root ?? raw, `a manifest must be a map with apiVersion, kind and metadata, not ${describe(root)}`);
    return { type: 'invalid' };
  }
  const found = cx.find(root, 'kind'); // the map itself when there is no `kind`
  const kindNode = cx.deref(found) ?? found;
  const kind = isScalar(kindNode) ? kindNode.value : undefined;
  if (typeof kind !== 'string') {
    if (kindNode !== root && !isAbsent(kindNode)) cx.reportAt(root, ['kind'], `must be a string, not ${describe(kindNode)}`);
    else cx.report(root, `missing required field \`kind\` (supported: ${SUPPORTED.join(', ')})`);
    return { type: 'invalid' };
  }
  if (skipKinds.has(kind)) {
    const name = cx.find(root, 'metadata', 'name');
    return isScalar(name) && typeof name.value === 'string' ? { type: 'skipped', kind, name: name.value } : { type: 'skipped', kind };
  }

  const at = cx.find(root, 'metadata', 'name').range?.[0] ?? 0;
  const base = { path: where.path, line: where.line };
  if (kind === 'Deployment') {
    const d = deploymentSchema(root, cx);
    if (d === undefined) return { type: 'invalid' };
    const meaning = { kind, namespace: d.metadata.namespace, name: d.metadata.name, labels: d.metadata.labels, spec: d.spec } as const;
    return { type: 'object', object: { ...meaning, ...base, hash: hashObject(meaning) }, at };
  }
  if (kind === 'ConfigMap') {
    const c = configMapSchema(root, cx);
    if (c === undefined) return { type: 'invalid' };
    const meaning = { kind, namespace: c.metadata.namespace, name: c.metadata.name, labels: c.metadata.labels, spec: { data: c.data } } as const;
    return { type: 'object', object: { ...meaning, ...base, hash: hashObject(meaning) }, at };
  }
  if (kind === 'Secret') {
    const c = readSecret(root, cx, { allowPlain: allowPlainSecrets });
    if (c === undefined) return { type: 'invalid' };
    const meaning = { kind, ...c.metadata, spec: c.spec } as const;
    return { type: 'object', object: { ...meaning, ...base, hash: hashObject(meaning) }, at };
  }
  if (kind === 'Service') {
    const v = serviceSchema(root, cx);
    if (v === undefined) return { type: 'invalid' };
    const meaning = { kind, namespace: v.metadata.namespace, name: v.metadata.name, labels: v.metadata.labels, spec: v.spec } as const;
    const nodePorts = v.spec.ports.flatMap((p, i) => (p.nodePort === undefined ? [] : [{ port: p.nodePort, at: cx.find(root, 'spec', 'ports', i, 'nodePort').range?.[0] ?? at }]));
    return { type: 'object', object: { ...meaning, ...base, hash: hashObject(meaning) }, at, nodePorts };
  }
  if (kind === 'ServiceAccount') {
    const a = serviceAccountSchema(root, cx);
    if (a === undefined) return { type: 'invalid' };
    const spec = a.automountServiceAccountToken === undefined ? {} : { automountServiceAccountToken: a.automountServiceAccountToken };
    const meaning = { kind, namespace: a.metadata.namespace, name: a.metadata.name, labels: a.metadata.labels, spec } as const;
    return { type: 'object', object: { ...meaning, ...base, hash: hashObject(meaning) }, at };
  }
  cx.report(
    kindNode,
    `kind ${shown(kind, 100)} is not supported by berth (supported: ${SUPPORTED.join(', ')}); remove it, or skip the kind on purpose with --skip-kind ${shown(kind, 100)}`,
  );
  return { type: 'invalid' };
}
