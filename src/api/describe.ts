// `berth describe`: one object told whole, as `kubectl describe` tells it — its conditions, the
// commit in force and its statuses, for a pod its containers, for a node its capacity and pods, and
// the events about it. Pure: records in, descriptions out (describe-read.ts reads, describe-text.ts prints).
import type { ContainerSpec, DeploymentObject, PodTemplate } from '../manifest/index.js';
import type {
  Condition, ContainerStatus, CordonRecord, FollowedRecord, HealthRecord, NodeLostRecord, NodeRecord, PodRecord, PodStatusRecord, SealRecord, SyncErrorRecord, TerminatedState,
} from '../store/records.js';
import { currentStatus } from '../store/ready.js';
import { indexStatuses, podState } from './pod-state.js';
import type { CommitStoryView, StatusView } from './story.js';
import { firstLine, humanAge, shortCommit } from './units.js';
import type { DeploymentView, EventView, HistoryView, SuspendedView } from './views.js';

/** A container of a described pod: its spec and how it runs. */
export interface ContainerDescription {
  name: string;
  image: string;
  /** `8080/TCP`, `8080:30080/TCP` with a hostPort. */
  ports: string[];
  /** Waiting (with its reason), Running or Terminated (exit code, reason); Waiting with no status yet. */
  state: { state: 'Waiting' | 'Running' | 'Terminated'; reason?: string; message?: string; exitCode?: number };
  /** How its previous run ended (kubelet's lastState.terminated). */
  lastState?: TerminatedState;
  ready: boolean;
  restarts: number;
  requests: { cpu?: number; memory?: number };
  limits: { cpu?: number; memory?: number };
  /** Each probe as kubectl prints it: `http-get http://:8080/healthz delay=0s timeout=1s period=10s #success=1 #failure=3`. */
  probes: { liveness?: string; readiness?: string; startup?: string };
}

/** `berth describe pod`. */
export interface PodDescription {
  kind: 'Pod';
  namespace: string;
  name: string;
  source: string;
  /** `Deployment/<name>`. */
  controlledBy: string;
  node?: string;
  /** kubectl's STATUS word. */
  status: string;
  podIP?: string;
  hostIP?: string;
  createdAt: string;
  age: string;
  /** The commit that made this pod's template (whole id). */
  commit: string;
  templateHash: string;
  conditions: Condition[];
  initContainers: ContainerDescription[];
  containers: ContainerDescription[];
  events: EventView[];
}

/** `berth describe deployment`. */
export interface DeploymentDescription {
  kind: 'Deployment';
  namespace: string;
  name: string;
  source: string;
  /** Where it is written in the repository: `path:line`. */
  file: string;
  labels: Record<string, string>;
  /** The last commit that changed it (whole id). */
  changedBy: string;
  /** The source's commit in force and its statuses (absent if it could not be read). */
  commitInForce?: CommitDescription;
  replicas: { desired: number; updated: number; total: number; ready: number; available: number; unavailable: number };
  strategy: string;
  minReadySeconds: number;
  progressDeadlineSeconds: number;
  template: { labels: Record<string, string>; containers: ContainerDescription[] };
  /** Available and Progressing, as kubectl shows a Deployment's. */
  conditions: Condition[];
  pods: { name: string; status: string; ready: string; restarts: number; node?: string; age: string }[];
  events: EventView[];
}

/** A commit and its statuses (`berth/sync`, `berth/health`), delivered to the git note or waiting. */
export interface CommitDescription {
  commit: string;
  commitSha: string;
  author: string;
  message: string;
  statuses: StatusView[];
}

/** `berth describe node`. */
export interface NodeDescription {
  kind: 'Node';
  name: string;
  /** Ready, or NotReady, with `,SchedulingDisabled` when cordoned. */
  status: string;
  labels: Record<string, string>;
  address: string;
  version: string;
  startedAt: string;
  age: string;
  /** Whether its agent holds its lease (`nodes/<node>` lives on it); when not, since when it is lost. */
  lease: { held: boolean; lostSince?: string; podsEvictedAt?: string };
  /** Cordoned (`berth cordon`), draining (`berth drain`). */
  unschedulable: boolean;
  draining: boolean;
  /** cpu in millicores, memory in bytes, pods. */
  capacity: { cpu: number; memory: number; pods: number };
  /** berth reserves nothing for the system: what the scheduler places against is the capacity. */
  allocatable: { cpu: number; memory: number; pods: number };
  /** The requests and limits of the pods bound to it, summed. */
  allocated: { requests: { cpu: number; memory: number }; limits: { cpu: number; memory: number }; pods: number };
  conditions: Condition[];
  pods: { namespace: string; name: string; status: string; cpuRequest: number; memoryRequest: number; age: string }[];
  events: EventView[];
}

/** `berth describe source`. */
export interface SourceDescription {
  kind: 'Source';
  name: string;
  repo?: string;
  branch?: string;
  commitInForce?: CommitDescription & { time: string; age: string };
  /** A newer commit sync refused: the commit in force stays. */
  rejected?: HistoryView;
  health?: { state: string; reason: string; description: string; age: string };
  conditions: Condition[];
  error?: { code: string; message: string; age: string };
  suspended?: SuspendedView;
  deployments: DeploymentView[];
  /** The newest history records, oldest first. */
  history: HistoryView[];
  events: EventView[];
}

/** The pod's container specs joined with their statuses. */
function containerDescriptions(specs: readonly ContainerSpec[], statuses: readonly ContainerStatus[]): ContainerDescription[] {
  return specs.map((c) => {
    const s = statuses.find((x) => x.name === c.name);
    return {
      name: c.name,
      image: c.image,
      ports: c.ports.map((p) => `${p.containerPort}${p.hostPort === undefined ? '' : `:${p.hostPort}`}/${p.protocol}`),
      state: stateOf(s),
      ...(s?.lastState ? { lastState: s.lastState } : {}),
      ready: s !== undefined && s.state === 'running' && s.ready !== false,
      restarts: s?.restarts ?? 0,
      requests: c.resources.requests,
      limits: c.resources.limits,
      probes: {
        ...(c.livenessProbe ? { liveness: probeText(c.livenessProbe) } : {}),
        ...(c.readinessProbe ? { readiness: probeText(c.readinessProbe) } : {}),
        ...(c.startupProbe ? { startup: probeText(c.startupProbe) } : {}),
      },
    };
  });
}

function stateOf(s: ContainerStatus | undefined): ContainerDescription['state'] {
  if (s === undefined) return { state: 'Waiting', reason: 'ContainerCreating' };
  const why = { ...(s.reason === undefined ? {} : { reason: s.reason }), ...(s.message === undefined ? {} : { message: s.message }) };
  if (s.state === 'running') return { state: 'Running' };
  if (s.state === 'exited') return { state: 'Terminated', ...why, ...(s.exitCode === undefined ? {} : { exitCode: s.exitCode }) };
  return { state: 'Waiting', ...why };
}

type Probe = NonNullable<ContainerSpec['livenessProbe']>;

/** A probe in kubectl's words. */
export function probeText(p: Probe): string {
  const timing = `delay=${p.initialDelaySeconds}s timeout=${p.timeoutSeconds}s period=${p.periodSeconds}s #success=${p.successThreshold} #failure=${p.failureThreshold}`;
  if (p.httpGet) return `http-get http://:${p.httpGet.port}${p.httpGet.path} ${timing}`;
  if (p.tcpSocket) return `tcp-socket :${p.tcpSocket.port} ${timing}`;
  if (p.grpc) return `grpc <pod>:${p.grpc.port} ${p.grpc.service === '' ? '' : `${p.grpc.service} `}${timing}`;
  return `exec [${(p.exec?.command ?? []).join(' ')}] ${timing}`;
}

/** Events about `objects`, oldest first (eventViews' order), the newest `max`. */
export function eventsOf(events: readonly EventView[], objects: ReadonlySet<string>, max = 30): EventView[] {
  const mine = events.filter((e) => objects.has(e.object));
  return mine.slice(Math.max(0, mine.length - max));
}

/** `berth describe pod`: its status (from its own node, for its template), containers and events. */
export function describePod(pod: PodRecord, statuses: readonly PodStatusRecord[], nodes: ReadonlySet<string>, events: readonly EventView[], now: Date): PodDescription {
  const index = indexStatuses(statuses);
  const state = podState(pod, index, nodes);
  const own = currentStatus(pod, index);
  return {
    kind: 'Pod',
    namespace: pod.namespace,
    name: pod.name,
    source: pod.owner.source,
    controlledBy: `Deployment/${pod.owner.name}`,
    ...(pod.node === undefined ? {} : { node: pod.node }),
    status: state.status,
    ...(own?.podIP === undefined ? {} : { podIP: own.podIP }),
    ...(own?.hostIP === undefined ? {} : { hostIP: own.hostIP }),
    createdAt: pod.createdAt,
    age: humanAge(pod.createdAt, now),
    commit: pod.commit,
    templateHash: pod.templateHash,
    conditions: state.conditions,
    initContainers: containerDescriptions(pod.template.initContainers ?? [], own?.initContainers ?? []),
    containers: containerDescriptions(pod.template.containers, state.containers),
    events: eventsOf(events, new Set([`pod/${pod.namespace}/${pod.name}`])),
  };
}

/** What `describeDeployment` folds. */
export interface DeploymentInput {
  deployment: { source: string; object: DeploymentObject; commit: string };
  /** Its row of `berth get deployments` (the counts). */
  view: DeploymentView;
  /** Its own pods. */
  pods: readonly PodRecord[];
  statuses: readonly PodStatusRecord[];
  nodes: ReadonlySet<string>;
  inForce?: CommitStoryView;
  events: readonly EventView[];
  now: Date;
}

/** `berth describe deployment`: its spec, replicas, the source's commit in force and its statuses, its pods and their events. */
export function describeDeployment(input: DeploymentInput): DeploymentDescription {
  const { object } = input.deployment;
  const { spec } = object;
  const index = indexStatuses(input.statuses);
  const pods = [...input.pods].sort((a, b) => a.name.localeCompare(b.name)).map((p) => {
    const s = podState(p, index, input.nodes);
    return { name: p.name, status: s.status, ready: `${s.readyContainers}/${s.totalContainers}`, restarts: s.restarts, ...(p.node === undefined ? {} : { node: p.node }), age: humanAge(p.createdAt, input.now) };
  });
  const strategy = spec.strategy.type === 'Recreate' ? 'Recreate' : `RollingUpdate (maxSurge ${String(spec.strategy.maxSurge)}, maxUnavailable ${String(spec.strategy.maxUnavailable)})`;
  return {
    kind: 'Deployment',
    namespace: object.namespace,
    name: object.name,
    source: input.deployment.source,
    file: `${object.path}:${object.line}`,
    labels: object.labels,
    changedBy: input.deployment.commit,
    ...(input.inForce ? { commitInForce: commitDescription(input.inForce) } : {}),
    replicas: {
      desired: spec.replicas,
      updated: input.view.upToDate,
      total: input.pods.length,
      ready: input.view.readyReplicas,
      available: input.view.available,
      unavailable: Math.max(0, spec.replicas - input.view.available),
    },
    strategy,
    minReadySeconds: spec.minReadySeconds,
    progressDeadlineSeconds: spec.progressDeadlineSeconds,
    template: { labels: spec.template.labels, containers: containerDescriptions(spec.template.containers, []) },
    conditions: deploymentConditions(input.view, pods),
    pods,
    events: eventsOf(input.events, new Set(input.pods.map((p) => `pod/${p.namespace}/${p.name}`))),
  };
}

function commitDescription(story: CommitStoryView): CommitDescription {
  return { commit: story.commit, commitSha: story.commitSha, author: story.author, message: firstLine(story.message), statuses: story.statuses };
}

/** Pod states that mean a rollout is stuck rather than slow. */
const STUCK = new Set(['CrashLoopBackOff', 'ErrImagePull', 'ImagePullBackOff', 'ErrImageNeverPull', 'InvalidImageName', 'CreateContainerError', 'Forbidden', 'Error', 'OOMKilled']);

/**
 * A Deployment's conditions in kubectl's words: Available once every replica is available on the
 * current template; Progressing False, naming the pod and its state, while one of its pods is stuck
 * (crash loop, image pull, refused), else True while or after its pods roll.
 */
export function deploymentConditions(view: DeploymentView, pods: readonly { name: string; status: string }[]): Condition[] {
  const available = view.available >= view.replicas;
  const updated = view.upToDate >= view.replicas;
  const stuck = pods.find((p) => STUCK.has(p.status) || p.status.startsWith('Init:') && STUCK.has(p.status.slice(5)));
  return [
    { type: 'Available', status: available ? 'True' : 'False', reason: available ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable', message: `${view.available} of ${view.replicas} replicas available` },
    stuck
      ? { type: 'Progressing', status: 'False', reason: stuck.status, message: `pod ${stuck.name} is ${stuck.status}` }
      : { type: 'Progressing', status: 'True', reason: updated ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated', message: `${view.upToDate} of ${view.replicas} replicas on the current template` },
  ];
}

/** What `describeNode` folds. */
export interface NodeInput {
  name: string;
  /** Its record while registered. */
  node?: NodeRecord;
  lost?: NodeLostRecord;
  cordon?: CordonRecord;
  /** The pods bound to it. */
  pods: readonly PodRecord[];
  statuses: readonly PodStatusRecord[];
  events: readonly EventView[];
  now: Date;
}

/** `berth describe node`: capacity and what is placed against it, its lease, conditions, pods and events. */
export function describeNode(input: NodeInput): NodeDescription {
  const record = input.node ?? input.lost?.last;
  const held = input.node !== undefined;
  const capacity = record?.capacity ?? { cpu: 0, memory: 0, pods: 0 };
  const index = indexStatuses(input.statuses);
  const registered = new Set(held ? [input.name] : []);
  const requests = { cpu: 0, memory: 0 };
  const limits = { cpu: 0, memory: 0 };
  const pods = [...input.pods].sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name)).map((p) => {
    const r = podAmounts(p.template);
    requests.cpu += r.requests.cpu;
    requests.memory += r.requests.memory;
    limits.cpu += r.limits.cpu;
    limits.memory += r.limits.memory;
    return { namespace: p.namespace, name: p.name, status: podState(p, index, registered).status, cpuRequest: r.requests.cpu, memoryRequest: r.requests.memory, age: humanAge(p.createdAt, input.now) };
  });
  const since = record?.startedAt ?? input.lost?.since ?? '';
  return {
    kind: 'Node',
    name: input.name,
    status: `${held ? 'Ready' : 'NotReady'}${input.cordon ? ',SchedulingDisabled' : ''}`,
    labels: record?.labels ?? {},
    address: record?.address ?? '',
    version: record?.version ?? '',
    startedAt: since,
    age: humanAge(since, input.now),
    lease: { held, ...(input.lost && !held ? { lostSince: input.lost.since, ...(input.lost.evictedAt ? { podsEvictedAt: input.lost.evictedAt } : {}) } : {}) },
    unschedulable: input.cordon !== undefined,
    draining: input.cordon?.drain === true,
    capacity,
    allocatable: capacity,
    allocated: { requests, limits, pods: pods.length },
    conditions: [
      held
        ? { type: 'Ready', status: 'True', reason: 'AgentReady', message: 'its agent holds the node\'s lease' }
        : { type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown', message: `its lease expired ${humanAge(input.lost?.since, input.now)} ago: the agent stopped or cannot reach etcd` },
    ],
    pods,
    events: eventsOf(input.events, new Set([`node/${input.name}`, ...input.pods.map((p) => `pod/${p.namespace}/${p.name}`)])),
  };
}

/** A pod's requests and limits (a request left out counts as its limit, as the scheduler counts). */
function podAmounts(t: PodTemplate): { requests: { cpu: number; memory: number }; limits: { cpu: number; memory: number } } {
  const sum = (pick: (c: ContainerSpec) => number | undefined): number => t.containers.reduce((n, c) => n + (pick(c) ?? 0), 0);
  return {
    requests: { cpu: sum((c) => c.resources.requests.cpu ?? c.resources.limits.cpu), memory: sum((c) => c.resources.requests.memory ?? c.resources.limits.memory) },
    limits: { cpu: sum((c) => c.resources.limits.cpu), memory: sum((c) => c.resources.limits.memory) },
  };
}

/** What `describeSource` folds. */
export interface SourceInput {
  name: string;
  followed?: FollowedRecord;
  seal?: SealRecord;
  inForce?: CommitStoryView;
  history: readonly HistoryView[];
  health?: HealthRecord;
  error?: SyncErrorRecord;
  suspended?: SuspendedView;
  deployments: readonly DeploymentView[];
  events: readonly EventView[];
  now: Date;
}

/** `berth describe source`: what it follows, the commit in force and its statuses, health, errors, recent history and events. */
export function describeSource(input: SourceInput): SourceDescription {
  const { seal, health, now } = input;
  const newest = input.history[input.history.length - 1];
  const inForceHealth = health !== undefined && health.commit === seal?.commit ? health : undefined;
  return {
    kind: 'Source',
    name: input.name,
    ...(input.followed ? { repo: input.followed.repo, branch: input.followed.branch } : {}),
    ...(seal
      ? {
          commitInForce: {
            commit: shortCommit(seal.commit), commitSha: seal.commit, author: seal.author, message: firstLine(seal.message),
            statuses: input.inForce?.statuses ?? [], time: seal.time, age: humanAge(seal.time, now),
          },
        }
      : {}),
    ...(newest?.outcome === 'rejected' && newest.commitSha !== seal?.commit ? { rejected: newest } : {}),
    ...(inForceHealth ? { health: { state: inForceHealth.state, reason: inForceHealth.reason, description: inForceHealth.description, age: humanAge(inForceHealth.time, now) } } : {}),
    conditions: inForceHealth?.conditions ?? [],
    ...(input.error ? { error: { code: input.error.code, message: input.error.message, age: humanAge(input.error.since, now) } } : {}),
    ...(input.suspended ? { suspended: input.suspended } : {}),
    deployments: [...input.deployments],
    history: input.history.slice(Math.max(0, input.history.length - 10)),
    events: eventsOf(input.events, new Set([`source/${input.name}`])),
  };
}
