import type { Condition, ContainerStatus, PodRecord, PodStatusRecord, StoredRecord } from './records.js';

type Template = PodRecord['template'];

/**
 * Values many records of a cache repeat, held once: a pod's template (the replicas of a Deployment
 * share one), and strings of few distinct values (namespaces, nodes, commits, owners, template
 * hashes, condition types and reasons); JSON.parse makes each record's copy afresh. Templates are
 * held weakly (one no record uses any more is forgotten); the strings grow only with new nodes,
 * commits and rollouts, never with status writes (no timestamp or message is kept here).
 */
export class Interner {
  private readonly strings = new Map<string, string>();
  private readonly templates = new Map<string, WeakRef<Template>>();
  private readonly forgotten = new FinalizationRegistry<string>((key) => {
    if (this.templates.get(key)?.deref() === undefined) this.templates.delete(key);
  });

  /** `record` with its repeated values replaced by the ones held (changed in place: it was just decoded). */
  compact<T extends StoredRecord>(record: T): T {
    if (record.type === 'pod') this.pod(record);
    else if (record.type === 'podStatus') this.status(record);
    return record;
  }

  private s<T extends string>(value: T): T;
  private s<T extends string>(value: T | undefined): T | undefined;
  private s<T extends string>(value: T | undefined): T | undefined {
    if (value === undefined) return undefined;
    const held = this.strings.get(value);
    if (held !== undefined) return held as T;
    this.strings.set(value, value);
    return value;
  }

  private pod(p: PodRecord): void {
    p.namespace = this.s(p.namespace);
    p.owner = { source: this.s(p.owner.source), kind: this.s(p.owner.kind), name: this.s(p.owner.name) };
    p.templateHash = this.s(p.templateHash);
    p.commit = this.s(p.commit);
    if (p.node !== undefined) p.node = this.s(p.node);
    const key = JSON.stringify(p.template);
    const held = this.templates.get(key)?.deref();
    if (held !== undefined) {
      p.template = held;
      return;
    }
    this.templates.set(key, new WeakRef(p.template));
    this.forgotten.register(p.template, key);
  }

  private status(s: PodStatusRecord): void {
    s.node = this.s(s.node);
    s.namespace = this.s(s.namespace);
    s.templateHash = this.s(s.templateHash);
    if (s.hostIP !== undefined) s.hostIP = this.s(s.hostIP);
    for (const c of s.conditions) this.condition(c);
    for (const c of s.containers) this.container(c);
    for (const c of s.initContainers ?? []) this.container(c);
  }

  private condition(c: Condition): void {
    c.type = this.s(c.type);
    c.reason = this.s(c.reason);
    if (c.observedCommit !== undefined) c.observedCommit = this.s(c.observedCommit);
  }

  private container(c: ContainerStatus): void {
    c.name = this.s(c.name);
    if (c.reason !== undefined) c.reason = this.s(c.reason);
  }
}
