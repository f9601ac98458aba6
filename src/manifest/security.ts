// securityContext, mapped later to Docker by the agent. The fields that only take away are run as
// asked. What would widen what a container may do on its host (privileged, added capabilities, an
// Unconfined seccomp profile) is accepted here but run only where the node's operator allowed it
// (`berth agent --allow`): a push alone can never widen it.
import { boolean, integer, list, object, oneOf, optional, required, string } from './schema.js';
import { PRIVILEGE } from './unsupported.js';

const notYet = (what: string): string => `a Kubernetes field berth does not support yet (${what}); remove it`;
const id = integer({ min: 0, max: 2147483647 });

/** A Linux capability as Kubernetes writes it: `NET_RAW`, `ALL` (a `CAP_` prefix is Docker's, not Kubernetes'). */
function checkCapability(s: string): string | undefined {
  return /^[A-Z][A-Z0-9_]*$/.test(s) && !s.startsWith('CAP_') ? undefined : `must be a capability name such as NET_RAW or ALL, without CAP_, not ${JSON.stringify(s)}`;
}

/** PodSecurityContext fields other than runAsUser, runAsGroup, runAsNonRoot, fsGroup, fsGroupChangePolicy, supplementalGroups and seccompProfile. */
const POD_SECURITY: Readonly<Record<string, string>> = {
  supplementalGroupsPolicy: notYet('the groups are added to those of the image'),
  seLinuxOptions: notYet('containers run with Docker\'s default labels'),
  appArmorProfile: notYet('containers run with Docker\'s default AppArmor profile'),
  sysctls: PRIVILEGE,
  windowsOptions: 'berth runs Linux containers only; remove it',
};

/** SecurityContext fields other than those read below. */
const CONTAINER_SECURITY: Readonly<Record<string, string>> = {
  seLinuxOptions: POD_SECURITY.seLinuxOptions ?? '',
  appArmorProfile: POD_SECURITY.appArmorProfile ?? '',
  procMount: PRIVILEGE,
  windowsOptions: POD_SECURITY.windowsOptions ?? '',
};

/**
 * Docker's default seccomp profile (RuntimeDefault) or none (Unconfined, which only an operator may
 * allow). Localhost profiles live on the node, which a repository cannot name.
 */
const seccompProfileSchema = object(
  { type: required(oneOf(['RuntimeDefault', 'Unconfined'])) },
  { localhostProfile: notYet('containers run with Docker\'s default seccomp profile or, where the operator allows it, none') },
);

/** The pod's securityContext: defaults for every container of the pod. */
export const podSecurityContextSchema = object(
  {
    runAsUser: optional(id),
    runAsGroup: optional(id),
    runAsNonRoot: optional(boolean()),
    // Both become groups of every process of the pod; the agent also gives the pod's volumes the fsGroup (src/agent/fs-group.ts).
    fsGroup: optional(id),
    // Kept and honoured as Kubernetes honours it on the volumes berth has: not at all. kubelet's emptyDir and
    // ConfigMap plugins give their files the fsGroup on every set-up whatever the policy (they pass none to
    // SetVolumeOwnership), and a hostPath never gets the fsGroup; the policy is for persistent volumes.
    fsGroupChangePolicy: optional(oneOf(['OnRootMismatch', 'Always'])),
    supplementalGroups: optional(list(id)),
    seccompProfile: optional(seccompProfileSchema),
  },
  POD_SECURITY,
);

/** A container's securityContext; its fields win over the pod's. */
export const containerSecurityContextSchema = object(
  {
    runAsUser: optional(id),
    runAsGroup: optional(id),
    runAsNonRoot: optional(boolean()),
    readOnlyRootFilesystem: optional(boolean()),
    allowPrivilegeEscalation: optional(boolean()),
    // `add` and `privileged: true` run only where the node's operator allowed them (berth agent --allow).
    capabilities: optional(object({ drop: optional(list(string(checkCapability))), add: optional(list(string(checkCapability))) })),
    privileged: optional(boolean()),
    seccompProfile: optional(seccompProfileSchema),
  },
  CONTAINER_SECURITY,
);
