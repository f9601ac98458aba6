import { createHash } from 'node:crypto';
import type { DesiredObject, PodTemplate } from './types.js';
import { compareText } from '../text.js';

/** JSON with object keys sorted at every level, so equal values always give the same text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    // Keys sorted alone, then read: no pair arrays (a ConfigMap can have 30,000 keys).
    const parts: string[] = [];
    for (const k of Object.keys(value).sort(compareText)) {
      const v: unknown = (value as Record<string, unknown>)[k];
      if (v !== undefined) parts.push(`${JSON.stringify(k)}:${canonicalJson(v)}`);
    }
    return `{${parts.join(',')}}`;
  }
  return JSON.stringify(value);
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The `hash` of an object: sha256 hex of what it means (kind, namespace, name, labels, spec), not where it is written. */
export function hashObject(o: Pick<DesiredObject, 'kind' | 'namespace' | 'name' | 'labels' | 'spec'>): string {
  return sha256(canonicalJson({ kind: o.kind, namespace: o.namespace, name: o.name, labels: o.labels, spec: o.spec }));
}

/**
 * First 10 hex characters of the sha256 of a pod template and what its environment reads from
 * ConfigMaps (`inputs`, see envInputs): names pods and labels their containers (`berth.hash`). A
 * template that reads no ConfigMap hashes as it always did.
 */
export function templateHash(t: PodTemplate, inputs?: Readonly<Record<string, unknown>>): string {
  return sha256(canonicalJson(inputs === undefined ? t : { template: t, inputs })).slice(0, 10);
}
