import { quote } from './text.js';
import { isScalar, type Node } from 'yaml';
import { checkImage } from './image.js';
import { checkDnsLabel, checkPortName } from './names.js';
import { envFromSchema, envVarSchema } from './env.js';
import { volumeMountSchema } from './volumes.js';
import { quantity } from './quantity.js';
import { integer, list, object, oneOf, optional, refine, required, sourceOf, string, withDefault, type Context } from './schema.js';
import * as unsupported from './unsupported.js';
import { containerSecurityContextSchema } from './security.js';
import { lifecycleSchema, livenessProbeSchema, readinessProbeSchema, startupProbeSchema } from './probe.js';

const portNumber = integer({ min: 1, max: 65535 });

/** One `ports[]` entry of a container. */
export const portSchema = object(
  {
    name: optional(string(checkPortName)),
    containerPort: required(portNumber),
    hostPort: optional(portNumber),
    protocol: withDefault(oneOf(['TCP', 'UDP']), 'TCP'),
  },
  unsupported.PORT,
);


/** Requests or limits: cpu in millicores, memory in bytes. */
export const amountsSchema = object({ cpu: optional(quantity('cpu')), memory: optional(quantity('memory')) }, unsupported.RESOURCE_NAMES);

/** Requests and limits. As in Kubernetes, a request left out takes its limit, and no request may exceed its limit. */
export const resourcesSchema = refine(
  object(
    { requests: withDefault(amountsSchema, {}), limits: withDefault(amountsSchema, {}) },
    unsupported.RESOURCES,
  ),
  (r, node, cx) => {
    let ok = true;
    for (const name of ['cpu', 'memory'] as const) {
      const request = r.requests[name];
      const limit = r.limits[name];
      if (request === undefined || limit === undefined || request <= limit) continue;
      cx.reportAt(node, ['requests', name], `must not be more than its limit (${limitText(cx, node, name)})`);
      ok = false;
    }
    if (!ok) return undefined;
    const requests = { ...r.requests };
    if (requests.cpu === undefined && r.limits.cpu !== undefined) requests.cpu = r.limits.cpu;
    if (requests.memory === undefined && r.limits.memory !== undefined) requests.memory = r.limits.memory;
    return { requests, limits: r.limits };
  },
);

function limitText(cx: Context, node: Node, name: string): string {
  const limit = cx.find(node, 'limits', name);
  return isScalar(limit) ? sourceOf(limit) : name;
}

/** One container of a pod template, normalized: absent lists are empty. */
export const containerSchema = refine(
  object(
    {
      name: required(string(checkDnsLabel)),
      image: required(string(checkImage)),
      command: withDefault(list(string()), []),
      args: withDefault(list(string()), []),
      env: withDefault(list(envVarSchema), []),
      // Absent stays absent, so a template written before berth read it keeps its hash and its pods.
      envFrom: optional(list(envFromSchema)),
      volumeMounts: optional(list(volumeMountSchema)),
      ports: withDefault(list(portSchema), []),
      resources: withDefault(resourcesSchema, { requests: {}, limits: {} }),
      // Absent means Kubernetes' default: Always for an untagged or `:latest` image, else IfNotPresent.
      imagePullPolicy: optional(oneOf(['Always', 'IfNotPresent', 'Never'])),
      readinessProbe: optional(readinessProbeSchema),
      livenessProbe: optional(livenessProbeSchema),
      startupProbe: optional(startupProbeSchema),
      lifecycle: optional(lifecycleSchema),
      securityContext: optional(containerSecurityContextSchema),
    },
    unsupported.CONTAINER,
  ),
  (c, node, cx) => {
    const seen = new Set<string>();
    let ok = true;
    c.ports.forEach((p, i) => {
      if (p.name === undefined) return;
      if (seen.has(p.name)) {
        cx.reportAt(node, ['ports', i, 'name'], `duplicate port name ${quote(p.name)} in this container`);
        ok = false;
      }
      seen.add(p.name);
    });
    // A probe or hook may name its port; as in Kubernetes, the name must be one of this container's ports.
    const named: [string[], number | string | undefined][] = [];
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe'] as const) {
      named.push([[probe, 'httpGet', 'port'], c[probe]?.httpGet?.port], [[probe, 'tcpSocket', 'port'], c[probe]?.tcpSocket?.port]);
    }
    named.push([['lifecycle', 'preStop', 'httpGet', 'port'], c.lifecycle?.preStop?.httpGet?.port]);
    for (const [path, port] of named) {
      if (typeof port !== 'string' || seen.has(port)) continue;
      const known = [...seen].map((n) => quote(n)).join(', ');
      cx.reportAt(node, path, `no port named ${quote(port)} in this container's ports${known === '' ? ' (it names none)' : ` (it names ${known})`}`);
      ok = false;
    }
    return ok ? c : undefined;
  },
);
