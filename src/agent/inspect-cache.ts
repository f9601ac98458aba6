// Inspects kept between lists (DockerRuntime.list): a round inspected each of a node's containers (200
// requests and their JSON for 100 pods, every round). A container's inspect is reused while nothing says it
// changed: no Docker event for it since its inspect began, no call of this process that changed it, and
// its list entry the same (listKey). Only while an event stream that covers it has opened and settled, so
// that no event can have been missed; a stream that breaks or closes drops every entry. Pure: the caller
// says when a stream settled or broke, and what it saw.
import type { Container } from './runtime.js';
import { hasLabels } from './runtime.js';

/** Docker actions that change nothing an inspect tells berth: exec's and attach's churn (a probe's exec makes three). */
const UNCHANGING = new Set(['exec_create', 'exec_start', 'exec_die', 'exec_detach', 'attach', 'detach', 'resize', 'top', 'copy', 'archive-path', 'extract-to-dir', 'export', 'commit']);

interface Entry {
  /** The list entry the container had when it was inspected (listKey). */
  key: string;
  container: Container;
}

/** What DockerRuntime.list keeps of each container's inspect, and what tells it that an inspect is stale. */
export class InspectCache {
  /** Counts changes heard (events, own calls, streams settled or broken); an inspect is stamped with it when it begins. */
  private seq = 0;
  /** Inspects begun before this stamp are not kept: a stream settled or broke since. */
  private trustedFrom = 0;
  /** The stamp of the last change heard of each container, while inspects are under way (then forgotten). */
  private readonly touched = new Map<string, number>();
  private inFlight = 0;
  private readonly entries = new Map<string, Entry>();
  /** The label filters of the event streams that are open and settled, by token. */
  private readonly streams = new Map<number, Record<string, string>>();
  private lastToken = 0;

  /** An event stream of the containers carrying `labels` is open and settled: every change from now on reaches touch(). */
  watching(labels: Record<string, string>): number {
    const token = ++this.lastToken;
    this.streams.set(token, labels);
    this.reset();
    return token;
  }

  /** The stream `token` broke or closed: a change may go unheard, so nothing kept is trusted. */
  unwatch(token: number): void {
    if (this.streams.delete(token)) this.reset();
  }

  /** Container `id` changed or may have (an event with `action`, or a call of this process): its inspect is stale. */
  touch(id: string, action = 'changed'): void {
    if (UNCHANGING.has(action)) return;
    this.entries.delete(id);
    if (this.inFlight > 0) this.touched.set(id, ++this.seq);
  }

  /** The kept inspect of `id`, when its list entry is still `key`. */
  lookup(id: string, key: string): Container | undefined {
    const e = this.entries.get(id);
    return e?.key === key ? e.container : undefined;
  }

  /** An inspect begins: its stamp, for done(). */
  begin(): number {
    this.inFlight++;
    return this.seq;
  }

  /**
   * The inspect stamped `at` of `id` (listed as `key` under `labels`) ended with `container` (undefined: it
   * failed or the container is gone). Kept only when a settled stream covers `labels` and nothing changed
   * since the inspect began.
   */
  done(at: number, id: string, key: string, labels: Record<string, string>, container: Container | undefined): void {
    this.inFlight--;
    const fresh = at >= this.trustedFrom && (this.touched.get(id) ?? -1) <= at;
    if (container !== undefined && fresh && this.covers(labels)) this.entries.set(id, { key, container });
    if (this.inFlight === 0) this.touched.clear();
  }

  /** A list under `labels` found exactly `ids`: entries of the others that carry `labels` are of gone containers. */
  retain(labels: Record<string, string>, ids: ReadonlySet<string>): void {
    for (const [id, e] of this.entries) if (!ids.has(id) && hasLabels(e.container.labels, labels)) this.entries.delete(id);
  }

  /** How many inspects are kept (for tests and the bench). */
  get size(): number {
    return this.entries.size;
  }

  /** True when a settled stream hears every container carrying `labels`: its filter asks for no more than they carry. */
  private covers(labels: Record<string, string>): boolean {
    for (const s of this.streams.values()) if (hasLabels(labels, s)) return true;
    return false;
  }

  private reset(): void {
    this.entries.clear();
    this.trustedFrom = ++this.seq;
  }
}
