// The I/O of the read side: what the views need, read from the store. Thin on purpose.
import {
  CORDONS, ENDPOINTS, EVENTS, HEALTH, HISTORY, LOST_NODES, NODES, PODS, STATUS, SUSPENDED, SYNC_ERRORS, decodeAll, historyPrefix, listDecoded, readAllSealed,
  type RecordOf, type StoredRecord, type Store,
} from '../store/index.js';
import type { CordonRecord, NodeLostRecord, EndpointsRecord, EventRecord, HealthRecord, HistoryRecord, NodeRecord, PodRecord, PodStatusRecord, SealRecord, SuspensionRecord, SyncErrorRecord } from '../store/records.js';
import type { SealedDeployment } from './views.js';
import { deploymentInputs } from '../manifest/index.js';

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

/** The records under `prefix` (at `revision` if given); those that do not decode are named in `skipped`. */
async function listRecords<T extends StoredRecord['type']>(
  store: Store,
  prefix: string,
  type: T,
  skipped: string[],
  revision?: number,
): Promise<{ records: RecordOf<T>[]; revision: number }> {
  const { items, revision: at } = await listDecoded(store, prefix, type, { onCorrupt: (c) => skipped.push(c.reason), ...(revision === undefined ? {} : { revision }) });
  return { records: items.map((i) => i.record), revision: at };
}

/** Pods, statuses and nodes at the revision of the pod list, so the three agree with each other. */
export async function readCluster(store: Store): Promise<ClusterState> {
  const skipped: string[] = [];
  const { records: pods, revision } = await listRecords(store, PODS, 'pod', skipped);
  const { records: statuses } = await listRecords(store, STATUS, 'podStatus', skipped, revision);
  const { records: nodes } = await listRecords(store, NODES, 'node', skipped, revision);
  return { pods, statuses, nodes, skipped };
}

/** The cluster as `berth get nodes` shows it: also the NotReady nodes and the cordons, at the same revision. */
export async function readNodes(store: Store): Promise<ClusterState & { lost: NodeLostRecord[]; cordons: CordonRecord[] }> {
  const skipped: string[] = [];
  const { records: pods, revision } = await listRecords(store, PODS, 'pod', skipped);
  const { records: nodes } = await listRecords(store, NODES, 'node', skipped, revision);
  const { records: lost } = await listRecords(store, LOST_NODES, 'nodeLost', skipped, revision);
  const { records: cordons } = await listRecords(store, CORDONS, 'cordon', skipped, revision);
  return { pods, statuses: [], nodes, lost, cordons, skipped };
}

/**
 * Every source's seal and its Deployments as of the seal (the store's readAllSealed), so a
 * half-written commit never shows. A read that is not exact (the seal's revision compacted while a
 * newer commit is half-written) shows what is left of the sealed state, and says so in `skipped`.
 */
export async function readSealed(store: Store): Promise<SealedState> {
  const skipped: string[] = [];
  const { sealed, corrupt } = await readAllSealed(store);
  for (const c of corrupt) skipped.push(c.reason);
  const deployments: SealedDeployment[] = [];
  for (const s of sealed) {
    if (!s.exact) skipped.push(`source ${s.source}: the revision of its seal was compacted while a newer commit is being applied; objects that commit changed are not shown`);
    const { items, corrupt: bad } = decodeAll('desired', s.entries);
    for (const c of bad) skipped.push(c.reason);
    const inputs = deploymentInputs(items.map((i) => i.record.object));
    for (const { record } of items) {
      if (record.object.kind !== 'Deployment') continue;
      const read = inputs.get(record.object);
      deployments.push({ source: s.source, object: record.object, commit: record.commit, ...(read === undefined ? {} : { inputs: read }) });
    }
  }
  return { seals: sealed.map((s) => s.seal), deployments, skipped };
}

/** Every record under `prefix`; those that do not decode are named in `skipped`. */
async function readAll<T extends StoredRecord['type']>(store: Store, prefix: string, type: T): Promise<{ records: RecordOf<T>[] } & Skipping> {
  const skipped: string[] = [];
  const { records } = await listRecords(store, prefix, type, skipped);
  return { records, skipped };
}

/** The `berth/health` last reported per source (by the controller). */
export function readHealth(store: Store): Promise<{ records: HealthRecord[] } & Skipping> {
  return readAll(store, HEALTH, 'health');
}

/** The history records of `source`, or of every source, in key (sequence) order. */
export function readHistory(store: Store, source?: string): Promise<{ records: HistoryRecord[] } & Skipping> {
  return readAll(store, source === undefined ? HISTORY : historyPrefix(source), 'history');
}

/** Every event still kept, in key order (eventViews orders them by time). */
export function readEvents(store: Store): Promise<{ records: EventRecord[] } & Skipping> {
  return readAll(store, EVENTS, 'event');
}

/** Why sync of a source is stuck, per source that is (written by sync after a while of failing). */
export function readSyncErrors(store: Store): Promise<{ records: SyncErrorRecord[] } & Skipping> {
  return readAll(store, SYNC_ERRORS, 'syncError');
}

/** The suspended sources (`berth suspend`, or rolled back). */
export function readSuspensions(store: Store): Promise<{ records: SuspensionRecord[] } & Skipping> {
  return readAll(store, SUSPENDED, 'suspension');
}

/** Every Service's endpoints record (kept by the controller). */
export function readEndpoints(store: Store): Promise<{ records: EndpointsRecord[] } & Skipping> {
  return readAll(store, ENDPOINTS, 'endpoints');
}
