// A pod's securityContext as Docker settings: the container's fields win over the pod's, and
// runAsNonRoot is checked against the user the image would run as, with kubelet's words. What
// only an operator may allow is mapped here too; policy.ts decides whether it may run at all.
import type { ContainerSpec, PodTemplate } from '../manifest/types.js';

/** What restricts one container, pod and container securityContext merged. Absent: Docker's default. */
export interface RunSecurity {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  readOnlyRootFilesystem?: boolean;
  /** allowPrivilegeEscalation: false → Docker's no-new-privileges. */
  noNewPrivileges?: boolean;
  /** Capabilities to drop, as Kubernetes names them (`ALL`, `NET_RAW`). */
  capDrop?: string[];
  /** Extra groups of every process: the pod's fsGroup, then its supplementalGroups. */
  groupAdd?: number[];
  // What only the node's operator may allow (policy.ts): the agent refuses a pod asking for it without --allow.
  privileged?: boolean;
  capAdd?: string[];
  seccompUnconfined?: boolean;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
}

/** The merged securityContext of `spec` in `template`, or undefined when neither restricts anything. */
export function runSecurityOf(template: Pick<PodTemplate, 'securityContext' | 'hostNetwork' | 'hostPID' | 'hostIPC'>, spec: Pick<ContainerSpec, 'securityContext'>): RunSecurity | undefined {
  const pod = template.securityContext ?? {};
  const c = spec.securityContext ?? {};
  const out: RunSecurity = {};
  const runAsUser = c.runAsUser ?? pod.runAsUser;
  const runAsGroup = c.runAsGroup ?? pod.runAsGroup;
  const runAsNonRoot = c.runAsNonRoot ?? pod.runAsNonRoot;
  if (runAsUser !== undefined) out.runAsUser = runAsUser;
  if (runAsGroup !== undefined) out.runAsGroup = runAsGroup;
  if (runAsNonRoot !== undefined) out.runAsNonRoot = runAsNonRoot;
  if (c.readOnlyRootFilesystem !== undefined) out.readOnlyRootFilesystem = c.readOnlyRootFilesystem;
  if (c.allowPrivilegeEscalation === false) out.noNewPrivileges = true;
  if (c.capabilities?.drop !== undefined && c.capabilities.drop.length > 0) out.capDrop = [...c.capabilities.drop];
  const groups = [...(pod.fsGroup === undefined ? [] : [pod.fsGroup]), ...(pod.supplementalGroups ?? [])];
  if (groups.length > 0) out.groupAdd = [...new Set(groups)];
  if (c.privileged === true) out.privileged = true;
  if (c.capabilities?.add !== undefined && c.capabilities.add.length > 0) out.capAdd = [...c.capabilities.add];
  if ((c.seccompProfile ?? pod.seccompProfile)?.type === 'Unconfined') out.seccompUnconfined = true;
  if (template.hostNetwork === true) out.hostNetwork = true;
  if (template.hostPID === true) out.hostPID = true;
  if (template.hostIPC === true) out.hostIPC = true;
  return Object.keys(out).length === 0 ? undefined : out;
}

/** Docker's HostConfig fields for `s` (the user aside, which needs the image: see dockerUser). */
export interface SecurityHostConfig {
  ReadonlyRootfs?: boolean;
  SecurityOpt?: string[];
  CapDrop?: string[];
  CapAdd?: string[];
  GroupAdd?: string[];
  Privileged?: boolean;
  PidMode?: string;
  IpcMode?: string;
}

/**
 * `s` as Docker's HostConfig: each field only when it differs from Docker's default. hostNetwork is
 * the pod sandbox's network (sandbox.ts), which the containers join.
 */
export function securityHostConfig(s: RunSecurity): SecurityHostConfig {
  const out: SecurityHostConfig = {};
  const opts = [...(s.noNewPrivileges === true ? ['no-new-privileges'] : []), ...(s.seccompUnconfined === true ? ['seccomp=unconfined'] : [])];
  if (s.readOnlyRootFilesystem === true) out.ReadonlyRootfs = true;
  if (opts.length > 0) out.SecurityOpt = opts;
  if (s.capDrop !== undefined) out.CapDrop = [...s.capDrop];
  if (s.capAdd !== undefined) out.CapAdd = [...s.capAdd];
  if (s.groupAdd !== undefined) out.GroupAdd = s.groupAdd.map(String);
  if (s.privileged === true) out.Privileged = true;
  if (s.hostPID === true) out.PidMode = 'host';
  if (s.hostIPC === true) out.IpcMode = 'host';
  return out;
}

/** True when the image's own user must be read to run the container (runAsNonRoot or a group alone). */
export function needsImageUser(s: RunSecurity | undefined): boolean {
  return s !== undefined && s.runAsUser === undefined && (s.runAsNonRoot === true || s.runAsGroup !== undefined);
}

/** The user part of an image's `USER` (`app:staff` → `app`); empty means root. */
function userPart(imageUser: string): string {
  return imageUser.split(':')[0] ?? '';
}

/**
 * Why the container may not run under runAsNonRoot (kubelet's rule and words), or undefined. `imageUser`
 * is the image's `USER` ("" for root); it is only read when no runAsUser is given.
 */
export function nonRootViolation(s: RunSecurity | undefined, imageUser: string): string | undefined {
  if (s?.runAsNonRoot !== true) return undefined;
  if (s.runAsUser !== undefined) return s.runAsUser === 0 ? "container's runAsUser breaks non-root policy (runAsNonRoot is true, runAsUser is 0)" : undefined;
  const user = userPart(imageUser);
  if (user === '' || user === 'root' || user === '0') return 'container has runAsNonRoot and image will run as root; set runAsUser, or a non-root USER in the image';
  if (!/^[0-9]+$/.test(user)) return `container has runAsNonRoot and image has non-numeric user (${user}), cannot verify user is non-root; set a numeric runAsUser`;
  return undefined;
}

/** Docker's `User` ("uid", "uid:gid", or the image's user with the group), or undefined for the image's own. */
export function dockerUser(s: RunSecurity | undefined, imageUser: string): string | undefined {
  if (s?.runAsUser === undefined && s?.runAsGroup === undefined) return undefined;
  const user = s.runAsUser === undefined ? userPart(imageUser) || '0' : String(s.runAsUser);
  return s.runAsGroup === undefined ? user : `${user}:${s.runAsGroup}`;
}
