// Builders for the agent's unit tests: a binding, and the container the plan would make for it.
import type { BindingRecord } from '../../../src/store/records.js';
import type { ContainerSpec, PodTemplate } from '../../../src/manifest/types.js';
import type { Container, ContainerState } from '../../../src/agent/runtime.js';
import { containerLabels, containerName } from '../../../src/agent/labels.js';

export const NODE = 'n1';
export const IMAGE = 'berth-test/busybox:1';

/** A normalized container spec: sleep forever unless told otherwise. */
export function spec(name: string, over: Partial<ContainerSpec> = {}): ContainerSpec {
  return { name, image: IMAGE, command: [], args: ['sleep', '3600'], env: [], ports: [], resources: { requests: {}, limits: {} }, ...over };
}

/** A binding of pod `pod` (namespace default) to NODE. */
export function binding(pod: string, opts: { hash?: string; containers?: ContainerSpec[]; restartPolicy?: PodTemplate['restartPolicy']; namespace?: string; commit?: string } = {}): BindingRecord {
  return {
    type: 'binding',
    node: NODE,
    namespace: opts.namespace ?? 'default',
    pod,
    templateHash: opts.hash ?? 'h1',
    template: { labels: {}, containers: opts.containers ?? [spec('app')], nodeSelector: {}, restartPolicy: opts.restartPolicy ?? 'Always' },
    commit: opts.commit ?? 'c0ffee',
  };
}

/** The container the agent would have made for `b`'s container `name`, in `state`. */
export function observed(b: BindingRecord, name = 'app', over: Partial<Container> & { state?: ContainerState } = {}): Container {
  return {
    id: over.id ?? `id-${b.pod}-${name}-${b.templateHash}`,
    name: containerName(NODE, b.namespace, b.pod, name, b.templateHash),
    labels: containerLabels(b, name, NODE),
    image: IMAGE,
    state: 'running',
    exitCode: 0,
    startedAt: '2026-01-01T00:00:00.000Z',
    ports: [],
    ...over,
  };
}
