import type { DeploymentObject } from '../../../src/manifest/types.js';
import { objectKey } from '../../../src/manifest/types.js';
import { desiredKey, desiredPrefix, encode, sourceKey, type SealRecord, type Store } from '../../../src/store/index.js';
import { template, type PodShape } from '../scheduler/fixtures.js';

/** A normalized Deployment named `name`; its pod template is shaped by `pod`; strategy: Kubernetes' default. */
export function deployment(
  name: string,
  o: { replicas?: number; namespace?: string; pod?: PodShape; strategy?: DeploymentObject['spec']['strategy'] } = {},
): DeploymentObject {
  return {
    kind: 'Deployment',
    namespace: o.namespace ?? 'default',
    name,
    labels: {},
    path: `${name}.yaml`,
    line: 1,
    hash: `hash-of-${name}`,
    spec: {
      replicas: o.replicas ?? 1,
      strategy: o.strategy ?? { type: 'RollingUpdate', maxSurge: '25%', maxUnavailable: '25%' },
      template: template({ owner: name, ...o.pod }),
    },
  };
}

/**
 * Write `objects` as the desired state of `source` the way sync does (objects in their own txns,
 * removed ones deleted) without sealing; returns the revision at which they are all visible.
 */
export async function writeDesired(store: Store, source: string, commit: string, objects: DeploymentObject[]): Promise<number> {
  const keep = new Set(objects.map((o) => desiredKey(source, objectKey(o))));
  const { entries } = await store.list(desiredPrefix(source));
  for (const o of objects) {
    await store.commit({ put: [{ key: desiredKey(source, objectKey(o)), value: encode({ type: 'desired', object: o, commit }) }] });
  }
  const gone = entries.map((e) => e.key).filter((k) => !keep.has(k));
  if (gone.length > 0) await store.commit({ del: gone });
  return store.revision();
}

/** Write the seal of `source` pointing at `revision`. */
export async function writeSeal(store: Store, source: string, commit: string, revision: number): Promise<void> {
  const seal: SealRecord = {
    type: 'seal', source, commit, revision, time: new Date(0).toISOString(), author: 'test', message: commit,
    counts: { objects: 0, created: 0, updated: 0, deleted: 0 },
  };
  await store.commit({ put: [{ key: sourceKey(source), value: encode(seal) }] });
}

/** Apply one commit of `source`: write its objects, then seal them (what sync does). */
export async function applyCommit(store: Store, source: string, commit: string, objects: DeploymentObject[]): Promise<void> {
  await writeSeal(store, source, commit, await writeDesired(store, source, commit, objects));
}
