import type { DesiredObject } from '../manifest/types.js';
import { objectKey } from '../manifest/types.js';
import { planDesired, type DesiredPlan } from '../manifest/index.js';
import {
  MAX_TXN_OPS, decode, desiredKey, desiredPrefix, encode, historyKey, sourceKey,
  type HistoryRecord, type SealRecord, type Store, type Txn,
} from '../store/index.js';
import { ConflictError } from '../errors.js';
import type { HeadCommit } from './source.js';

/** What one apply did. */
export interface ApplyResult {
  seal: SealRecord;
  plan: DesiredPlan;
}

/** The objects the last seal of `source` made visible, read at the sealed revision. */
export async function readSealed(store: Store, source: string): Promise<{ seal: SealRecord | undefined; sealRevision: number; objects: DesiredObject[] }> {
  const entry = await store.get(sourceKey(source));
  if (!entry) return { seal: undefined, sealRevision: 0, objects: [] };
  const seal = decode('seal', entry.key, entry.value);
  // Objects written after the seal (a half-applied later commit) are not part of it.
  const { entries } = await store.list(desiredPrefix(source), { revision: seal.revision });
  return { seal, sealRevision: entry.modRevision, objects: entries.map((e) => decode('desired', e.key, e.value).object) };
}

/**
 * Make `objects` the desired state of `source` as of `head`: write the changed objects in txns of at
 * most MAX_TXN_OPS, then the seal (and its history record) last, so readers at the sealed revision
 * see the whole commit or none of it.
 */
export async function applyCommit(store: Store, source: string, head: HeadCommit, objects: DesiredObject[], now: Date): Promise<ApplyResult> {
  const { seal: prev, sealRevision, objects: current } = await readSealed(store, source);
  const plan = planDesired(objects, current);
  const ops: { put?: { key: string; value: string }; del?: string }[] = [
    ...[...plan.create, ...plan.update.map((u) => u.to)].map((o) => ({
      put: { key: desiredKey(source, objectKey(o)), value: encode({ type: 'desired', object: o, commit: head.commit }) },
    })),
    ...plan.delete.map((o) => ({ del: desiredKey(source, objectKey(o)) })),
  ];
  let revision = await store.revision();
  for (let i = 0; i < ops.length; i += MAX_TXN_OPS) {
    const chunk = ops.slice(i, i + MAX_TXN_OPS);
    const txn: Txn = { put: chunk.flatMap((o) => (o.put ? [o.put] : [])), del: chunk.flatMap((o) => (o.del ? [o.del] : [])) };
    revision = (await store.commit(txn)).revision;
  }
  const counts = { objects: objects.length, created: plan.create.length, updated: plan.update.length, deleted: plan.delete.length };
  const seal: SealRecord = { type: 'seal', source, commit: head.commit, revision, time: now.toISOString(), author: head.author, message: head.message, counts };
  const history: HistoryRecord = {
    type: 'history', source, commit: head.commit, outcome: 'applied', time: now.toISOString(), author: head.author, message: head.message, errors: [], counts,
  };
  const sealed = await store.commit({
    ifUnchanged: { [sourceKey(source)]: prev ? sealRevision : 0 },
    put: [
      { key: sourceKey(source), value: encode(seal) },
      { key: historyKey(source, revision + 1), value: encode(history) },
    ],
  });
  if (!sealed.ok) {
    throw new ConflictError('ESEALRACE', `another sync sealed source ${source} while this one applied ${head.commit.slice(0, 7)}`, {
      hint: 'run one sync per source (or enable leader election); this apply is retried',
    });
  }
  return { seal, plan };
}

/** Record a rejected commit: a history entry only, so what runs does not change. */
export async function recordRejected(store: Store, source: string, head: HeadCommit, errors: string[], now: Date): Promise<void> {
  const record: HistoryRecord = {
    type: 'history', source, commit: head.commit, outcome: 'rejected', time: now.toISOString(), author: head.author, message: head.message, errors,
  };
  const revision = await store.revision();
  await store.commit({ put: [{ key: historyKey(source, revision + 1), value: encode(record) }] });
}
