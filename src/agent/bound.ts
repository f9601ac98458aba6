import { messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import { podKey } from '../store/keys.js';
import { decode, type BindingRecord, type StoredBinding } from '../store/records.js';
import { CompactedError, type Entry, type Store } from '../store/store.js';
import type { PodTemplate } from '../manifest/types.js';

/** What joining a node's bindings with their pods gave. */
export interface Joined {
  bindings: BindingRecord[];
  /** `<namespace>/<pod>` of bindings whose pod could not be read: their containers are left alone. */
  hold: Set<string>;
}

/**
 * Joins small bindings with the template of the pod each names (`pods/<namespace>/<pod>`), read at
 * the revision the bindings were listed at (the scheduler writes both in one txn). A pod's template
 * never changes under one name and hash, so each is read once and kept while the binding lasts.
 * A binding that still carries its template (an older berth's) is run as it is.
 */
export class BoundPods {
  private readonly templates = new Map<string, PodTemplate>();
  private readonly reported = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
  ) {}

  async join(bindings: readonly { binding: StoredBinding; entry: Entry }[], revision: number): Promise<Joined> {
    const out: Joined = { bindings: [], hold: new Set() };
    const keep = new Set<string>();
    for (const { binding: b, entry } of bindings) {
      const ref = `${b.namespace}/${b.pod}`;
      if (b.template !== undefined) {
        out.bindings.push({ ...b, template: b.template });
        continue;
      }
      const id = `${ref}@${b.templateHash}`;
      keep.add(id);
      const template = this.templates.get(id) ?? (await this.read(b, revision, entry.key));
      if (template === undefined) {
        out.hold.add(ref);
        continue;
      }
      this.templates.set(id, template);
      out.bindings.push({ ...b, template });
    }
    for (const id of this.templates.keys()) if (!keep.has(id)) this.templates.delete(id);
    return out;
  }

  private async read(b: StoredBinding, revision: number, bindingKey: string): Promise<PodTemplate | undefined> {
    const key = podKey(b.namespace, b.pod);
    // At the bindings' revision, where the pod is as the scheduler bound it; a compacted one: the latest.
    const entry = await this.store.get(key, { revision }).catch((err: unknown) => {
      if (err instanceof CompactedError) return this.store.get(key);
      throw err;
    });
    let why: string | undefined;
    if (entry === undefined) why = 'its pod record is gone';
    else {
      try {
        const pod = decode('pod', entry.key, entry.value);
        if (pod.templateHash === b.templateHash) return pod.template;
        why = `its pod has template ${pod.templateHash}, the binding ${b.templateHash}`;
      } catch (err) {
        why = messageOf(err);
      }
    }
    // Kubelet's rule: never delete what it was not told about. Keep that pod's containers as they are.
    const id = `${bindingKey}:${why}`;
    if (!this.reported.has(id)) this.log.error({ key: bindingKey, err: why }, 'binding without a readable pod; leaving its containers alone');
    this.reported.add(id);
    return undefined;
  }
}
