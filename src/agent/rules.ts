// Pure: a Service's endpoints record → what this node runs for it: the stub container that carries
// the Service's names on the pod network, and the DNAT rules loaded into the stub's own network
// namespace (iptables-restore input). Nothing here touches the host's firewall.
import { createHash } from 'node:crypto';
import type { EndpointsRecord } from '../store/records.js';
import type { Container } from './runtime.js';

/** Labels on a Service stub (not `berth.node`: the pod loop must never take a stub for a stray container). */
export const STUB_LABEL = {
  node: 'berth.service-node',
  service: 'berth.service',
  hash: 'berth.service-hash',
} as const;

/** What a stub container is made of: changing any of it means a new stub (Docker fixes them at creation). */
export interface StubSpec {
  name: string;
  image: string;
  network: string;
  /** `name`, `name.namespace`, `name.namespace.svc.cluster.local`. */
  aliases: string[];
  /** The Service port published on the node's address at its nodePort (NodePort Services). */
  published: { port: number; nodePort: number }[];
  /** Address node ports are published on. */
  hostIp: string;
  labels: Record<string, string>;
}

/** How this node runs its stubs. */
export interface StubOptions {
  node: string;
  image: string;
  network: string;
  hostIp: string;
}

/** Docker names allow [a-zA-Z0-9][a-zA-Z0-9_.-]*; everything else becomes '-'. */
const dockerSafe = (s: string): string => s.replace(/[^a-zA-Z0-9_.-]/g, '-');

/** The names a Service answers to, as Kubernetes' cluster DNS gives them (search domains aside). */
export function serviceNames(namespace: string, name: string): string[] {
  return [name, `${name}.${namespace}`, `${name}.${namespace}.svc.cluster.local`];
}

/**
 * The stub this node runs for a Service; for a headless one, `pod` names the one ready pod this stub
 * stands for (a headless name resolves to one address per ready pod).
 */
export function stubSpec(r: EndpointsRecord, opts: StubOptions, pod?: string): StubSpec {
  const aliases = serviceNames(r.namespace, r.service);
  const published = r.ports.flatMap((p) => (p.nodePort === undefined ? [] : [{ port: p.port, nodePort: p.nodePort }]));
  const hash = createHash('sha256').update(JSON.stringify([opts.image, opts.network, opts.hostIp, aliases, published])).digest('hex').slice(0, 10);
  const ref = `${r.namespace}/${r.service}${pod === undefined ? '' : `/${pod}`}`;
  return {
    name: `berth-svc-${dockerSafe(opts.node)}-${dockerSafe(ref.replaceAll('/', '-'))}`,
    image: opts.image,
    network: opts.network,
    aliases,
    published,
    hostIp: opts.hostIp,
    labels: { [STUB_LABEL.node]: opts.node, [STUB_LABEL.service]: ref, [STUB_LABEL.hash]: hash },
  };
}

/** Where this node sends a connection for one endpoint and port: the pod itself when it is here, else its node's published port. */
export function targetOf(e: EndpointsRecord['endpoints'][number], port: { containerPort: number; hostPort?: number }, node: string): string | undefined {
  if (e.node === node && e.podIP !== undefined) return `${e.podIP}:${port.containerPort}`;
  if (e.hostIP !== undefined && port.hostPort !== undefined) return `${e.hostIP}:${port.hostPort}`;
  return undefined;
}

/**
 * The nat table of a stub's namespace, whole (iptables-restore replaces it in one step): each Service
 * port spreads new connections evenly over its endpoints (kube-proxy's statistic rules: rule i of n
 * matches with probability 1/(n-i), the last always), and MASQUERADE makes replies come back through
 * the stub. A port with no endpoint has no rule: the stub itself refuses the connection.
 */
export function natRules(r: EndpointsRecord, node: string): string {
  const lines = ['*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]'];
  for (const p of r.ports) {
    const targets = r.endpoints.flatMap((e) => {
      const served = e.ports.find((q) => q.name === p.name);
      const target = served && targetOf(e, served, node);
      return target === undefined ? [] : [target];
    });
    targets.forEach((target, i) => {
      const left = targets.length - i;
      const spread = left > 1 ? ` -m statistic --mode random --probability ${(1 / left).toFixed(10)}` : '';
      lines.push(`-A PREROUTING -p tcp -m tcp --dport ${p.port}${spread} -j DNAT --to-destination ${target}`);
    });
  }
  lines.push('-A POSTROUTING -m conntrack --ctstate DNAT -j MASQUERADE', 'COMMIT', '');
  return lines.join('\n');
}

/**
 * The nat table of a headless Service's stub for one pod: every TCP port to the pod itself when it
 * is on this node (its pod IP), else each port the Service names to its node's published port.
 */
export function podRules(e: EndpointsRecord['endpoints'][number], node: string): string {
  const lines = ['*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]'];
  if (e.node === node && e.podIP !== undefined) {
    lines.push(`-A PREROUTING -p tcp -j DNAT --to-destination ${e.podIP}`);
  } else {
    for (const p of e.ports) {
      const target = targetOf(e, p, node);
      if (target !== undefined) lines.push(`-A PREROUTING -p tcp -m tcp --dport ${p.containerPort} -j DNAT --to-destination ${target}`);
    }
  }
  lines.push('-A POSTROUTING -m conntrack --ctstate DNAT -j MASQUERADE', 'COMMIT', '');
  return lines.join('\n');
}

/** Every stub this node runs and its rules, by its `berth.service` label: one per Service, one per ready pod of a headless one. */
export function stubWants(records: Iterable<EndpointsRecord>, opts: StubOptions): Map<string, { spec: StubSpec; rules: string }> {
  const wants = new Map<string, { spec: StubSpec; rules: string }>();
  for (const r of records) {
    if (!r.headless) {
      const spec = stubSpec(r, opts);
      wants.set(spec.labels[STUB_LABEL.service] ?? '', { spec, rules: natRules(r, opts.node) });
      continue;
    }
    for (const e of r.endpoints) {
      const spec = stubSpec(r, opts, e.pod);
      wants.set(spec.labels[STUB_LABEL.service] ?? '', { spec, rules: podRules(e, opts.node) });
    }
  }
  return wants;
}

/** What one node must run for its Services: the stub and its rules, by `<namespace>/<service>`. */
export type StubWants = ReadonlyMap<string, { spec: StubSpec; rules: string }>;

/** What to do about the stubs: remove, create (then load), and load new rules into running ones. */
export interface StubPlan {
  remove: Container[];
  create: { service: string; spec: StubSpec; rules: string }[];
  load: { service: string; id: string; rules: string }[];
}

/**
 * Stubs against the Services: a stub whose Service is gone, whose make-up changed (hash), that is
 * not running, or that is a second one for its Service is removed; a Service without a running stub
 * of its make-up gets one; a running stub whose loaded rules (`loaded`, by container id) differ
 * from the wanted ones is loaded again.
 */
export function planStubs(wants: StubWants, observed: readonly Container[], loaded: ReadonlyMap<string, string>): StubPlan {
  const plan: StubPlan = { remove: [], create: [], load: [] };
  const kept = new Map<string, Container>();
  for (const c of [...observed].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const service = c.labels[STUB_LABEL.service] ?? '';
    const want = wants.get(service);
    if (want === undefined || c.labels[STUB_LABEL.hash] !== want.spec.labels[STUB_LABEL.hash] || c.state !== 'running' || kept.has(service)) {
      plan.remove.push(c);
      continue;
    }
    kept.set(service, c);
    if (loaded.get(c.id) !== want.rules) plan.load.push({ service, id: c.id, rules: want.rules });
  }
  for (const [service, want] of wants) {
    if (!kept.has(service)) plan.create.push({ service, spec: want.spec, rules: want.rules });
  }
  return plan;
}
