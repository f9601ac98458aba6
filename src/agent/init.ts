// Init containers, pure: a pod's initContainers run one at a time, in order, each to a clean exit,
// before any of its containers is created (kubelet's computeInitContainerActions). A failed one is
// restarted with the pod's back-off by plan.ts, like any container.
import type { BindingRecord } from '../store/records.js';
import type { ContainerSpec } from '../manifest/types.js';
import type { Container } from './runtime.js';
import { slotKey } from './labels.js';

/** Where a pod's initialization stands. */
export type InitProgress =
  /** Every init container exited 0 (or the pod's containers already exist): the containers may run. */
  | { done: true }
  /** This init container (its slot) is the one to create, start, restart or wait for now. */
  | { done: false; next: string; spec: ContainerSpec };

/**
 * How far `b`'s initialization has come, given its containers per slot (`current`, the kept one
 * first). Once any of the pod's own containers exists the pod counts as initialized, as kubelet
 * counts it, so an init container removed afterwards is not run again.
 */
export function initProgress(b: BindingRecord, current: ReadonlyMap<string, readonly Container[]>): InitProgress {
  const slot = (name: string): string => slotKey(b.namespace, b.pod, name);
  if (b.template.containers.some((c) => (current.get(slot(c.name)) ?? []).length > 0)) return { done: true };
  for (const spec of b.template.initContainers ?? []) {
    const ran = current.get(slot(spec.name)) ?? [];
    if (!ran.some((c) => c.state === 'exited' && c.exitCode === 0)) return { done: false, next: slot(spec.name), spec };
  }
  return { done: true };
}

/** The names of `b`'s init containers. */
export function initNames(b: BindingRecord): Set<string> {
  return new Set((b.template.initContainers ?? []).map((c) => c.name));
}
