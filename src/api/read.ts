// The I/O of the read side: what the views need, read from the store. Thin on purpose.
import { messageOf } from '../errors.js';
import {
  CompactedError, EVENTS, HEALTH, HISTORY, NODES, PODS, SOURCES, STATUS, SYNC_ERRORS, decode, desiredPrefix, historyPrefix,
  type StoredRecord, type Store,
} from '../store/index.js';
import type { EventRecord, HealthRecord, HistoryRecord, NodeRecord, PodRecord, PodStatusRecord, SealRecord, SyncErrorRecord } from '../store/records.js';
import type { SealedDeployment } from './views.js';

/** Records read for display; values that do not decode are skipped and named in `skipped`, not fatal. */
interface Skipping {
  skipped: string[];
}

/** Pods, their statuses and the registered nodes, all read at one etcd revision. */
export interface ClusterState extends Skipping {
  pods: PodRecord[];
  statuses: PodStatusRecord[];
  nodes: NodeRecord[];
}

/** Every source's seal and the Deployments of its sealed commit. */
export interface SealedState extends Skipping {
  seals: SealRecord[];
  deployments: SealedDeployment[];
}

type Decoded<T extends StoredRecord['type']> = Extract<StoredRecord, { type: T }>;

async function listRecords<T extends StoredRecord['type']>(
  store: Store,
  prefix: string,
  type: T,
  skipped: string[],
  revision?: number,
): Promise<{ records: Decoded<T>[]; revision: number }> {
  const { entries, revision: at } = await store.list(prefix, revision === undefined ? {} : { revision });
  const records: Decoded<T>[] = [];
  for (const e of entries) {
    try {
      records.push(decode(type, e.key, e.value));
    } catch (err) {
      skipped.push(messageOf(err));
    }
  }
  return { records, revision: at };
}

/** Pods, statuses and nodes at the revision of the pod list, so the three agree with each other. */
export async function readCluster(store: Store): Promise<ClusterState> {
  const skipped: string[] = [];
  const { records: pods, revision } = await listRecords(store, PODS, 'pod', skipped);
  const { records: statuses } = await listRecords(store, STATUS, 'podStatus', skipped, revision);
  const { records: nodes } = await listRecords(store, NODES, 'node', skipped, revision);
  return { pods, statuses, nodes, skipped };
}

/**
 * Each seal, then that source's Deployments at the sealed revision, so a half-written commit never
 * shows. If etcd compacted the revision away, the latest entries are shown: fine for display (the
 * controller, which acts on them, is stricter).
 */
export async function readSealed(store: Store): Promise<SealedState> {
  const skipped: string[] = [];
  const { records: seals } = await listRecords(store, SOURCES, 'seal', skipped);
  const deployments: SealedDeployment[] = [];
  for (const seal of seals) {
    const desired = await listRecords(store, desiredPrefix(seal.source), 'desired', skipped, seal.revision).catch((err: unknown) => {
      if (err instanceof CompactedError) return listRecords(store, desiredPrefix(seal.source), 'desired', skipped);
      throw err;
    });
    for (const r of desired.records) {
      if (r.object.kind === 'Deployment') deployments.push({ source: seal.source, object: r.object, commit: r.commit });
    }
  }
  return { seals, deployments, skipped };
}

/** The `berth/health` last reported per source (by the controller). */
export async function readHealth(store: Store): Promise<{ records: HealthRecord[] } & Skipping> {
  const skipped: string[] = [];
  const { records } = await listRecords(store, HEALTH, 'health', skipped);
  return { records, skipped };
}

/** The history records of `source`, or of every source, in key (sequence) order. */
export async function readHistory(store: Store, source?: string): Promise<{ records: HistoryRecord[] } & Skipping> {
  const skipped: string[] = [];
  const { records } = await listRecords(store, source === undefined ? HISTORY : historyPrefix(source), 'history', skipped);
  return { records, skipped };
}

/** Every event still kept, in key order (eventViews orders them by time). */
export async function readEvents(store: Store): Promise<{ records: EventRecord[] } & Skipping> {
  const skipped: string[] = [];
  const { records } = await listRecords(store, EVENTS, 'event', skipped);
  return { records, skipped };
}

/** Why sync of a source is stuck, per source that is (written by sync after a while of failing). */
export async function readSyncErrors(store: Store): Promise<{ records: SyncErrorRecord[] } & Skipping> {
  const skipped: string[] = [];
  const { records } = await listRecords(store, SYNC_ERRORS, 'syncError', skipped);
  return { records, skipped };
}
