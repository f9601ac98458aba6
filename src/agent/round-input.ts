// What one round of the agent starts from, read from etcd: this node's bindings joined with their
// pods' templates, the pod statuses it wrote last, and the restart back-off those statuses keep.
import type { Logger } from '../log.js';
import { messageOf } from '../errors.js';
import type { Entry, Store } from '../store/store.js';
import type { BindingRecord, PodStatusRecord, StoredBinding } from '../store/records.js';
import { decode } from '../store/records.js';
import { bindingsPrefix, statusPrefix } from '../store/keys.js';
import { BoundPods } from './bound.js';
import { podRef, slotKey } from './labels.js';

/** One round's view of etcd. */
export interface RoundInput {
  bindings: BindingRecord[];
  /** `<namespace>/<pod>` of bindings that cannot be read (or whose pod cannot): their containers are left alone. */
  hold: Set<string>;
  /** The statuses this node wrote, by `<namespace>/<pod>` (unreadable ones left out: they are rewritten). */
  previous: Map<string, PodStatusRecord>;
  /** The keys of every status this node wrote. */
  statusKeys: string[];
  /** Per slot (`<namespace>/<pod>/<container>`) of the same template: restarts counted in its back-off. */
  backOff: Map<string, number>;
}

/** Reads a node's bindings and statuses for each round. */
export class RoundReader {
  private readonly boundPods: BoundPods;
  /** Unreadable binding versions already logged (`<key>@<modRevision>`). */
  private readonly reported = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly node: string,
    private readonly log: Logger,
  ) {
    this.boundPods = new BoundPods(store, log);
  }

  async read(): Promise<RoundInput> {
    const { store, node } = this;
    const [bound, written] = await Promise.all([store.list(bindingsPrefix(node)), store.list(statusPrefix(node))]);
    const stored: { binding: StoredBinding; entry: Entry }[] = [];
    const hold = new Set<string>();
    for (const e of bound.entries) {
      try {
        const b = decode('binding', e.key, e.value);
        stored.push({ binding: b.node === node ? b : { ...b, node }, entry: e });
      } catch (err) {
        // Kubelet's rule: never delete what it was not told about. Keep that pod's containers as they are.
        hold.add(e.key.slice(bindingsPrefix(node).length));
        const id = `${e.key}@${e.modRevision}`;
        if (!this.reported.has(id)) this.log.error({ key: e.key, err: messageOf(err) }, 'unreadable binding; leaving its containers alone');
        this.reported.add(id);
      }
    }
    const joined = await this.boundPods.join(stored, bound.revision);
    for (const ref of joined.hold) hold.add(ref);
    const previous = new Map<string, PodStatusRecord>();
    for (const e of written.entries) {
      try {
        previous.set(e.key.slice(statusPrefix(node).length), decode('podStatus', e.key, e.value));
      } catch {
        // An unreadable status is simply rewritten.
      }
    }
    return { bindings: joined.bindings, hold, previous, statusKeys: written.entries.map((e) => e.key), backOff: backOffOf(joined.bindings, previous) };
  }
}

/** The back-off lives in the pod status in etcd, so an agent restart (or a new agent of this node) keeps it. */
function backOffOf(bindings: readonly BindingRecord[], previous: ReadonlyMap<string, PodStatusRecord>): Map<string, number> {
  const backOff = new Map<string, number>();
  for (const b of bindings) {
    const prev = previous.get(podRef(b.namespace, b.pod));
    if (prev?.templateHash !== b.templateHash) continue;
    // A status written before berth kept `backOff` counts every restart as part of the loop.
    for (const c of [...(prev.initContainers ?? []), ...prev.containers]) backOff.set(slotKey(b.namespace, b.pod, c.name), c.backOff ?? c.restarts);
  }
  return backOff;
}
