import { isScalar } from 'yaml';
import { checkPortName } from './names.js';
import { describe, integer, list, object, oneOf, optional, refine, required, sourceOf, string, withDefault, type Schema } from './schema.js';
import { quote } from './text.js';
import * as unsupported from './unsupported.js';

// Probes and lifecycle hooks as Kubernetes reads them (core/v1 Probe, LifecycleHandler), with its
// defaults and validation rules (pkg/apis/core/validation: validateProbe, validateHandler).

/** A probe's, hook's or Service's target port: a number, or the name of one of the container's ports (checked in container.ts). */
export const intOrPortName: Schema<number | string> = (raw, cx) => {
  const node = cx.deref(raw);
  if (node === undefined) return undefined;
  if (isScalar(node) && typeof node.value === 'number' && /^\+?[0-9]+$/.test(sourceOf(node))) {
    if (node.value >= 1 && node.value <= 65535) return node.value;
    cx.report(node, `must be between 1 and 65535, not ${sourceOf(node)}`);
    return undefined;
  }
  if (isScalar(node) && typeof node.value === 'string') {
    const problem = /^[0-9]+$/.test(node.value) ? `must be a number or a port name; remove the quotes around ${node.value}` : checkPortName(node.value);
    if (problem === undefined) return node.value;
    cx.report(node, problem);
    return undefined;
  }
  cx.report(node, `must be a port number (e.g. 8080) or the name of one of the container's ports (e.g. "http"), not ${describe(node)}`);
  return undefined;
};

const execSchema = object({ command: required(list(string(), { min: 1 })) });

const headerName = string((s) =>
  /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(s) ? undefined : `${quote(s)} is not a valid HTTP header name: letters, digits and !#$%&'*+-.^_\`|~ (e.g. "X-Probe")`,
);

const httpGetSchema = object(
  {
    path: withDefault(string(), '/'),
    port: required(intOrPortName),
    // NOTE: HTTPS probes skip certificate checks in Kubernetes; berth does not speak TLS to probes yet.
    scheme: withDefault(
      refine(oneOf(['HTTP', 'HTTPS']), (s, node, cx): 'HTTP' | undefined => {
        if (s === 'HTTP') return s;
        cx.report(node, 'HTTPS probes are not supported by berth yet; probe an HTTP port, or use an exec probe');
        return undefined;
      }),
      'HTTP',
    ),
    httpHeaders: withDefault(list(object({ name: required(headerName), value: withDefault(string(), '') })), []),
  },
  unsupported.HTTP_GET,
);

const tcpSocketSchema = object({ port: required(intOrPortName) }, unsupported.TCP_SOCKET);

const grpcSchema = object({ port: required(integer({ min: 1, max: 65535 })), service: withDefault(string(), '') });

/** A field of seconds or a count where Kubernetes reads 0 (or nothing) as its default. */
function defaulted(fallback: number): ReturnType<typeof withDefault<number>> {
  return withDefault(
    refine(integer({ min: 0, max: 2147483647 }), (n) => (n === 0 ? fallback : n)),
    fallback,
  );
}

type Kind = 'readiness' | 'liveness' | 'startup';
const HANDLERS = ['exec', 'httpGet', 'tcpSocket', 'grpc'] as const;

/** One probe: exactly one handler, Kubernetes' timing defaults (delay 0 s, every 10 s, 1 s timeout, 1 success, 3 failures). */
function probeSchema(kind: Kind) {
  return refine(
    object(
      {
        exec: optional(execSchema),
        httpGet: optional(httpGetSchema),
        tcpSocket: optional(tcpSocketSchema),
        grpc: optional(grpcSchema),
        initialDelaySeconds: withDefault(integer({ min: 0, max: 2147483647 }), 0),
        periodSeconds: defaulted(10),
        timeoutSeconds: defaulted(1),
        successThreshold: defaulted(1),
        failureThreshold: defaulted(3),
      },
      unsupported.PROBE,
    ),
    (p, node, cx) => {
      const given = HANDLERS.filter((h) => p[h] !== undefined);
      if (given.length !== 1) {
        cx.report(node, given.length === 0 ? `must have one of ${HANDLERS.join(', ')}` : `must have only one of ${HANDLERS.join(', ')}, not ${given.join(' and ')}`);
        return undefined;
      }
      if (kind !== 'readiness' && p.successThreshold !== 1) {
        cx.reportAt(node, ['successThreshold'], `must be 1 for a ${kind} probe (as in Kubernetes)`);
        return undefined;
      }
      return p;
    },
  );
}

/** readinessProbe: gates the pod's Ready condition. */
export const readinessProbeSchema = probeSchema('readiness');
/** livenessProbe: its failure restarts the container. */
export const livenessProbeSchema = probeSchema('liveness');
/** startupProbe: holds the other two back until it succeeds once. */
export const startupProbeSchema = probeSchema('startup');

const HOOK_HANDLERS = ['exec', 'httpGet'] as const;

const hookSchema = refine(object({ exec: optional(execSchema), httpGet: optional(httpGetSchema) }, unsupported.HOOK), (h, node, cx) => {
  const given = HOOK_HANDLERS.filter((k) => h[k] !== undefined);
  if (given.length === 1) return h;
  cx.report(node, given.length === 0 ? `must have one of ${HOOK_HANDLERS.join(', ')}` : `must have only one of ${HOOK_HANDLERS.join(', ')}, not ${given.join(' and ')}`);
  return undefined;
});

/** lifecycle: a preStop hook, run before the container is stopped and within its grace period. */
export const lifecycleSchema = object({ preStop: optional(hookSchema) }, unsupported.LIFECYCLE);
