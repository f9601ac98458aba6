import { createHash } from 'node:crypto';
import { templateHash, type DeploymentObject } from '../manifest/index.js';
import { podKey, type PodRecord } from '../store/index.js';

/** One Deployment of a sealed commit, as the controller read it at the sealed revision. */
export interface DesiredDeployment {
  source: string;
  object: DeploymentObject;
  /** The commit that last changed the object; new pods carry it. */
  commit: string;
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
 * What the controller should do to the pods, each list sorted by pod key.
 * NOTE: for now a template change replaces every pod of a Deployment in one plan (create the new,
 * delete the old). Rolling updates within maxSurge/maxUnavailable will bound how many of `create`
 * and `delete` each step carries, using pod readiness; they add fields here, not a new shape.
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

/** 5 hex characters of the sha256 of a name: keeps cut pod names of different Deployments apart. */
function shortDigest(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 5);
}

const ownerOf = (source: string, namespace: string, name: string): string => `${source}:${namespace}/${name}`;
const podOwner = (p: PodRecord): string => ownerOf(p.owner.source, p.namespace, p.owner.name);
const keyOf = (p: PodRecord): string => podKey(p.namespace, p.name);
const byKey = (a: PodRecord, b: PodRecord): number => compare(keyOf(a), keyOf(b));

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Diff the pods the sealed Deployments want against the pods that exist. Replicas are named
 * deterministically, so the plan is idempotent and a restarted controller recomputes the same one.
 * A pod is deleted when its source is planned for and no Deployment wants exactly that pod: its
 * Deployment is gone, its template hash is stale, or its index is past `replicas`.
 */
export function planPods(deployments: DesiredDeployment[], pods: PodRecord[], now: Date, opts: PlanPodsOptions = {}): PodPlan {
  const sources = new Set(opts.sources ?? deployments.map((d) => d.source));
  const existing = new Map(pods.map((p) => [keyOf(p), p]));
  // Pod key → the owner that gets it; the first Deployment in sort order wins a contested name.
  const wanted = new Map<string, string>();
  const create: PodRecord[] = [];
  const conflicts: PodConflict[] = [];

  const ordered = [...deployments].sort(
    (a, b) => compare(a.source, b.source) || compare(a.object.namespace, b.object.namespace) || compare(a.object.name, b.object.name),
  );
  for (const d of ordered) {
    const { namespace, name, spec } = d.object;
    const owner = ownerOf(d.source, namespace, name);
    const hash = templateHash(spec.template);
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
      if (held) continue;
      create.push({
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
  }

  const remove = pods.filter((p) => sources.has(p.owner.source) && wanted.get(keyOf(p)) !== podOwner(p));
  return {
    create: create.sort(byKey),
    delete: remove.sort(byKey),
    conflicts: conflicts.sort((a, b) => compare(a.key, b.key) || compare(a.wantedBy, b.wantedBy)),
  };
}
