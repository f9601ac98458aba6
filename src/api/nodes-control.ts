// The write side of a node: cordon, drain, uncordon (`cordons/<node>`, which the scheduler and the
// controller's node lifecycle loop watch). Etcd keys only, so every API server agrees.
import { BerthError } from '../errors.js';
import { cordonKey, decode, encode, lostNodeKey, nodeKey, type CordonRecord, type Store } from '../store/index.js';

/** The answer of cordon, drain and uncordon: the node's cordon afterwards, and whether this request changed it. */
export interface NodeControlView {
  node: string;
  /** No new pod is scheduled on it. */
  unschedulable: boolean;
  /** Its pods are being moved off. */
  draining: boolean;
  changed: boolean;
}

/** Cordon `node` (with `drain`, also move its pods off): created, or turned into a drain; a repeat changes nothing. */
export async function cordonNode(store: Store, node: string, drain: boolean, now: Date): Promise<NodeControlView> {
  await knownNode(store, node);
  const key = cordonKey(node);
  const held = await store.get(key);
  const current = held && decode('cordon', held.key, held.value);
  if (current && (current.drain || !drain)) return view(node, current, false);
  const record: CordonRecord = { type: 'cordon', name: node, since: current?.since ?? now.toISOString(), drain };
  const { ok } = await store.commit({ ifUnchanged: { [key]: held?.modRevision ?? 0 }, put: [{ key, value: encode(record) }] });
  // Lost to another request: what it wrote is the answer.
  return ok ? view(node, record, true) : cordonNode(store, node, drain, now);
}

/** Uncordon `node`: pods may be scheduled on it again (a drain in progress stops). */
export async function uncordonNode(store: Store, node: string): Promise<NodeControlView> {
  await knownNode(store, node);
  const held = await store.get(cordonKey(node));
  if (held) await store.commit({ del: [cordonKey(node)] });
  return { node, unschedulable: false, draining: false, changed: held !== undefined };
}

function view(node: string, record: CordonRecord, changed: boolean): NodeControlView {
  return { node, unschedulable: true, draining: record.drain, changed };
}

/** A node berth knows: registered, or NotReady. */
async function knownNode(store: Store, node: string): Promise<void> {
  if ((await store.get(nodeKey(node))) || (await store.get(lostNodeKey(node)))) return;
  throw new BerthError('ENOTFOUND', `no node ${node}`, { hint: '`berth get nodes` lists the nodes' });
}
