// While a round waits for a pull, the pods waiting for it show its progress in their status
// (ContainerCreating: "pulling image …: 2 of 3 layers done, …"), instead of the last round's words.
import type { Logger } from '../log.js';
import { messageOf } from '../errors.js';
import type { Store } from '../store/store.js';
import type { BindingRecord, PodStatusRecord } from '../store/records.js';
import { encode } from '../store/records.js';
import { statusKey } from '../store/keys.js';
import type { Container } from './runtime.js';
import { podRef } from './labels.js';
import { podStatus, type Problem } from './status.js';

/** Writes pull progress into pod statuses during one round; the round's own status write follows. */
export class PullStatus {
  private bindings = new Map<string, BindingRecord>();
  private observed: Container[] = [];
  private previous: ReadonlyMap<string, PodStatusRecord> = new Map();
  private readonly written = new Set<string>();
  private readonly writes = new Set<Promise<void>>();

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
  ) {}

  /** What the round works from (its bindings, containers and last statuses, by `<namespace>/<pod>`). */
  begin(bindings: readonly BindingRecord[], observed: Container[], previous: ReadonlyMap<string, PodStatusRecord>): void {
    this.bindings = new Map(bindings.map((b) => [podRef(b.namespace, b.pod), b]));
    this.observed = observed;
    this.previous = previous;
  }

  /** Show `line` as the waiting reason of `slots` (`<namespace>/<pod>/<container>`). Best effort, not awaited. */
  report(slots: readonly string[], line: string, now: Date): void {
    const byPod = new Map<string, Map<string, Problem>>();
    for (const slot of slots) {
      const cut = slot.lastIndexOf('/');
      const ref = slot.slice(0, cut);
      const problems = byPod.get(ref) ?? new Map<string, Problem>();
      byPod.set(ref, problems.set(slot.slice(cut + 1), { reason: 'ContainerCreating', message: line }));
    }
    for (const [ref, problems] of byPod) {
      const b = this.bindings.get(ref);
      if (!b) continue;
      const prev = this.previous.get(ref);
      const status = podStatus(b, this.observed, now, { ...(prev ? { previous: prev } : {}), problems });
      this.written.add(ref);
      const write = this.store
        .commit({ put: [{ key: statusKey(b.node, b.namespace, b.pod), value: encode(status) }] })
        .then(() => undefined)
        .catch((err: unknown) => this.log.debug({ pod: ref, err: messageOf(err) }, 'cannot write pull progress'))
        .finally(() => this.writes.delete(write));
      this.writes.add(write);
    }
  }

  /** Wait for the writes in flight; the pods written to, whose round status must be written whatever it says. */
  async end(): Promise<Set<string>> {
    await Promise.allSettled([...this.writes]);
    const out = new Set(this.written);
    this.written.clear();
    return out;
  }
}
