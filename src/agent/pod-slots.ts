// Pure: a pod's part of the agent's per-container results (keyed by slot: namespace, pod, container
// name), turned into what its status records by container name.
import type { ContainerSpec } from '../manifest/types.js';
import type { BindingRecord, PodStatusRecord } from '../store/records.js';
import { slotKey } from './labels.js';

/**
 * Containers of `b` stranded in a dead or replaced sandbox that the last status saw (same template):
 * they are recreated in the new sandbox, which counts as a restart, as kubelet counts it.
 */
export function strandedNow(b: BindingRecord, prev: PodStatusRecord | undefined, stranded: ReadonlySet<string>): string[] {
  if (prev?.templateHash !== b.templateHash) return [];
  return prev.containers.filter((c) => c.id !== undefined && stranded.has(c.id)).map((c) => c.name);
}

/** The init containers of `b`, then its containers. */
function allContainers(b: BindingRecord): readonly ContainerSpec[] {
  return [...(b.template.initContainers ?? []), ...b.template.containers];
}

/** Container names of `b` among slot keys, plus `extra`. */
export function namesIn(b: BindingRecord, slots: ReadonlySet<string>, extra: string[]): Set<string> {
  const out = new Set(extra);
  for (const c of allContainers(b)) if (slots.has(slotKey(b.namespace, b.pod, c.name))) out.add(c.name);
  return out;
}

/**
 * Containers created again in place of one the last status saw (same template): a restart. Decided
 * from the status rather than from drift detection, because a `docker rm -f` may be observed half
 * done (exited, then gone) across two rounds.
 */
export function recreated(b: BindingRecord, prev: PodStatusRecord | undefined, created: ReadonlySet<string>): string[] {
  if (prev?.templateHash !== b.templateHash) return [];
  return prev.containers.filter((c) => c.id !== undefined && created.has(slotKey(b.namespace, b.pod, c.name))).map((c) => c.name);
}

/** The entries of a per-slot map that belong to `b`, by container name. */
export function byName<T>(b: BindingRecord, bySlot: ReadonlyMap<string, T>): Map<string, T> {
  const out = new Map<string, T>();
  for (const c of allContainers(b)) {
    const v = bySlot.get(slotKey(b.namespace, b.pod, c.name));
    if (v !== undefined) out.set(c.name, v);
  }
  return out;
}
