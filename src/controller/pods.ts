import { createHash } from 'node:crypto';
import { templateHash, type DeploymentObject } from '../manifest/index.js';
import { podKey, type PodRecord } from '../store/index.js';
import { compareText } from '../text.js';

/** One Deployment of a sealed commit, as the controller read it at the sealed revision. */
export interface DesiredDeployment {
  source: string;
  object: DeploymentObject;
  /** The commit that last changed the object; new pods carry it. */
  commit: string;
  /** What its environment reads from ConfigMaps (deploymentInputs): part of its template hash, so a change rolls its pods. */
  inputs?: Record<string, unknown>;
}

/** A pod a Deployment wants whose name is already taken by a pod of another owner. */
export interface PodConflict {
  /** `pods/<namespace>/<pod>` */
  key: string;
  /** The Deployment that wanted the name, `<source>:<namespace>/<name>`. */
  wantedBy: string;
  /** The owner that holds it, same form. */
  heldBy: string;
}

/**
 * What the controller should do to the pods, each list sorted by pod key. During a rolling update
 * one plan is one step: it creates and deletes only what maxSurge and maxUnavailable allow given the
 * pods ready now, and the next readiness change (a pod status) brings the next step.
 */
export interface PodPlan {
  create: PodRecord[];
  delete: PodRecord[];
  /** Wanted pods not created because their name is taken (two sources declaring one Deployment). */
  conflicts: PodConflict[];
}

/** Options of `planPods`. */
export interface PlanPodsOptions {
  /**
   * The sources this plan speaks for: their pods that no Deployment wants are deleted. Pods of any
   * other source are left alone. Defaults to the sources among `deployments`; pass a source with no
   * Deployments (its seal is gone, or its last Deployment was removed) to delete all of its pods.
   */
  sources?: Iterable<string>;
  /** Keys (`pods/<namespace>/<pod>`) of the pods that are ready (see isPodReady); default none. */
  ready?: ReadonlySet<string>;
  /**
   * The owners (`<source>:<namespace>/<name>`) this plan speaks for, when it plans some Deployments
   * only (the ones that changed): a pod no Deployment wants is deleted only if its owner is here.
   * Default: every owner of the planned sources.
   */
  owners?: ReadonlySet<string>;
}

/** How far a rollout of `replicas` pods may go above and below `replicas`, in pods. */
export interface RolloutBounds {
  maxSurge: number;
  maxUnavailable: number;
}

const MAX_LABEL = 63;
/** Index digits kept free in every name, so the deployment part is the same for indexes < 100000. */
const RESERVED_INDEX_DIGITS = 5;

/**
 * The name of replica `index` of a Deployment at a template hash: `<deployment>-<hash>-<index>`, a
 * DNS-1123 label (≤ 63 characters). A name too long (or not a label) is cut and tagged with a digest
 * of the full name, so two long names that share a prefix still get different pods.
 */
export function podName(deployment: string, hash: string, index: number): string {
  const suffix = `-${hash}-${index}`;
  // Two dashes, the hash and the index digits; the rest is the deployment's.
  const budget = MAX_LABEL - 2 - hash.length - Math.max(RESERVED_INDEX_DIGITS, String(index).length);
  const label = deployment.replace(/[^a-z0-9-]/g, '-');
  if (label === deployment && deployment.length <= budget) return deployment + suffix;
  const digest = shortDigest(deployment);
  const head = label.slice(0, Math.max(0, budget - digest.length - 1)).replace(/-+$/, '');
  return `${head ? `${head}-` : ''}${digest}${suffix}`;
}

/** The keys of the pods a Deployment wants at its current template (whoever holds them now). */
export function wantedPodKeys(d: DesiredDeployment): string[] {
  const { namespace, name, spec } = d.object;
  const hash = templateHash(spec.template, d.inputs);
  return Array.from({ length: Math.max(0, Math.floor(spec.replicas)) }, (_, i) => podKey(namespace, podName(name, hash, i)));
}

/** 5 hex characters of the sha256 of a name: keeps cut pod names of different Deployments apart. */
function shortDigest(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 5);
}

const ownerOf = (source: string, namespace: string, name: string): string => `${source}:${namespace}/${name}`;
const podOwner = (p: PodRecord): string => ownerOf(p.owner.source, p.namespace, p.owner.name);
const keyOf = (p: PodRecord): string => podKey(p.namespace, p.name);
const byKey = (a: PodRecord, b: PodRecord): number => compareText(keyOf(a), keyOf(b));


/**
 * Resolve a strategy against `replicas` the way Kubernetes does (ResolveFenceposts): a percentage of
 * maxSurge rounds up, one of maxUnavailable rounds down, and if both come to 0 (the manifest refuses
 * literal zeros, but 10% of 3 is 0 too) maxUnavailable is 1, so a rollout can always move.
 * Recreate is no surge and everything unavailable, whatever its numbers say.
 */
export function resolveRollout(strategy: DeploymentObject['spec']['strategy'], replicas: number): RolloutBounds {
  if (strategy.type === 'Recreate') return { maxSurge: 0, maxUnavailable: replicas };
  const maxSurge = scaled(strategy.maxSurge, replicas, Math.ceil);
  const maxUnavailable = scaled(strategy.maxUnavailable, replicas, Math.floor);
  if (maxSurge === 0 && maxUnavailable === 0) return { maxSurge: 0, maxUnavailable: 1 };
  return { maxSurge, maxUnavailable };
}

function scaled(value: number | string, replicas: number, round: (n: number) => number): number {
  if (typeof value === 'number') return Math.max(0, Math.floor(value));
  return Math.max(0, round((Number.parseInt(value, 10) * replicas) / 100));
}

/** The replica index at the end of a pod name (`web-<hash>-2` → 2); -1 for a name without one. */
function indexOf(pod: PodRecord): number {
  const m = /-(\d+)$/.exec(pod.name);
  return m?.[1] === undefined ? -1 : Number(m[1]);
}

/** What one Deployment's pods look like now, as planPods sorts them. */
interface Rollout {
  /** The pods to create for wanted replicas (index < replicas, current hash) that have none, by index. */
  missing: PodRecord[];
  /** Pods of the current hash at a wanted index. */
  current: PodRecord[];
  /** Pods of another template hash: what the rollout replaces. */
  old: PodRecord[];
  /** Pods of the current hash past `replicas`: a scale-down. */
  excess: PodRecord[];
}

/**
 * One step of a Deployment's rollout, as Kubernetes' deployment controller takes it from what it
 * observes (reconcileNewReplicaSet, then reconcileOldReplicaSets, both on the same observation):
 * - no old pods (a first rollout, a scale, a settled Deployment): create every missing replica and
 *   delete every excess one at once;
 * - Recreate: delete every old pod; create only once none is left;
 * - RollingUpdate: create missing replicas (lowest index first) while all pods stay within
 *   replicas + maxSurge; delete unready old pods (highest index first) while all pods left minus
 *   the unready new ones stay at or above replicas - maxUnavailable (cleanupUnhealthyReplicas:
 *   they hold no availability, so a rollout whose old pods all crash still moves, yet they are not
 *   all dropped at once), then ready old pods, highest index first, while the ready pods left stay
 *   at or above replicas - maxUnavailable.
 * Excess pods of the current hash always go at once, as in a plain scale-down.
 */
function stepRollout(d: DeploymentObject, r: Rollout, ready: ReadonlySet<string>): { create: PodRecord[]; delete: PodRecord[] } {
  const replicas = Math.max(0, Math.floor(d.spec.replicas));
  if (r.old.length === 0) return { create: r.missing, delete: r.excess };
  if (d.spec.strategy.type === 'Recreate') return { create: [], delete: [...r.excess, ...r.old] };

  const { maxSurge, maxUnavailable } = resolveRollout(d.spec.strategy, replicas);
  const isReady = (p: PodRecord): boolean => ready.has(keyOf(p));
  const all = r.current.length + r.old.length;
  const create = r.missing.slice(0, Math.max(0, replicas + maxSurge - all));

  const minAvailable = replicas - maxUnavailable;
  const newUnready = r.current.filter((p) => !isReady(p)).length;
  const byIndexDown = (a: PodRecord, b: PodRecord): number => indexOf(b) - indexOf(a) || byKey(a, b);
  const unreadyOld = r.old.filter((p) => !isReady(p)).sort(byIndexDown);
  const readyOld = r.old.filter(isReady).sort(byIndexDown);
  const readyCount = r.current.length - newUnready + readyOld.length;
  const remove = [
    ...unreadyOld.slice(0, Math.max(0, all - minAvailable - newUnready)),
    ...readyOld.slice(0, Math.max(0, readyCount - minAvailable)),
  ];
  return { create, delete: [...r.excess, ...remove] };
}

/**
 * Diff the pods the sealed Deployments want against the pods that exist, one rollout step at a time
 * (stepRollout). Replicas are named deterministically, so the plan is idempotent and a restarted
 * controller recomputes the same one. Every pod of a planned source that no Deployment owns (its
 * Deployment is gone) is deleted at once.
 */
export function planPods(deployments: DesiredDeployment[], pods: PodRecord[], now: Date, opts: PlanPodsOptions = {}): PodPlan {
  const sources = new Set(opts.sources ?? deployments.map((d) => d.source));
  const ready = opts.ready ?? new Set<string>();
  const existing = new Map(pods.map((p) => [keyOf(p), p]));
  const byOwner = new Map<string, PodRecord[]>();
  for (const p of pods) {
    const list = byOwner.get(podOwner(p));
    if (list) list.push(p);
    else byOwner.set(podOwner(p), [p]);
  }
  // Pod key → the owner that gets it; the first Deployment in sort order wins a contested name.
  const wanted = new Map<string, string>();
  const owners = new Set<string>();
  const create: PodRecord[] = [];
  const remove: PodRecord[] = [];
  const conflicts: PodConflict[] = [];

  const ordered = [...deployments].sort(
    (a, b) => compareText(a.source, b.source) || compareText(a.object.namespace, b.object.namespace) || compareText(a.object.name, b.object.name),
  );
  for (const d of ordered) {
    const { namespace, name, spec } = d.object;
    const owner = ownerOf(d.source, namespace, name);
    owners.add(owner);
    const hash = templateHash(spec.template, d.inputs);
    const r: Rollout = { missing: [], current: [], old: [], excess: [] };
    for (let i = 0; i < Math.max(0, Math.floor(spec.replicas)); i++) {
      const pod = podName(name, hash, i);
      const key = podKey(namespace, pod);
      const held = existing.get(key);
      const holder = wanted.get(key) ?? (held ? podOwner(held) : undefined);
      if (holder !== undefined && holder !== owner) {
        conflicts.push({ key, wantedBy: owner, heldBy: holder });
        continue;
      }
      wanted.set(key, owner);
      if (held) {
        r.current.push(held);
        continue;
      }
      r.missing.push({
        type: 'pod',
        namespace,
        name: pod,
        owner: { source: d.source, kind: 'Deployment', name },
        templateHash: hash,
        template: spec.template,
        commit: d.commit,
        createdAt: now.toISOString(),
      });
    }
    for (const p of byOwner.get(owner) ?? []) {
      if (wanted.get(keyOf(p)) === owner) continue;
      (p.templateHash === hash ? r.excess : r.old).push(p);
    }
    const step = stepRollout(d.object, r, ready);
    create.push(...step.create);
    remove.push(...step.delete.filter((p) => sources.has(p.owner.source)));
  }

  const scope = opts.owners;
  remove.push(...pods.filter((p) => sources.has(p.owner.source) && !owners.has(podOwner(p)) && (scope === undefined || scope.has(podOwner(p)))));
  return {
    create: create.sort(byKey),
    delete: remove.sort(byKey),
    conflicts: conflicts.sort((a, b) => compareText(a.key, b.key) || compareText(a.wantedBy, b.wantedBy)),
  };
}
