// Pure: sealed Services + pods + their status → `endpoints/<namespace>/<service>` records, with
// node ports allocated where the repository gives none.
import { NODE_PORT_RANGE, type ServiceObject } from '../manifest/index.js';
import { currentStatus, endpointsKey, isPodReady, type Endpoint, type EndpointsPort, type EndpointsRecord, type NodeRecord, type PodRecord, type PodStatusRecord, type StatusIndex } from '../store/index.js';
import { compareText } from '../text.js';

/** A Service of a sealed source. */
export interface DesiredService {
  source: string;
  object: ServiceObject;
}


/** Everything planEndpoints reads. */
export interface EndpointsInput {
  /** Every Service of every source read in full. */
  services: readonly DesiredService[];
  /** Sources whose sealed state was read in full: records of other sources that still have a seal are left alone. */
  sources: ReadonlySet<string>;
  /** Every source that has a seal: records of a source without one are deleted. */
  sealed: ReadonlySet<string>;
  /** The pods a Service may select (at least those it selects: the namespace and selector are checked here). */
  podsOf: (service: ServiceObject) => Iterable<PodRecord>;
  statuses: StatusIndex;
  /** Registered nodes by name: a pod on a node that is gone is no endpoint. */
  nodes: ReadonlyMap<string, NodeRecord>;
  /** The endpoints records there are, by key. */
  current: ReadonlyMap<string, EndpointsRecord>;
  /** Plan only these endpoints keys (the Services whose pods changed); absent: every one. */
  only?: ReadonlySet<string>;
}

/** The writes that bring `endpoints/` to what the Services and pods say, and what could not be honoured. */
export interface EndpointsPlan {
  put: EndpointsRecord[];
  /** Keys to delete. */
  delete: string[];
  /** A Service declared by two sources (the first, by source name, wins), or a nodePort two sources ask for. */
  conflicts: { key: string; message: string }[];
}

const serviceKey = (s: DesiredService): string => endpointsKey(s.object.namespace, s.object.name);

/** Kubernetes' label selection: every selector label, with the same value. */
export function selects(selector: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  for (const k in selector) if (!Object.hasOwn(labels, k) || labels[k] !== selector[k]) return false;
  return true;
}

/** Whether `service` selects `pod`: same namespace, and every selector label. */
export const selectsPod = (service: ServiceObject, pod: PodRecord): boolean => pod.namespace === service.namespace && selects(service.spec.selector, pod.template.labels);

/** The container port a target port names in `pod` (a number is itself; a name must be one of its containers' ports). */
function containerPort(pod: PodRecord, target: number | string): number | undefined {
  if (typeof target === 'number') return target;
  for (const c of pod.template.containers) for (const p of c.ports) if (p.name === target && p.protocol === 'TCP') return p.containerPort;
  return undefined;
}

/** Where `pod`'s node publishes a container port: what its agent reported, else the template's hostPort (a status from before sandboxes). */
function hostPort(pod: PodRecord, status: PodStatusRecord | undefined, port: number): number | undefined {
  const reported = status?.hostPorts?.find((h) => h.containerPort === port && h.protocol === 'TCP')?.hostPort;
  if (reported !== undefined) return reported;
  for (const c of pod.template.containers) for (const p of c.ports) if (p.containerPort === port && p.protocol === 'TCP' && p.hostPort !== undefined) return p.hostPort;
  return undefined;
}

/** The ready pods a Service selects, each with how every port it serves reaches it; sorted by pod. */
export function endpointsOf(service: ServiceObject, ports: readonly EndpointsPort[], input: Pick<EndpointsInput, 'podsOf' | 'statuses' | 'nodes'>): Endpoint[] {
  const out: Endpoint[] = [];
  for (const pod of input.podsOf(service)) {
    if (pod.node === undefined || !selectsPod(service, pod)) continue;
    if (!isPodReady(pod, input.statuses, input.nodes)) continue;
    const status = currentStatus(pod, input.statuses);
    const served: Endpoint['ports'] = [];
    for (const p of ports) {
      const port = containerPort(pod, p.targetPort);
      if (port === undefined) continue; // as Kubernetes: a pod without the named port serves the others
      const published = hostPort(pod, status, port);
      served.push({ name: p.name, containerPort: port, ...(published === undefined ? {} : { hostPort: published }) });
    }
    if (ports.length > 0 && served.length === 0) continue;
    const hostIP = status?.hostIP !== undefined && status.hostIP !== '' ? status.hostIP : input.nodes.get(pod.node)?.address;
    out.push({
      pod: pod.name,
      node: pod.node,
      ...(status?.podIP === undefined ? {} : { podIP: status.podIP }),
      ...(hostIP === undefined || hostIP === '' ? {} : { hostIP }),
      ports: served,
    });
  }
  return out.sort((a, b) => compareText(a.pod, b.pod));
}

/**
 * Node ports for every Service that publishes on the nodes: the repository's own first (the first
 * Service by source and key keeps a port two sources ask for), then for each port without one the
 * one it had (kept across commits), else the lowest free one of 30000–32767.
 */
export function allocateNodePorts(
  services: readonly DesiredService[],
  current: ReadonlyMap<string, EndpointsRecord>,
): { nodePorts: Map<string, Map<string, number>>; conflicts: EndpointsPlan['conflicts'] } {
  const taken = new Map<number, string>();
  const nodePorts = new Map<string, Map<string, number>>();
  const conflicts: EndpointsPlan['conflicts'] = [];
  const published = services.filter((s) => s.object.spec.type !== 'ClusterIP');
  const portsOf = (key: string): Map<string, number> => {
    let m = nodePorts.get(key);
    if (m === undefined) nodePorts.set(key, (m = new Map()));
    return m;
  };
  for (const s of published) {
    const key = serviceKey(s);
    for (const p of s.object.spec.ports) {
      if (p.nodePort === undefined) continue;
      const holder = taken.get(p.nodePort);
      if (holder !== undefined && holder !== key) {
        conflicts.push({ key, message: `nodePort ${p.nodePort} is already used by ${holder.slice('endpoints/'.length)}; this port gets another one` });
        continue;
      }
      taken.set(p.nodePort, key);
      portsOf(key).set(p.name ?? '', p.nodePort);
    }
  }
  const wanting: [string, string][] = [];
  for (const s of published) {
    const key = serviceKey(s);
    const before = current.get(key);
    for (const p of s.object.spec.ports) {
      const name = p.name ?? '';
      if (portsOf(key).has(name)) continue;
      const kept = before?.ports.find((q) => q.name === name)?.nodePort;
      if (kept !== undefined && !taken.has(kept)) {
        taken.set(kept, key);
        portsOf(key).set(name, kept);
      } else {
        wanting.push([key, name]);
      }
    }
  }
  let next: number = NODE_PORT_RANGE.min;
  for (const [key, name] of wanting) {
    while (next <= NODE_PORT_RANGE.max && taken.has(next)) next++;
    if (next > NODE_PORT_RANGE.max) {
      conflicts.push({ key, message: `no free nodePort left in ${NODE_PORT_RANGE.min}-${NODE_PORT_RANGE.max} for port ${name === '' ? '(unnamed)' : name}` });
      continue;
    }
    taken.set(next, key);
    portsOf(key).set(name, next);
  }
  return { nodePorts, conflicts };
}

/** Two records say the same thing (the order of keys aside: both are built by this module). */
function same(a: EndpointsRecord, b: EndpointsRecord): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The Service that stands for each endpoints key (by key): a Service declared by two sources is the
 * first source's, by name, and the other is a conflict.
 */
export function chooseServices(services: readonly DesiredService[]): { chosen: Map<string, DesiredService>; conflicts: EndpointsPlan['conflicts'] } {
  const bySource = [...services].sort((a, b) => compareText(a.source, b.source) || compareText(serviceKey(a), serviceKey(b)));
  const chosen = new Map<string, DesiredService>();
  const conflicts: EndpointsPlan['conflicts'] = [];
  for (const s of bySource) {
    const key = serviceKey(s);
    const first = chosen.get(key);
    if (first === undefined) chosen.set(key, s);
    else conflicts.push({ key, message: `Service ${s.object.namespace}/${s.object.name} of source ${s.source} is also declared by source ${first.source}, which keeps it` });
  }
  return { chosen, conflicts };
}

/**
 * The endpoints records the sealed Services and the pods call for, against those there are (only
 * the keys of `only` when given): a record is put only when it would change, and deleted when its
 * Service is gone from a source read in full, or its source has no seal any more. Node ports are
 * allocated over every Service whatever `only` says, so a Service planned alone gets the same ones.
 */
export function planEndpoints(input: EndpointsInput): EndpointsPlan {
  const { chosen, conflicts: declared } = chooseServices(input.services);
  const services = [...chosen.values()];
  const { nodePorts, conflicts } = allocateNodePorts(services, input.current);
  const plan: EndpointsPlan = { put: [], delete: [], conflicts: [...declared, ...conflicts] };
  const inScope = (key: string): boolean => input.only === undefined || input.only.has(key);
  for (const s of services) {
    const key = serviceKey(s);
    if (!inScope(key)) continue;
    const spec = s.object.spec;
    const ports: EndpointsPort[] = spec.ports.map((p) => {
      const nodePort = nodePorts.get(key)?.get(p.name ?? '');
      return { name: p.name ?? '', port: p.port, protocol: 'TCP', targetPort: p.targetPort, ...(nodePort === undefined ? {} : { nodePort }) };
    });
    const record: EndpointsRecord = {
      type: 'endpoints', namespace: s.object.namespace, service: s.object.name, source: s.source,
      serviceType: spec.type, headless: spec.headless, ports, endpoints: endpointsOf(s.object, ports, input),
    };
    const before = input.current.get(key);
    if (before === undefined || !same(before, record)) plan.put.push(record);
  }
  for (const [key, record] of input.current) {
    if (chosen.has(key) || !inScope(key)) continue;
    if (input.sources.has(record.source) || !input.sealed.has(record.source)) plan.delete.push(key);
  }
  plan.delete.sort(compareText);
  return plan;
}
