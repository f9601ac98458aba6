import { quote } from './text.js';
import { containerSchema } from './container.js';
import { labelsSchema, templateMetadataSchema } from './metadata.js';
import { boolean, integer, list, object, oneOf, optional, refine, required, string, withDefault } from './schema.js';
import { checkDnsSubdomain } from './names.js';
import { podSecurityContextSchema } from './security.js';
import * as unsupported from './unsupported.js';
import { checkMounts, volumeSchema } from './volumes.js';

// The type keeps Kubernetes' three policies so the pod record can carry any of them later (a Job
// kind); a Deployment accepts only Always, as Kubernetes does.
const restartPolicy = refine(oneOf(['Always', 'OnFailure', 'Never']), (policy, node, cx): 'Always' | 'OnFailure' | 'Never' | undefined => {
  if (policy === 'Always') return policy;
  cx.report(node, `must be Always in a Deployment (as in Kubernetes): its pods are kept running; ${policy} is for Jobs`);
  return undefined;
});

/** What an init container may not have, as in Kubernetes: it runs to completion, before the pod's containers start. */
const NOT_FOR_INIT = ['readinessProbe', 'livenessProbe', 'startupProbe', 'lifecycle'] as const;

/** An init container: a container without probes or lifecycle hooks. */
const initContainerSchema = refine(containerSchema, (c, node, cx) => {
  let ok = true;
  for (const field of NOT_FOR_INIT) {
    if (c[field] === undefined) continue;
    cx.reportAt(node, [field], `an init container may not have ${field} (as in Kubernetes): it runs once to completion before the pod's containers start`);
    ok = false;
  }
  return ok ? c : undefined;
});

const podSpecSchema = refine(
  object(
    {
      containers: required(list(containerSchema, { min: 1 })),
      initContainers: optional(list(initContainerSchema)),
      volumes: optional(list(volumeSchema)),
      nodeSelector: withDefault(labelsSchema, {}),
      restartPolicy: withDefault(restartPolicy, 'Always'),
      // Absent stays absent (the agent's own grace period applies, Kubernetes' 30 s), so a template written
      // before berth read this field keeps its hash and its pods.
      terminationGracePeriodSeconds: optional(integer({ min: 0, max: 2147483647 })),
      securityContext: optional(podSecurityContextSchema),
      // Accepted and kept, so a manifest written for Kubernetes applies unchanged; berth mounts no token.
      serviceAccountName: optional(string(checkDnsSubdomain)),
      automountServiceAccountToken: optional(boolean()),
      // The node's namespaces: accepted, run only where the node's operator allowed them (berth agent --allow).
      hostNetwork: optional(boolean()),
      hostPID: optional(boolean()),
      hostIPC: optional(boolean()),
    },
    unsupported.POD_SPEC,
  ),
  (spec, node, cx) => {
    let ok = true;
    const names = new Set<string>();
    const hostPorts = new Map<string, string>();
    // Names are unique across both lists, as Kubernetes checks them.
    (spec.initContainers ?? []).forEach((c, i) => {
      if (names.has(c.name)) {
        cx.reportAt(node, ['initContainers', i, 'name'], `duplicate container name ${quote(c.name)}`);
        ok = false;
      }
      names.add(c.name);
    });
    spec.containers.forEach((c, i) => {
      if (names.has(c.name)) {
        cx.reportAt(node, ['containers', i, 'name'], `duplicate container name ${quote(c.name)}${(spec.initContainers ?? []).some((x) => x.name === c.name) ? ' (an init container has it)' : ''}`);
        ok = false;
      }
      names.add(c.name);
      c.ports.forEach((p, j) => {
        if (p.hostPort === undefined) return;
        // A node can publish a port/protocol once: two in one pod could never be scheduled.
        const key = `${p.hostPort}/${p.protocol}`;
        const owner = hostPorts.get(key);
        if (owner !== undefined) {
          cx.reportAt(node, ['containers', i, 'ports', j, 'hostPort'], `hostPort ${key} is already used in this pod by container ${quote(owner)}`);
          ok = false;
        }
        hostPorts.set(key, c.name);
      });
    });
    return checkMounts(spec, node, cx) && ok ? spec : undefined;
  },
);

/** A pod template, flattened to what a pod runs: template labels plus the pod spec. */
export const podTemplateSchema = refine(
  object({ metadata: withDefault(templateMetadataSchema, { labels: {} }), spec: required(podSpecSchema) }),
  (t) => ({
    labels: t.metadata.labels,
    containers: t.spec.containers,
    // Absent (or empty) stays absent, so templates written before berth ran init containers keep their hash.
    ...(t.spec.initContainers === undefined || t.spec.initContainers.length === 0 ? {} : { initContainers: t.spec.initContainers }),
    nodeSelector: t.spec.nodeSelector,
    restartPolicy: t.spec.restartPolicy,
    ...(t.spec.volumes === undefined ? {} : { volumes: t.spec.volumes }),
    ...(t.spec.terminationGracePeriodSeconds === undefined ? {} : { terminationGracePeriodSeconds: t.spec.terminationGracePeriodSeconds }),
    // Absent stays absent, so templates written before berth read these keep their hash and their pods.
    ...(t.spec.securityContext === undefined ? {} : { securityContext: t.spec.securityContext }),
    ...(t.spec.serviceAccountName === undefined ? {} : { serviceAccountName: t.spec.serviceAccountName }),
    ...(t.spec.automountServiceAccountToken === undefined ? {} : { automountServiceAccountToken: t.spec.automountServiceAccountToken }),
    ...(t.spec.hostNetwork === undefined ? {} : { hostNetwork: t.spec.hostNetwork }),
    ...(t.spec.hostPID === undefined ? {} : { hostPID: t.spec.hostPID }),
    ...(t.spec.hostIPC === undefined ? {} : { hostIPC: t.spec.hostIPC }),
  }),
);
