import type { DesiredObject, PodTemplate } from '../manifest/types.js';
import { BerthError } from '../errors.js';

// The values stored under each key of keys.ts. Each record carries `type` so that a value
// written by a different version (or by hand) is caught at the codec, not deep in a loop.

/** `desired/...`: one normalized object of the sealed commit. */
export interface DesiredRecord {
  type: 'desired';
  object: DesiredObject;
  commit: string;
}

/** `sources/<source>`: the seal, written last in every apply. Readers read desired state at `revision`. */
export interface SealRecord {
  type: 'seal';
  source: string;
  commit: string;
  /** etcd revision at which the commit's desired objects are all visible. */
  revision: number;
  time: string;
  author: string;
  message: string;
  counts: { objects: number; created: number; updated: number; deleted: number };
  /** The `sealedfiles/` records written with this seal: how many, and a digest of the options and version that checked them. */
  files?: { count: number; checkedWith: string };
}

/**
 * `sealedfiles/<source>/<path>`: what desired/ lacks of one manifest file of the sealed commit, so a
 * restarted sync rebuilds its kept state from etcd instead of reading every blob (sync/kept-files.ts).
 */
export interface SealedFileRecord {
  type: 'sealedFile';
  /** The blob's id. */
  oid: string;
  size: number;
  /** The lines of the file's objects (in desired/, their `path` is this file), in objectKey order. */
  lines: number[];
  warnings?: { line: number; col: number; message: string }[];
  skipped?: { line: number; kind: string; name?: string }[];
}

/** `history/<source>/<seq>`: one record per commit sync looked at. */
export interface HistoryRecord {
  type: 'history';
  source: string;
  commit: string;
  /** Applied (a commit that changes nothing is applied with zero counts), or rejected with its errors. */
  outcome: 'applied' | 'rejected';
  time: string;
  author: string;
  message: string;
  /** For a rejected commit: every `file:line:col: message`. */
  errors: string[];
  counts?: SealRecord['counts'];
  /** Applied again because `berth suspend --at` pinned it (POST /api/v1/sources/<source>/suspend with a commit), not because it was the branch head. */
  pinned?: boolean;
  /** A force-pushed head: the commit in force before, which it does not descend from. */
  rewrote?: string;
  /** The commits this one says it reverts (`This reverts commit <sha>.`: `berth rollback`, or a plain `git revert`). */
  reverts?: string[];
}

/** `pods/<namespace>/<pod>`: written by the controller; `node` set by the scheduler's bind. */
export interface PodRecord {
  type: 'pod';
  namespace: string;
  name: string;
  owner: { source: string; kind: 'Deployment'; name: string };
  templateHash: string;
  template: PodTemplate;
  commit: string;
  createdAt: string;
  node?: string;
}

/**
 * `bindings/<node>/<namespace>/<pod>`: that a node must run a pod. Small: what to run is the pod
 * record's template, which the node's agent reads (`BindingRecord` is the two joined).
 */
export interface StoredBinding {
  type: 'binding';
  node: string;
  namespace: string;
  pod: string;
  /** The source of the pod's Deployment: where its ConfigMaps are (absent in bindings written before it was kept). */
  source?: string;
  templateHash: string;
  commit: string;
  /** The pod's template, in bindings written before they were small (and by hand): the agent runs it as it is. */
  template?: PodTemplate;
}

/** A binding with the pod template its node runs: what an agent works on (StoredBinding joined with `pods/`). */
export interface BindingRecord extends StoredBinding {
  template: PodTemplate;
}

/** `nodes/<node>`: a registered node, on its agent's lease. */
export interface NodeRecord {
  type: 'node';
  name: string;
  labels: Record<string, string>;
  /** cpu in millicores, memory in bytes, pods as a count. */
  capacity: { cpu: number; memory: number; pods: number };
  address: string;
  version: string;
  startedAt: string;
}

/**
 * `lostnodes/<node>`: the node's lease expired (its agent died, or cannot reach etcd): NotReady since
 * `since`. After the controller's --node-grace its pods are deleted, and their Deployments make them again
 * elsewhere. Deleted when the node registers again (its agent then fences: removes the containers of
 * pods no longer bound to it before anything starts), or an hour after its pods went.
 */
export interface NodeLostRecord {
  type: 'nodeLost';
  name: string;
  since: string;
  /** When its pods were deleted (after the grace). */
  evictedAt?: string;
  /** What the node said of itself when it was last seen registered (absent when the controller never saw it). */
  last?: NodeRecord;
}

/**
 * `cordons/<node>`: no new pod is scheduled on the node (the scheduler's NodeUnschedulable); with
 * `drain`, the controller also deletes its pods, never leaving a Deployment with fewer than
 * `replicas − maxUnavailable` ready pods, and the Deployments make them again elsewhere.
 */
export interface CordonRecord {
  type: 'cordon';
  name: string;
  since: string;
  drain: boolean;
}

/** `leaders/<name>`: the process that runs `name` now (store/election.ts), on its lease. */
export interface LeaderRecord {
  type: 'leader';
  name: string;
  /** `<hostname>/<pid>/<random>`. */
  holder: string;
  since: string;
  lease: string;
  /**
   * `<boot id>/<pid namespace>` of the holder (Linux): a process that shares both can tell whether
   * the holder's pid still runs, and take over at once from one that died (store/election.ts).
   */
  machine?: string;
}

/** Observed state of one container of a pod. */
export interface ContainerStatus {
  name: string;
  id?: string;
  state: 'waiting' | 'running' | 'exited';
  exitCode?: number;
  restarts: number;
  /**
   * One word, as Kubernetes' state reason: CrashLoopBackOff, ErrImagePull … while it waits; Error,
   * OOMKilled or Completed once it ended.
   */
  reason?: string;
  message?: string;
  /** How it ended last time (Kubernetes' lastState.terminated), kept across its restarts. */
  lastState?: TerminatedState;
  /** Restarts since the crash-loop back-off was last reset (10 min of running resets it). */
  backOff?: number;
  /** False while a running container's probes say it is not ready (startup pending, readiness failing). */
  ready?: boolean;
}

/** How a container's run ended, as Kubernetes' ContainerStateTerminated. */
export interface TerminatedState {
  exitCode: number;
  reason: 'Error' | 'OOMKilled' | 'Completed';
  /** When that run started and ended (Docker's RFC 3339 times, to the nanosecond). */
  startedAt?: string;
  finishedAt?: string;
  /** The Docker container that ran it (Kubernetes' containerID). */
  containerId?: string;
  /**
   * The end of the run before it in the same container (restarted in place, a container keeps every
   * run in one log): `berth logs --previous` reads the lines after it, up to `finishedAt`.
   */
  logsSince?: string;
}

/** A condition, the same words everywhere: Ready, Progressing, Degraded, Drifted. */
export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedCommit?: string;
  /** When `status` last changed (ISO-8601), as Kubernetes' lastTransitionTime: minReadySeconds counts from it. */
  lastTransitionTime?: string;
}

/** `status/<node>/<namespace>/<pod>`: written by the node's agent. */
export interface PodStatusRecord {
  type: 'podStatus';
  node: string;
  namespace: string;
  pod: string;
  templateHash: string;
  phase: 'Pending' | 'Running' | 'Failed';
  containers: ContainerStatus[];
  /** The pod's init containers, in order (absent when it has none). */
  initContainers?: ContainerStatus[];
  conditions: Condition[];
  observedAt: string;
  /** The pod's address on the node's pod network (its sandbox's); absent until the sandbox runs. */
  podIP?: string;
  /** The node's address other nodes reach it at (the agent's `--address`, as NodeRecord.address). */
  hostIP?: string;
  /** Every containerPort as published on `hostIP` (declared hostPort, else one Docker chose); absent until published. */
  hostPorts?: HostPortStatus[];
}

/** One containerPort of a pod and the host port it is published on. */
export interface HostPortStatus {
  containerPort: number;
  protocol: 'TCP' | 'UDP';
  hostPort: number;
}

/** One port of a Service as the nodes publish it. */
export interface EndpointsPort {
  /** The Service port's name; "" for the one unnamed port. */
  name: string;
  port: number;
  protocol: 'TCP';
  targetPort: number | string;
  /** On every node's address, for a NodePort (or LoadBalancer) Service: the repository's, or allocated by the controller. */
  nodePort?: number;
}

/** A ready pod behind a Service, and how each Service port reaches it. */
export interface Endpoint {
  pod: string;
  node: string;
  /** The pod's address on its node's pod network (from its status). */
  podIP?: string;
  /** The address of the pod's node: where other nodes reach its published ports. */
  hostIP?: string;
  /** Per Service port (by name) the pod serves: the container port, and where the node publishes it. */
  ports: { name: string; containerPort: number; hostPort?: number }[];
}

/**
 * `endpoints/<namespace>/<service>`: a Service and its ready pods (controller), rewritten only when
 * it changes. Everything an agent needs to program its node is here, so agents read no desired state.
 */
export interface EndpointsRecord {
  type: 'endpoints';
  namespace: string;
  service: string;
  source: string;
  serviceType: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  headless: boolean;
  ports: EndpointsPort[];
  /** Sorted by pod name. */
  endpoints: Endpoint[];
}

/**
 * `events/<object>/<id>`: something that happened to an object, as Kubernetes events: a repeat of
 * the same component, reason and message bumps `count` and `lastTime` instead of adding a record.
 * Kept for a while (src/events/retention.ts bounds their age and number).
 */
export interface EventRecord {
  type: 'event';
  /** When it first happened (Kubernetes' firstTimestamp). */
  time: string;
  /** When it last happened (lastTimestamp); absent means `time`. */
  lastTime?: string;
  /** How often it happened from `time` to `lastTime`; absent means 1. */
  count?: number;
  /** Warning for what needs attention (a failed pull, a back-off); absent means Normal. */
  severity?: 'Normal' | 'Warning';
  component: string;
  reason: string;
  message: string;
  /** `pod/<namespace>/<name>`, or `container/<name>` for a container of no pod. */
  object: string;
}

/** `agentapi/<node>`: the URL of the agent's endpoint for its pods' logs (bearer token: the API's). */
export interface AgentApiRecord {
  type: 'agentApi';
  node: string;
  url: string;
}

export type {
  FollowedRecord, HealthRecord, OutboxRecord, OutboxSendingRecord, RollbackDone, RollbackRequestRecord, StatusContext, StatusState,
  SuspensionRecord, SyncErrorRecord,
} from './source-records.js';
import type {
  FollowedRecord, HealthRecord, OutboxRecord, OutboxSendingRecord, RollbackRequestRecord, SuspensionRecord, SyncErrorRecord,
} from './source-records.js';

export type StoredRecord =
  | DesiredRecord | SealRecord | SealedFileRecord | HistoryRecord | PodRecord | StoredBinding | NodeRecord | PodStatusRecord | EventRecord
  | OutboxRecord | HealthRecord | SyncErrorRecord | SuspensionRecord | EndpointsRecord | AgentApiRecord | RollbackRequestRecord | NodeLostRecord | CordonRecord | LeaderRecord | FollowedRecord | OutboxSendingRecord;

/** Encode a record for storage. */
export function encode(record: StoredRecord): string {
  return JSON.stringify(record);
}

/** Decode a stored value, checking it is the record type the key promises. */
export function decode<T extends StoredRecord['type']>(
  type: T,
  key: string,
  value: string,
): Extract<StoredRecord, { type: T }> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (cause) {
    throw new BerthError('ECORRUPT', `stored value at ${key} is not JSON`, { hint: 'delete the key; its writer will recreate it', cause });
  }
  if (typeof parsed !== 'object' || parsed === null || (parsed as { type?: unknown }).type !== type) {
    throw new BerthError('ECORRUPT', `stored value at ${key} is not a ${type} record`, { hint: 'delete the key; its writer will recreate it' });
  }
  return parsed as Extract<StoredRecord, { type: T }>;
}
