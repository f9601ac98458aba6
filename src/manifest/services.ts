import { apiVersionSchema, labelsSchema, metadataSchema, statusField } from './metadata.js';
import { checkDnsLabel } from './names.js';
import { intOrPortName } from './probe.js';
import { integer, list, object, oneOf, optional, refine, required, string, withDefault } from './schema.js';
import { quote } from './text.js';
import type { DesiredObject } from './types.js';
import * as unsupported from './unsupported.js';

// v1 Service as Kubernetes reads it (core/v1 ServiceSpec, pkg/apis/core/validation:
// ValidateService), for what berth can give it: a name every pod resolves, ports forwarded to the
// ready pods the selector matches (ClusterIP), the same on every node's address (NodePort), or the
// pods themselves (headless).

/** The range Kubernetes allocates node ports from (kube-apiserver's default --service-node-port-range). */
export const NODE_PORT_RANGE = { min: 30000, max: 32767 } as const;

const protocol = refine(oneOf(['TCP', 'UDP', 'SCTP']), (p, node, cx): 'TCP' | undefined => {
  if (p === 'TCP') return p;
  cx.report(node, unsupported.SERVICE_PROTOCOL);
  return undefined;
});

/** One `spec.ports[]` entry; `targetPort` defaults to `port`, as in Kubernetes. */
const servicePortSchema = refine(
  object(
    {
      name: optional(string(checkDnsLabel)),
      port: required(integer({ min: 1, max: 65535 })),
      targetPort: optional(intOrPortName),
      protocol: withDefault(protocol, 'TCP'),
      nodePort: optional(integer(NODE_PORT_RANGE)),
    },
    unsupported.SERVICE_PORT,
  ),
  (p) => ({ ...p, targetPort: p.targetPort ?? p.port }),
);

// LoadBalancer is read as Kubernetes reads it on a cluster without a load-balancer provider: a
// NodePort Service whose balancer never comes (`<pending>`), so manifests written for a cloud apply.
const serviceType = refine(oneOf(['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName']), (t, node, cx): 'ClusterIP' | 'NodePort' | 'LoadBalancer' | undefined => {
  if (t !== 'ExternalName') return t;
  cx.report(node, unsupported.EXTERNAL_NAME);
  return undefined;
});

/** True for a Service published on every node's address (NodePort, and LoadBalancer without a balancer). */
export function publishesNodePorts(spec: { type: string }): boolean {
  return spec.type === 'NodePort' || spec.type === 'LoadBalancer';
}

// berth gives a Service a name, not a virtual IP: only "None" (headless) has a meaning here.
const clusterIP = string((s) => (s === 'None' ? undefined : unsupported.CLUSTER_IP));

const sessionAffinity = refine(oneOf(['None', 'ClientIP']), (a, node, cx): 'None' | undefined => {
  if (a === 'None') return a;
  cx.report(node, unsupported.SESSION_AFFINITY);
  return undefined;
});

/** A Service's spec, normalized: `headless` for `clusterIP: None`, every port's targetPort filled in. */
export const serviceSpecSchema = refine(
  object(
    {
      type: withDefault(serviceType, 'ClusterIP'),
      selector: withDefault(labelsSchema, {}),
      ports: withDefault(list(servicePortSchema), []),
      clusterIP: optional(clusterIP),
      sessionAffinity: withDefault(sessionAffinity, 'None'),
    },
    unsupported.SERVICE_SPEC,
  ),
  (spec, node, cx) => {
    let ok = true;
    const fail = (path: (string | number)[], message: string): void => {
      cx.reportAt(node, path, message);
      ok = false;
    };
    const headless = spec.clusterIP === 'None';
    if (Object.keys(spec.selector).length === 0) {
      fail(['selector'], 'must select pods by label (e.g. `app: web`): berth fills a Service\'s endpoints from the pods it selects, and has no Endpoints objects to fill one by hand');
    }
    if (spec.ports.length === 0 && !headless) fail(['ports'], 'must have at least one port (only a headless Service, `clusterIP: None`, may have none)');
    if (headless && publishesNodePorts(spec)) fail(['type'], 'must be ClusterIP when `clusterIP` is None: a headless Service has no port to publish on the nodes');
    const names = new Set<string>();
    const ports = new Set<number>();
    const nodePorts = new Set<number>();
    spec.ports.forEach((p, i) => {
      if (p.name === undefined && spec.ports.length > 1) fail(['ports', i], 'must have a `name` when a Service has more than one port');
      if (p.name !== undefined && names.has(p.name)) fail(['ports', i, 'name'], `duplicate port name ${quote(p.name)} in this Service`);
      if (p.name !== undefined) names.add(p.name);
      if (ports.has(p.port)) fail(['ports', i, 'port'], `duplicate port ${p.port}/TCP in this Service`);
      ports.add(p.port);
      if (p.nodePort === undefined) return;
      if (!publishesNodePorts(spec)) fail(['ports', i, 'nodePort'], 'may only be set when `type` is NodePort or LoadBalancer');
      if (nodePorts.has(p.nodePort)) fail(['ports', i, 'nodePort'], `duplicate nodePort ${p.nodePort} in this Service`);
      nodePorts.add(p.nodePort);
    });
    if (!ok) return undefined;
    return { type: spec.type, headless, selector: spec.selector, ports: spec.ports, sessionAffinity: spec.sessionAffinity };
  },
);

/** A whole `v1 Service` document. */
export const serviceSchema = object({
  apiVersion: required(apiVersionSchema('v1', 'Service')),
  kind: required(string()),
  metadata: required(metadataSchema),
  spec: required(serviceSpecSchema),
  status: statusField,
});

/**
 * True when no two Services among `objects` ask for the same nodePort (a node publishes each once).
 * A commit's files checked one by one pass only with this across them (the whole read says where).
 */
export function nodePortsUnique(objects: readonly DesiredObject[]): boolean {
  const claimed = new Set<number>();
  for (const o of objects) {
    if (o.kind !== 'Service') continue;
    for (const p of o.spec.ports) {
      if (p.nodePort === undefined) continue;
      if (claimed.has(p.nodePort)) return false;
      claimed.add(p.nodePort);
    }
  }
  return true;
}
