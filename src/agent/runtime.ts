// The seam between the agent and a container engine. Docker sits behind it in docker.ts; unit
// tests use an in-memory twin, and one contract suite runs against both so the twin cannot drift.
import type { Closer } from '../store/store.js';
import { UnavailableError } from '../errors.js';

/** A port of a container; with `hostPort` it is published on the node at `hostIp`. */
export interface RunPort {
  containerPort: number;
  protocol: 'TCP' | 'UDP';
  hostPort?: number;
  /** Address the host port binds to; the agent's `hostIp` option (default 0.0.0.0). */
  hostIp?: string;
}

import type { RunSecurity } from './security.js';
import type { RegistryCredential } from './registry-auth.js';

/**
 * A volume mounted into a container: a host path (bind), or a named tmpfs volume of the engine,
 * made on first use with `labels` and at most `sizeBytes`, and shared by every container mounting it.
 */
export type RunMount =
  | { type: 'bind'; source: string; target: string; readOnly: boolean }
  | { type: 'tmpfs'; name: string; target: string; readOnly: boolean; sizeBytes?: number; labels: Record<string, string>; /** The pod's fsGroup: the tmpfs' group, its root setgid. */ gid?: number };

/** What to run: the runtime-level view of one container (not the manifest's ContainerSpec). */
export interface RunSpec {
  /** Engine-level name, unique per engine. */
  name: string;
  image: string;
  /** Replaces the image's entrypoint when non-empty (Kubernetes `command`). */
  command: string[];
  /** Replaces the image's default arguments when non-empty (Kubernetes `args`). */
  args: string[];
  env: { name: string; value: string }[];
  /** Why the container cannot be made (a ConfigMap or key its environment needs is missing): it is not created. */
  configError?: string;
  labels: Record<string, string>;
  ports: RunPort[];
  /** cpu in millicores, memory in bytes; absent means unlimited. */
  limits: { cpu?: number; memory?: number };
  /** What the pod's securityContext takes away; absent: Docker's default. */
  security?: RunSecurity;
  /** The pod's volumes this container mounts; absent: none. */
  mounts?: RunMount[];
  /**
   * Join the network namespace of this container (name or id: Docker's `container:<x>` network
   * mode): the pod's sandbox. Docker refuses published ports and a hostname on such a container.
   */
  netns?: string;
  /** The Docker network to attach to (a pod sandbox's pod network, or that of a pod that runs alone). */
  network?: string;
  /** A static IPv4 address on `network` (a pod that runs alone, see pod-address.ts): kept across stops and starts. */
  ip?: string;
  /** The container's hostname (a sandbox carries its pod's name). */
  hostname?: string;
  /** Publish the ports without a hostPort too, on a host port Docker chooses, at their hostIp. */
  publishAll?: boolean;
}

/** A network as ensureNetwork found or made it: its id and its configured IPv4 addressing (absent: not configured). */
export interface NetworkInfo {
  id: string;
  subnet?: string;
  /** The part of `subnet` the engine hands out addresses from. */
  ipRange?: string;
}

/** Engine states, as Docker names them. */
export type ContainerState = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

/** A container as observed on the engine. */
export interface Container {
  id: string;
  /** Without Docker's leading slash. */
  name: string;
  labels: Record<string, string>;
  image: string;
  state: ContainerState;
  /** Exit code of the last run; meaningful once the container has exited. */
  exitCode?: number;
  /** Why the engine could not run it (Docker's State.Error), e.g. a port already allocated. */
  error?: string;
  oomKilled?: boolean;
  /** ISO-8601; absent when never started. */
  startedAt?: string;
  /** ISO-8601; absent while it has not finished. */
  finishedAt?: string;
  /** Ports asked to be published on a given host port (Docker's PortBindings), whether running or not. */
  ports: RunPort[];
  /** Ports published now, with the host port Docker chose for each (absent when not known). */
  published?: RunPort[];
  /** Id of the container whose network namespace this one joined (a pod member's sandbox). */
  joined?: string;
  /**
   * The container's address on its Docker network (probes reach it there); for a pod member, its
   * sandbox's (see withPodAddresses). Absent when brief or unnetworked.
   */
  ip?: string;
}

/** How a command run inside a container ended. */
export interface ExecResult {
  /** The command's exit code; -1 when it timed out before it ended. */
  exitCode: number;
  timedOut: boolean;
  /** The start of what it printed (stdout and stderr), trimmed, at most 1 KiB. */
  output: string;
}

/** Something that happened to a container, as the engine reports it. */
export interface RuntimeEvent {
  /** Docker's action: create, start, die, kill, stop, destroy, oom, … */
  action: string;
  id: string;
  labels: Record<string, string>;
  /** Milliseconds since the epoch, by the engine's clock. */
  time: number;
}

/** A line of pull progress. */
export interface PullProgress {
  status: string;
  id?: string;
  progress?: string;
  /** Bytes of this layer downloaded (or extracted) so far, and of the whole layer. */
  current?: number;
  total?: number;
}

/** A container engine, reduced to what the agent needs. Errors are berth errors, never the engine's. */
export interface ContainerRuntime {
  /** Resolves when the engine answers; else an UnavailableError naming the fix. */
  ping(): Promise<void>;
  /**
   * Every container (running or not) carrying all of `labels`. Those in `brief` are described from the
   * engine's list alone (no exit code or times): a container in the middle of its removal is never
   * inspected, since Docker holds its lock through the stop and would stall the listing.
   */
  list(labels: Record<string, string>, opts?: { brief?: ReadonlySet<string> }): Promise<Container[]>;
  /** Create (not start) a container; resolves to its id. The image must be present. */
  create(spec: RunSpec): Promise<string>;
  start(id: string): Promise<void>;
  /** SIGTERM, then SIGKILL after `graceSeconds`; stopping a stopped container is fine. */
  stop(id: string, graceSeconds: number): Promise<void>;
  /** Remove a container (force: a running one is killed); removing a gone one is fine. */
  remove(id: string): Promise<void>;
  /** Events of containers carrying all of `labels`; `onError` hears the stream break (then reopen). */
  events(labels: Record<string, string>, onEvent: (e: RuntimeEvent) => void, onError?: (err: Error) => void): Closer;
  /**
   * Make sure the bridge network `name` exists (created with `labels` when missing, with a subnet
   * whose lower half is the engine's own range, so the upper half is free for static addresses;
   * another agent may race to it); resolves to its id, which containers are attached by (one name may
   * briefly have two), and its addressing.
   */
  ensureNetwork(name: string, labels: Record<string, string>): Promise<NetworkInfo>;
  /** Fetch an image from its registry, with `auth` for registries that ask for credentials. */
  pull(image: string, onProgress?: (p: PullProgress) => void, auth?: RegistryCredential): Promise<void>;
  hasImage(image: string): Promise<boolean>;
  /** Names of the engine's volumes (those RunMount `tmpfs` made) carrying all of `labels`. */
  listVolumes(labels: Record<string, string>): Promise<{ name: string; labels: Record<string, string> }[]>;
  /** Remove a volume; a gone one is fine, one still in use is left (false). */
  removeVolume(name: string): Promise<boolean>;
  /** Run `command` in the running container `id` (a probe, a preStop hook), waiting at most `timeoutMs`. */
  exec(id: string, command: string[], timeoutMs: number): Promise<ExecResult>;
}

/** Turn `{a: "1"}` into Docker's label filter form `["a=1"]`. */
export function labelFilters(labels: Record<string, string>): string[] {
  return Object.entries(labels).map(([k, v]) => `${k}=${v}`).sort();
}

/** True when `have` carries every label of `want`. */
export function hasLabels(have: Record<string, string>, want: Record<string, string>): boolean {
  return Object.entries(want).every(([k, v]) => have[k] === v);
}

/** Code-unit order, the same on every machine and locale (localeCompare is not). */
export { compareText } from '../text.js';

/** The error code of "the engine cannot be reached"; a round that meets it stops and retries with back-off. */
export const RUNTIME_DOWN = 'EDOCKERDOWN';

/** True when `err` says the engine cannot be reached at all (as opposed to one failed request). */
export function isRuntimeDown(err: unknown): boolean {
  return err instanceof UnavailableError && err.code === RUNTIME_DOWN;
}

/** Give each container that joined another's network namespace that container's address. */
export function withPodAddresses(containers: Container[]): Container[] {
  const byId = new Map(containers.map((c) => [c.id, c]));
  return containers.map((c) => {
    const ip = c.joined === undefined ? undefined : byId.get(c.joined)?.ip;
    return ip === undefined ? c : { ...c, ip };
  });
}

/** Exit codes of a process ended by SIGKILL or SIGTERM (`docker kill`, `docker stop`). */
const SIGNALLED = new Set([137, 143]);

/** True when `c` exited because someone stopped or killed it (not its own crash, not the OOM killer). */
export function wasStoppedFromOutside(c: Container): boolean {
  return c.state === 'exited' && !c.oomKilled && SIGNALLED.has(c.exitCode ?? 0);
}
