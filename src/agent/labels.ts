// How a berth container is named and labelled on the engine. The labels are the agent's whole
// memory of what it started: a restarted agent finds its containers by them, never by a local file.
import type { BindingRecord } from '../store/records.js';
import type { ContainerSpec } from '../manifest/types.js';
import { expandCommand, resolveEnv, type ConfigMapLookup, type SecretLookup } from '../manifest/env-resolve.js';
import type { Container, RunMount, RunSpec } from './runtime.js';
import { compareText } from './runtime.js';
import { stopLabels } from './stop.js';
import { runSecurityOf } from './security.js';

/** Label keys on every container berth starts. */
export const LABEL = {
  node: 'berth.node',
  namespace: 'berth.namespace',
  pod: 'berth.pod',
  container: 'berth.container',
  hash: 'berth.hash',
  commit: 'berth.commit',
} as const;

/** Identity of one container of one pod: `<namespace>/<pod>/<container>`. */
export function slotKey(namespace: string, pod: string, container: string): string {
  return `${namespace}/${pod}/${container}`;
}

/** `<namespace>/<pod>`, the key pods are grouped by. */
export function podRef(namespace: string, pod: string): string {
  return `${namespace}/${pod}`;
}

/** Docker names allow [a-zA-Z0-9][a-zA-Z0-9_.-]*; everything else becomes '-'. */
function dockerSafe(s: string): string {
  return s.replace(/[^a-zA-Z0-9_.-]/g, '-');
}

/**
 * The deterministic Docker name of a pod's container. It carries the template hash so that a
 * replacement never waits for its predecessor's name: only a shared hostPort orders them.
 */
export function containerName(node: string, namespace: string, pod: string, container: string, templateHash: string): string {
  return ['berth', node, namespace, pod, container, templateHash.slice(0, 12)].map(dockerSafe).join('_');
}

/** The labels a container of `binding` carries on `node`. */
export function containerLabels(binding: BindingRecord, container: string, node: string): Record<string, string> {
  return {
    [LABEL.node]: node,
    [LABEL.namespace]: binding.namespace,
    [LABEL.pod]: binding.pod,
    [LABEL.container]: container,
    [LABEL.hash]: binding.templateHash,
    [LABEL.commit]: binding.commit,
  };
}

/** What a pod's containers are made from besides their spec: its ConfigMaps and Secrets, the mounts of its volumes, its address. */
export interface PodInputs {
  configMaps?: ConfigMapLookup;
  /** The pod's Secrets as this node decrypted them (SecretReader). */
  secrets?: SecretLookup;
  mounts?: RunMount[] | { error: string };
  /** The pod's address (its sandbox's), for `fieldRef: status.podIP`. */
  podIP?: string;
}

/**
 * What the runtime must create for one container of a binding; host ports bind to `hostIp`. The
 * environment is resolved as kubelet does (resolveEnv) from the pod's ConfigMaps and Secrets, and
 * `mounts` are its volumes (PodVolumes); when either cannot be had, `configError` says why and the
 * container is not created.
 */
export function runSpecOf(binding: BindingRecord, spec: ContainerSpec, node: string, hostIp: string, pod: PodInputs = {}): RunSpec {
  const { configMaps = () => undefined, secrets = () => undefined, mounts = [], podIP } = pod;
  const security = runSecurityOf(binding.template, spec);
  const env = resolveEnv(spec, configMaps, { name: binding.pod, namespace: binding.namespace, nodeName: node, ...(podIP === undefined ? {} : { podIP }) }, secrets);
  const vars = env.ok ? env.env : [];
  const configError = !env.ok ? env.message : 'error' in mounts ? mounts.error : undefined;
  return {
    name: containerName(node, binding.namespace, binding.pod, spec.name, binding.templateHash),
    image: spec.image,
    command: expandCommand(spec.command, vars),
    args: expandCommand(spec.args, vars),
    env: vars,
    ...(configError === undefined ? {} : { configError }),
    ...(Array.isArray(mounts) && mounts.length > 0 ? { mounts } : {}),
    labels: { ...containerLabels(binding, spec.name, node), ...stopLabels(binding.template, spec) },
    ports: spec.ports.map((p) => (p.hostPort === undefined ? { containerPort: p.containerPort, protocol: p.protocol } : { containerPort: p.containerPort, protocol: p.protocol, hostPort: p.hostPort, hostIp })),
    limits: { ...spec.resources.limits },
    ...(security === undefined ? {} : { security }),
  };
}

/** The slot key of an observed container, or undefined when its berth labels are incomplete. */
export function slotOf(c: Container): string | undefined {
  const ns = c.labels[LABEL.namespace];
  const pod = c.labels[LABEL.pod];
  const name = c.labels[LABEL.container];
  if (!ns || !pod || !name || !c.labels[LABEL.hash]) return undefined;
  return slotKey(ns, pod, name);
}

/** Order of preference among several containers of one slot: running first, then the expected name, then id. */
export function preferred(a: Container, b: Container, expectedName: string): number {
  const rank = (c: Container): number => (c.state === 'running' ? 0 : 1) * 2 + (c.name === expectedName ? 0 : 1);
  return rank(a) - rank(b) || compareText(a.id, b.id);
}
