// Records → the rows people read (CLI tables, -o json/yaml, the read API). Pure: `now` comes in.
import { templateHash, type DeploymentObject } from '../manifest/index.js';
import type {
  Condition, ContainerStatus, CordonRecord, EndpointsRecord, NodeLostRecord, EventRecord, HealthRecord, HistoryRecord, NodeRecord, PodRecord, PodStatusRecord, SealRecord, SuspensionRecord, SyncErrorRecord,
} from '../store/records.js';
import { indexStatuses, podState } from './pod-state.js';
import { firstLine, formatCpu, formatMemory, humanAge, shortCommit } from './units.js';
import { compareText } from '../text.js';

/** A Deployment of a source's sealed commit, with the commit that last changed it. */
export interface SealedDeployment {
  source: string;
  object: DeploymentObject;
  commit: string;
  /** What its environment reads from ConfigMaps (deploymentInputs): part of its template hash. */
  inputs?: Record<string, unknown>;
}

/** One row of `berth get pods`. */
export interface PodView {
  namespace: string;
  name: string;
  /** Running containers of all: `1/1`. */
  ready: string;
  status: string;
  restarts: number;
  /** Absent until the scheduler binds the pod. */
  node?: string;
  /** The pod's IP (status.podIP); absent until its agent reports one. */
  ip?: string;
  age: string;
  createdAt: string;
  commit: string;
  deployment: string;
  source: string;
  containers: ContainerStatus[];
  conditions: Condition[];
}

/** One row of `berth get deployments`. */
export interface DeploymentView {
  namespace: string;
  name: string;
  source: string;
  /** Ready pods of the replicas wanted: `2/3`. */
  ready: string;
  replicas: number;
  readyReplicas: number;
  /** Pods that run the Deployment's current template. */
  upToDate: number;
  /** Ready pods that run the current template: what `berth/health` waits for. */
  available: number;
  commit: string;
  images: string[];
}

/** One row of `berth get nodes`. */
export interface NodeView {
  name: string;
  /** Ready while its agent holds the lease, else NotReady (`lostnodes/`); `,SchedulingDisabled` when cordoned. */
  status: string;
  pods: number;
  maxPods: number;
  cpu: string;
  memory: string;
  address: string;
  version: string;
  age: string;
  startedAt: string;
  labels: Record<string, string>;
}

/** One row of `berth history`. */
export interface HistoryView {
  time: string;
  age: string;
  source: string;
  commit: string;
  commitSha: string;
  outcome: HistoryRecord['outcome'];
  author: string;
  message: string;
  errors: string[];
  counts?: HistoryRecord['counts'];
  /** Applied again because `berth suspend --at` pinned it. */
  pinned?: boolean;
  /** A force-pushed head: the commit in force before, no longer in the branch's history. */
  rewrote?: string;
  /** The commits this one reverts (whole ids). */
  reverts?: string[];
  /** The later commit that reverted this one (`berth rollback`, an automatic revert or a plain `git revert`), short. */
  rolledBackBy?: string;
}

/** One row of `berth events`, as `kubectl get events` shows one. */
export interface EventView {
  /** When it first happened. */
  time: string;
  /** When it last happened. */
  lastTime: string;
  /** Age of the last time; with repeats, `3s (x4 over 5m)` as kubectl says it. */
  lastSeen: string;
  count: number;
  /** Normal, or Warning for what needs attention. */
  severity: 'Normal' | 'Warning';
  component: string;
  reason: string;
  object: string;
  message: string;
}

/** A source's suspension, as shown. */
export interface SuspendedView {
  since: string;
  age: string;
  /** Pinned (`berth suspend --at`): the commit the source is kept on (short, and whole). */
  commit?: string;
  commitSha?: string;
}

/** One source in `berth status`: the commit in force, the newest rejected one if it came later, its Deployments. */
export interface SourceStatusView {
  source: string;
  /** Absent while no commit of the source has been applied. */
  commit?: string;
  commitSha?: string;
  message?: string;
  author?: string;
  time?: string;
  age?: string;
  /** The newest commit sync looked at, when it was rejected: the commit in force stays. */
  rejected?: HistoryView;
  /** `berth/health` as last reported for the commit in force. */
  health?: { state: string; description: string };
  /** Why sync of this source is stuck, while it is: the commit in force stays. */
  error?: { code: string; message: string; since: string; age: string; permanent?: boolean };
  /** While suspended (`berth suspend`, or rolled back to `commit`): no new commit is applied until `berth resume`. */
  suspended?: SuspendedView;
  deployments: DeploymentView[];
}

const ownerRef = (source: string, namespace: string, name: string): string => `${source}\u0000${namespace}\u0000${name}`;

/** Rows of `get pods`, sorted by namespace and name; with `nodes`, pods of unregistered nodes are Unknown. */
export function podViews(pods: readonly PodRecord[], statuses: readonly PodStatusRecord[], now: Date, nodes?: ReadonlySet<string>): PodView[] {
  const index = indexStatuses(statuses);
  return [...pods]
    .sort((a, b) => compareText(a.namespace, b.namespace) || compareText(a.name, b.name))
    .map((p) => {
      const s = podState(p, index, nodes);
      return {
        namespace: p.namespace,
        name: p.name,
        ready: `${s.readyContainers}/${s.totalContainers}`,
        status: s.status,
        restarts: s.restarts,
        ...(p.node === undefined ? {} : { node: p.node }),
        ...(s.podIP === undefined ? {} : { ip: s.podIP }),
        age: humanAge(p.createdAt, now),
        createdAt: p.createdAt,
        commit: shortCommit(p.commit),
        deployment: p.owner.name,
        source: p.owner.source,
        containers: s.containers,
        conditions: s.conditions,
      };
    });
}

/** Rows of `get deployments`, sorted by namespace, name and source, counting each Deployment's own pods. */
export function deploymentViews(
  deployments: readonly SealedDeployment[],
  pods: readonly PodRecord[],
  statuses: readonly PodStatusRecord[],
  nodes?: ReadonlySet<string>,
): DeploymentView[] {
  const index = indexStatuses(statuses);
  const owned = new Map<string, PodRecord[]>();
  for (const p of pods) {
    const ref = ownerRef(p.owner.source, p.namespace, p.owner.name);
    const list = owned.get(ref);
    if (list) list.push(p);
    else owned.set(ref, [p]);
  }
  return [...deployments]
    .sort((a, b) => compareText(a.object.namespace, b.object.namespace) || compareText(a.object.name, b.object.name) || compareText(a.source, b.source))
    .map((d) => {
      const { namespace, name, spec } = d.object;
      const mine = owned.get(ownerRef(d.source, namespace, name)) ?? [];
      const hash = templateHash(spec.template, d.inputs);
      const ready = mine.filter((p) => podState(p, index, nodes).ready);
      return {
        namespace,
        name,
        source: d.source,
        ready: `${ready.length}/${spec.replicas}`,
        replicas: spec.replicas,
        readyReplicas: ready.length,
        upToDate: mine.filter((p) => p.templateHash === hash).length,
        available: ready.filter((p) => p.templateHash === hash).length,
        commit: shortCommit(d.commit),
        images: spec.template.containers.map((c) => c.image),
      };
    });
}

/** Rows of `get nodes`, sorted by name, each with the number of pods bound to it; NotReady nodes and cordons when given. */
export function nodeViews(nodes: readonly NodeRecord[], pods: readonly PodRecord[], now: Date, more: { lost?: readonly NodeLostRecord[]; cordons?: readonly CordonRecord[] } = {}): NodeView[] {
  const bound = new Map<string, number>();
  for (const p of pods) if (p.node !== undefined) bound.set(p.node, (bound.get(p.node) ?? 0) + 1);
  const cordoned = new Set((more.cordons ?? []).map((c) => c.name));
  const registered = new Set(nodes.map((n) => n.name));
  const rows: { record: NodeRecord | undefined; name: string; ready: boolean; since: string }[] = [
    ...nodes.map((n) => ({ record: n, name: n.name, ready: true, since: n.startedAt })),
    ...(more.lost ?? []).filter((l) => !registered.has(l.name)).map((l) => ({ record: l.last, name: l.name, ready: false, since: l.last?.startedAt ?? l.since })),
  ];
  return rows
    .sort((a, b) => compareText(a.name, b.name))
    .map(({ record: n, name, ready, since }) => ({
      name,
      // As kubectl: Ready or NotReady, then SchedulingDisabled for a cordoned node.
      status: `${ready ? 'Ready' : 'NotReady'}${cordoned.has(name) ? ',SchedulingDisabled' : ''}`,
      pods: bound.get(name) ?? 0,
      maxPods: n?.capacity.pods ?? 0,
      cpu: n ? formatCpu(n.capacity.cpu) : '',
      memory: n ? formatMemory(n.capacity.memory) : '',
      address: n?.address ?? '',
      version: n?.version ?? '',
      age: humanAge(since, now),
      startedAt: since,
      labels: n?.labels ?? {},
    }));
}

/** One row of `berth get services` and `berth get endpoints`. */
export interface ServiceView {
  namespace: string;
  name: string;
  source: string;
  /** ClusterIP, NodePort or LoadBalancer (published on the nodes: its balancer stays pending). */
  type: string;
  headless: boolean;
  /** As kubectl prints them: `80/TCP`, `80:30080/TCP` with a node port. */
  ports: string[];
  /** Each ready pod and port: `podIP:containerPort` (the pod's name while it has no IP). */
  endpoints: string[];
  /** The ready pods, by name, with their node. */
  pods: { pod: string; node: string; podIP?: string; hostIP?: string }[];
}

/** Rows of `get services` and `get endpoints`, from the endpoints records the controller keeps, in namespace/name order. */
export function serviceViews(records: readonly EndpointsRecord[]): ServiceView[] {
  return [...records]
    .sort((a, b) => compareText(a.namespace, b.namespace) || compareText(a.service, b.service))
    .map((r) => ({
      namespace: r.namespace,
      name: r.service,
      source: r.source,
      type: r.serviceType,
      headless: r.headless,
      ports: r.ports.map((p) => `${p.port}${p.nodePort === undefined ? '' : `:${p.nodePort}`}/${p.protocol}`),
      endpoints: r.endpoints.flatMap((e) => e.ports.map((p) => `${e.podIP ?? e.pod}:${p.containerPort}`)),
      pods: r.endpoints.map((e) => ({ pod: e.pod, node: e.node, ...(e.podIP === undefined ? {} : { podIP: e.podIP }), ...(e.hostIP === undefined ? {} : { hostIP: e.hostIP }) })),
    }));
}

/** Rows of `berth history`, oldest first (newest last, next to the prompt); one source's records keep their order. */
export function historyViews(records: readonly HistoryRecord[], now: Date): HistoryView[] {
  // The last applied revert of each commit, per source.
  const revertedBy = new Map<string, string>();
  for (const r of records) if (r.outcome === 'applied') for (const c of r.reverts ?? []) revertedBy.set(`${r.source}/${c}`, r.commit);
  // Array.prototype.sort is stable: records of one time stay in sequence order.
  return [...records]
    .sort((a, b) => compareText(a.time, b.time))
    .map((r) => ({
      time: r.time,
      age: humanAge(r.time, now),
      source: r.source,
      commit: shortCommit(r.commit),
      commitSha: r.commit,
      outcome: r.outcome,
      author: r.author,
      message: firstLine(r.message),
      errors: r.errors,
      ...(r.counts ? { counts: r.counts } : {}),
      ...(r.pinned ? { pinned: true } : {}),
      ...(r.rewrote ? { rewrote: r.rewrote } : {}),
      ...(r.reverts ? { reverts: r.reverts } : {}),
      ...(revertedBy.has(`${r.source}/${r.commit}`) ? { rolledBackBy: shortCommit(revertedBy.get(`${r.source}/${r.commit}`) ?? '') } : {}),
    }));
}

/** Rows of `berth events`, by the time each last happened, oldest first, as `kubectl get events` lists them. */
export function eventViews(events: readonly EventRecord[], now: Date): EventView[] {
  return events
    .map((e) => {
      const lastTime = e.lastTime ?? e.time;
      const count = e.count ?? 1;
      const lastSeen = humanAge(lastTime, now);
      return {
        time: e.time,
        lastTime,
        lastSeen: count > 1 ? `${lastSeen} (x${count} over ${humanAge(e.time, now)})` : lastSeen,
        count,
        severity: e.severity ?? 'Normal',
        component: e.component,
        reason: e.reason,
        object: e.object,
        message: e.message,
      };
    })
    .sort((a, b) => compareText(a.lastTime, b.lastTime) || compareText(a.time, b.time));
}

/** `berth status`: every source that has a seal or a history, sorted by name, with its Deployments. */
export function statusViews(
  seals: readonly SealRecord[],
  history: readonly HistoryRecord[],
  deployments: readonly DeploymentView[],
  now: Date,
  healths: readonly HealthRecord[] = [],
  errors: readonly SyncErrorRecord[] = [],
  suspensions: readonly SuspensionRecord[] = [],
): SourceStatusView[] {
  const sources = new Set([...seals.map((s) => s.source), ...history.map((h) => h.source), ...errors.map((e) => e.source)]);
  return [...sources].sort(compareText).map((source) => {
    const seal = seals.find((s) => s.source === source);
    const own = historyViews(history.filter((h) => h.source === source), now);
    const newest = own[own.length - 1];
    const health = healths.find((h) => h.source === source && h.commit === seal?.commit);
    const error = errors.find((e) => e.source === source);
    const suspension = suspensions.find((e) => e.source === source);
    return {
      source,
      ...(seal
        ? {
            commit: shortCommit(seal.commit),
            commitSha: seal.commit,
            message: firstLine(seal.message),
            author: seal.author,
            time: seal.time,
            age: humanAge(seal.time, now),
          }
        : {}),
      ...(newest?.outcome === 'rejected' && newest.commitSha !== seal?.commit ? { rejected: newest } : {}),
      ...(health ? { health: { state: health.state, description: health.description } } : {}),
      ...(error ? { error: { code: error.code, message: error.message, since: error.since, age: humanAge(error.since, now), ...(error.permanent ? { permanent: true } : {}) } } : {}),
      ...(suspension ? { suspended: suspendedView(suspension, now) } : {}),
      deployments: deployments.filter((d) => d.source === source),
    };
  });
}

/** How a suspension is shown: since when, and the commit `berth suspend --at` keeps. */
export function suspendedView(s: SuspensionRecord, now: Date): SuspendedView {
  return { since: s.since, age: humanAge(s.since, now), ...(s.commit === undefined ? {} : { commit: shortCommit(s.commit), commitSha: s.commit }) };
}
