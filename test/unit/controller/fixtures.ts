import { hashObject } from '../../../src/manifest/index.js';
import type { DeploymentObject, DesiredObject } from '../../../src/manifest/types.js';
import { sourceKey, type Store, type Txn } from '../../../src/store/index.js';
import { applyCommit as syncApply, type HeadCommit } from '../../../src/sync/index.js';
import { template, type PodShape } from '../scheduler/fixtures.js';

/** When the commits of these tests were made and applied. */
const APPLIED_AT = new Date('2025-06-01T12:00:00.000Z'); // when the health loop's clock starts: a rollout's progress deadline counts from here

/** A normalized Deployment named `name`; its pod template is shaped by `pod`; strategy: Kubernetes' default. */
export function deployment(
  name: string,
  o: { replicas?: number; namespace?: string; pod?: PodShape; strategy?: DeploymentObject['spec']['strategy']; minReadySeconds?: number; progressDeadlineSeconds?: number } = {},
): DeploymentObject {
  const meaning = {
    kind: 'Deployment' as const,
    namespace: o.namespace ?? 'default',
    name,
    labels: {},
    spec: {
      replicas: o.replicas ?? 1,
      strategy: o.strategy ?? { type: 'RollingUpdate' as const, maxSurge: '25%', maxUnavailable: '25%' },
      template: template({ owner: name, ...o.pod }),
      minReadySeconds: o.minReadySeconds ?? 0,
      progressDeadlineSeconds: o.progressDeadlineSeconds ?? 600,
    },
  };
  // The hash the parser would give it: sync's apply tells a changed object by it.
  return { ...meaning, path: `${name}.yaml`, line: 1, hash: hashObject(meaning) };
}

function head(commit: string): HeadCommit {
  return { commit, author: 'test <test@localhost>', message: commit, time: APPLIED_AT.toISOString() };
}

/** Apply one commit of `source` with sync's own apply: its objects, then its seal. */
export async function applyCommit(store: Store, source: string, commit: string, objects: DesiredObject[]): Promise<void> {
  await syncApply(store, source, head(commit), objects, APPLIED_AT);
}

/** What a sync that dies at its seal throws, in {@link writeDesired}. */
class DiedBeforeSeal extends Error {}

/**
 * Half-apply one commit of `source`: sync's own apply writes its objects and dies just before the
 * seal (a crash, a lost etcd), so readers at the seal still see the commit before. Returns the
 * revision at which the unsealed objects are all visible.
 */
export async function writeDesired(store: Store, source: string, commit: string, objects: DeploymentObject[]): Promise<number> {
  const dying = new Proxy(store, {
    get(target, prop) {
      if (prop === 'commit') {
        return (txn: Txn) => {
          if (txn.put?.some((p) => p.key === sourceKey(source))) throw new DiedBeforeSeal(`sync died before sealing ${commit}`);
          return target.commit(txn);
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  await syncApply(dying, source, head(commit), objects, APPLIED_AT).then(
    () => {
      throw new Error(`the apply of ${commit} wrote no seal to die at`);
    },
    (error: unknown) => {
      if (!(error instanceof DiedBeforeSeal)) throw error;
    },
  );
  return store.revision();
}
