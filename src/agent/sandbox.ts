// Pod sandboxes, pure: each pod's network namespace is held by a small container of its own (as
// dockershim's pause container). It carries the pod's hostname and publishes every port of the pod;
// the pod's containers join it (`container:<sandbox>`) and share its localhost. What to do about
// sandboxes is planned here; plan.ts plans the pod's containers inside them.
import { createHash } from 'node:crypto';
import type { BindingRecord } from '../store/records.js';
import type { Container, RunPort, RunSpec } from './runtime.js';
import { compareText } from './runtime.js';
import { LABEL, podRef } from './labels.js';
import { portsClash, removeStopOf, type AloneNetwork, type ContainerAction } from './plan.js';
import { POD_IP_LABEL, planAddresses, type AddressPool } from './pod-address.js';
import { hasStopLabels } from './stop.js';

/** Labels only a sandbox carries (besides node, namespace, pod, hash and commit). */
export const SANDBOX_LABEL = 'berth.sandbox';

/** The image `--sandbox-image` defaults to: the busybox image built locally (scripts/build-image.sh --sandbox). */
export const DEFAULT_SANDBOX_IMAGE = 'berth/sandbox:1';

/** The Docker network pods join unless `--pod-network` says otherwise. */
export const DEFAULT_POD_NETWORK = 'berth';

/** Label on the networks berth makes, naming who made them (tests remove them by it). */
export const NETWORK_LABEL = 'berth.pod-network';

/** How sandboxes are made on this node. */
export interface SandboxOptions {
  node: string;
  /** Address the pod's ports are published on. */
  hostIp: string;
  image: string;
  /** The Docker network a sandbox is attached to. */
  network: string;
}

/** True when `c` is a pod sandbox. */
export function isSandbox(c: Pick<Container, 'labels'>): boolean {
  return c.labels[SANDBOX_LABEL] === 'true';
}

/** Docker names allow [a-zA-Z0-9][a-zA-Z0-9_.-]*; everything else becomes '-'. */
function dockerSafe(s: string): string {
  return s.replace(/[^a-zA-Z0-9_.-]/g, '-');
}

/**
 * The sandbox `b` needs: its name carries a hash of what it is made of (image, network, hostname,
 * ports), so a template change that keeps them keeps the sandbox, as kubelet keeps a pod's. `POD`
 * in the name cannot be a container's name (those are lower case).
 */
export function sandboxSpec(b: BindingRecord, opts: SandboxOptions): RunSpec {
  // hostNetwork (run only where the operator allowed it, see policy.ts): the sandbox holds the node's own
  // network namespace, where the containers' ports are the node's ports and nothing is published.
  const host = b.template.hostNetwork === true;
  const seen = new Set<string>();
  const ports: RunPort[] = [];
  for (const c of host ? [] : b.template.containers) {
    for (const p of c.ports) {
      const key = `${p.containerPort}/${p.protocol}`;
      if (seen.has(key)) continue;
      seen.add(key);
      ports.push({ containerPort: p.containerPort, protocol: p.protocol, hostIp: opts.hostIp, ...(p.hostPort === undefined ? {} : { hostPort: p.hostPort }) });
    }
  }
  ports.sort((x, y) => x.containerPort - y.containerPort || compareText(x.protocol, y.protocol));
  const hostname = host ? undefined : podHostname(b.pod);
  const network = host ? 'host' : opts.network;
  const hash = createHash('sha256').update(JSON.stringify({ image: opts.image, network, hostname, ports })).digest('hex').slice(0, 12);
  return {
    name: ['berth', opts.node, b.namespace, b.pod, 'POD', hash].map(dockerSafe).join('_'),
    image: opts.image,
    command: [],
    args: [],
    env: [],
    labels: { [LABEL.node]: opts.node, [LABEL.namespace]: b.namespace, [LABEL.pod]: b.pod, [LABEL.hash]: hash, [LABEL.commit]: b.commit, [SANDBOX_LABEL]: 'true' },
    ports,
    limits: {},
    network,
    ...(hostname === undefined ? {} : { hostname }),
    publishAll: !host,
  };
}

/** A pod's hostname: one DNS label, at most 63 characters, as kubelet truncates it. */
export function podHostname(pod: string): string {
  return pod.slice(0, 63).replace(/[-.]+$/, '');
}

/**
 * True when `b` may run as its one container, without a sandbox, as docker-compose runs a service:
 * exactly one container, no init containers (they would need a namespace that outlives them) and not
 * on the node's network. It then holds the pod's address, hostname and ports itself.
 */
export function mayRunAlone(b: BindingRecord): boolean {
  return b.template.containers.length === 1 && (b.template.initContainers ?? []).length === 0 && b.template.hostNetwork !== true;
}

/**
 * The pods of `bindings` that run as their one container (mayRunAlone) on a network with static
 * addresses. A pod that has a running sandbox, or a container in a sandbox's namespace (made by an
 * older berth, or before the network allowed it), keeps its sandbox until that sandbox is gone.
 */
export function alonePods(bindings: readonly BindingRecord[], observed: readonly Container[], node: string): Set<string> {
  const sandboxed = new Set<string>();
  for (const c of observed) if (c.labels[LABEL.node] === node && ((isSandbox(c) && c.state === 'running') || c.joined !== undefined)) sandboxed.add(refOf(c));
  return new Set(bindings.filter(mayRunAlone).map((b) => podRef(b.namespace, b.pod)).filter((ref) => !sandboxed.has(ref)));
}

/**
 * The pods of `bindings` that run alone (alonePods) and how they are reached: the network `statics`
 * describes (undefined: it has no static addresses, every pod runs in a sandbox) and each one's
 * static address (planAddresses; a pod the pool has no address left for runs in a sandbox).
 */
export function planAlone(bindings: readonly BindingRecord[], observed: readonly Container[], node: string, statics: { id: string; pool: AddressPool } | undefined, refused?: ReadonlySet<string>): Map<string, AloneNetwork> {
  const out = new Map<string, AloneNetwork>();
  if (statics === undefined) return out;
  const hashes = new Map(bindings.map((b) => [podRef(b.namespace, b.pod), b.templateHash]));
  // A container of the pod's template in force keeps its address; one being replaced holds it until it goes.
  const current = (c: Container): boolean => c.labels[LABEL.hash] === hashes.get(refOf(c));
  const ips = planAddresses([...alonePods(bindings, observed, node)], observed.filter((c) => c.labels[LABEL.node] === node), statics.pool, refused, current);
  for (const b of bindings) {
    const ip = ips.get(podRef(b.namespace, b.pod));
    if (ip !== undefined) out.set(podRef(b.namespace, b.pod), { network: statics.id, ip, hostname: podHostname(b.pod) });
  }
  return out;
}

/** The pods of this node whose container runs alone now (it carries a static address: pod-address.ts). */
export function runningAlone(observed: readonly Container[], node: string): Set<string> {
  return new Set(observed.filter((c) => c.labels[LABEL.node] === node && c.labels[POD_IP_LABEL] !== undefined).map(refOf));
}

/** The running sandbox of `b` among `observed` (the one its containers join), if any. */
export function runningSandbox(b: BindingRecord, observed: Container[], opts: SandboxOptions): Container | undefined {
  const name = sandboxSpec(b, opts).name;
  return observed.find((c) => isSandbox(c) && c.name === name && c.state === 'running' && c.labels[LABEL.node] === opts.node);
}

/** What to do about sandboxes, and what that leaves for plan.ts. */
export interface SandboxPlan {
  /** Sandboxes to create or remove, and members to remove because their sandbox is gone or changed. */
  actions: ContainerAction[];
  /** Per pod ready for its containers: the sandbox they join (running, or created in this round). */
  netns: Map<string, string>;
  /** Pods whose containers wait for the sandbox (their old ones are still being removed). */
  waiting: Set<string>;
  /** Per pod: the running sandbox, for its address and ports. */
  running: Map<string, Container>;
  /** Per pod: its sandbox ended or vanished under running containers: what happened (drift, as kubelet's SandboxChanged). */
  changed: Map<string, string>;
  /** Ids of containers that sit in a sandbox's namespace that is gone or no longer the pod's (being removed). */
  stranded: Set<string>;
}

/**
 * Plan the sandboxes of this node's pods (`observed` is this node's containers). A pod's containers
 * run in its one running sandbox of the wanted name; a container in any other namespace (its
 * sandbox died, was removed, or changed) is stranded and removed, and once none is left the old
 * sandbox goes and a new one is made, then the containers again, as kubelet does. A sandbox is never
 * removed while a container still sits in its namespace. Pods in `hold` are left as they are, and
 * pods in `alone` have none (a sandbox of theirs left over is removed).
 */
export function planSandboxes(bindings: BindingRecord[], observed: Container[], opts: SandboxOptions & { hold?: ReadonlySet<string>; alone?: ReadonlySet<string> }): SandboxPlan {
  const plan: SandboxPlan = { actions: [], netns: new Map(), waiting: new Set(), running: new Map(), changed: new Map(), stranded: new Set() };
  const mine = observed.filter((c) => c.labels[LABEL.node] === opts.node && !opts.hold?.has(refOf(c)));
  const sandboxes = mine.filter(isSandbox);
  const members = mine.filter((c) => !isSandbox(c));
  const byId = new Map(observed.map((c) => [c.id, c]));
  const bound = new Map(bindings.map((b) => [podRef(b.namespace, b.pod), b]));
  const creates: RunSpec[] = [];

  for (const [ref, b] of bound) {
    // A pod that runs alone (alonePods) has no sandbox: plan.ts gives its container the network.
    if (opts.hold?.has(ref) || opts.alone?.has(ref)) continue;
    const want = sandboxSpec(b, opts);
    const keep = sandboxes.find((s) => refOf(s) === ref && s.name === want.name && s.state === 'running');
    const podMembers = members.filter((c) => refOf(c) === ref);
    const stranded = podMembers.filter((c) => keep === undefined || c.joined !== keep.id);
    for (const c of stranded) {
      plan.stranded.add(c.id);
      const what = sandboxGone(c, byId);
      // A running container in a dead namespace is drift; one in a replaced sandbox is a template change.
      if (what !== undefined && c.state === 'running') plan.changed.set(ref, what);
      const stop = hasStopLabels(c) ? removeStopOf(c) : undefined;
      plan.actions.push({ kind: 'remove', phase: 2, id: c.id, name: c.name, pod: ref, reason: what === undefined ? 'pod sandbox changed' : `${what}; the pod is created again`, ...(stop ? { stop } : {}) });
    }
    if (keep !== undefined) {
      plan.running.set(ref, keep);
      plan.netns.set(ref, keep.name);
      continue;
    }
    if (stranded.length > 0) {
      plan.waiting.add(ref);
      continue;
    }
    plan.netns.set(ref, want.name);
    creates.push(want);
    plan.actions.push({ kind: 'create', phase: 2, slot: `${ref}/POD`, pod: ref, spec: want, pullPolicy: 'IfNotPresent', reason: `no running sandbox for pod ${ref}`, sandbox: true });
  }

  // Sandboxes no pod runs in: removed once nothing sits in their namespace; first when a new one needs their name or a port.
  const kept = new Set([...plan.running.values()].map((s) => s.id));
  for (const s of sandboxes) {
    if (kept.has(s.id) || members.some((c) => c.joined === s.id)) continue;
    const first = creates.some((w) => w.name === s.name || w.ports.some((p) => (s.published ?? s.ports).some((h) => portsClash(p, h))));
    plan.actions.push({ kind: 'remove', phase: first ? 1 : 2, id: s.id, name: s.name, pod: refOf(s), reason: bound.has(refOf(s)) ? 'pod sandbox is not running' : `pod ${refOf(s)} is not bound to ${opts.node}` });
  }
  // Removals before creations within a phase, as plan.ts orders them; otherwise in the order found.
  plan.actions.sort((a, b) => a.phase - b.phase || Number(a.kind !== 'remove') - Number(b.kind !== 'remove'));
  return plan;
}

/** What became of the sandbox whose namespace `c` joined, when it is gone or stopped; undefined while it runs. */
function sandboxGone(c: Container, byId: ReadonlyMap<string, Container>): string | undefined {
  // A container of no sandbox (made before berth had them) is moved into one, which is no drift.
  if (c.joined === undefined) return undefined;
  const owner = byId.get(c.joined);
  // Docker lists a container it is removing (docker rm -f) as `removing` for a moment: it is as good as gone.
  if (owner === undefined || owner.state === 'removing') return `pod sandbox ${c.joined.slice(0, 12)} was removed`;
  if (owner.state === 'running') return undefined;
  return `pod sandbox ${owner.name} ${owner.state === 'exited' ? `exited with code ${owner.exitCode ?? 'unknown'}` : `is ${owner.state}`}`;
}

function refOf(c: Pick<Container, 'labels'>): string {
  return podRef(c.labels[LABEL.namespace] ?? '', c.labels[LABEL.pod] ?? '');
}
