// securityContext: the fields that only take away from what a container may do, mapped later to
// Docker by the agent. What would widen it (privileged, added capabilities) is refused here: only
// whoever runs the agents may decide that, never a push.
import { boolean, integer, list, object, optional, refine, string } from './schema.js';
import { PRIVILEGE } from './unsupported.js';

const notYet = (what: string): string => `a Kubernetes field berth does not support yet (${what}); remove it`;
const id = integer({ min: 0, max: 2147483647 });

/** A Linux capability as Kubernetes writes it: `NET_RAW`, `ALL` (a `CAP_` prefix is Docker's, not Kubernetes'). */
function checkCapability(s: string): string | undefined {
  return /^[A-Z][A-Z0-9_]*$/.test(s) && !s.startsWith('CAP_') ? undefined : `must be a capability name such as NET_RAW or ALL, without CAP_, not ${JSON.stringify(s)}`;
}

/** PodSecurityContext fields other than runAsUser, runAsGroup and runAsNonRoot. */
const POD_SECURITY: Readonly<Record<string, string>> = {
  fsGroup: notYet('berth does not manage volumes'),
  fsGroupChangePolicy: notYet('berth does not manage volumes'),
  supplementalGroups: notYet('set the groups in the image'),
  supplementalGroupsPolicy: notYet('set the groups in the image'),
  seccompProfile: notYet('containers run with Docker\'s default seccomp profile'),
  seLinuxOptions: notYet('containers run with Docker\'s default labels'),
  appArmorProfile: notYet('containers run with Docker\'s default AppArmor profile'),
  sysctls: PRIVILEGE,
  windowsOptions: 'berth runs Linux containers only; remove it',
};

/** SecurityContext fields other than those read below. */
const CONTAINER_SECURITY: Readonly<Record<string, string>> = {
  seccompProfile: POD_SECURITY.seccompProfile ?? '',
  seLinuxOptions: POD_SECURITY.seLinuxOptions ?? '',
  appArmorProfile: POD_SECURITY.appArmorProfile ?? '',
  procMount: PRIVILEGE,
  windowsOptions: POD_SECURITY.windowsOptions ?? '',
};

/** The pod's securityContext: defaults for every container of the pod. */
export const podSecurityContextSchema = object({ runAsUser: optional(id), runAsGroup: optional(id), runAsNonRoot: optional(boolean()) }, POD_SECURITY);

const capabilitiesSchema = object({ drop: optional(list(string(checkCapability))) }, { add: PRIVILEGE });

/** `privileged: false` says what berth does anyway; `true` would widen it. */
const notPrivileged = refine(boolean(), (v, node, cx): false | undefined => {
  if (!v) return false;
  cx.report(node, PRIVILEGE);
  return undefined;
});

/** A container's securityContext; its fields win over the pod's. */
export const containerSecurityContextSchema = object(
  {
    runAsUser: optional(id),
    runAsGroup: optional(id),
    runAsNonRoot: optional(boolean()),
    readOnlyRootFilesystem: optional(boolean()),
    allowPrivilegeEscalation: optional(boolean()),
    capabilities: optional(capabilitiesSchema),
    privileged: optional(notPrivileged),
  },
  CONTAINER_SECURITY,
);
