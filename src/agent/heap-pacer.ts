// The agent's garbage, kept small. V8 lets a small heap grow by at least a few MB of garbage before
// a full collection, and leaves the pages it grew into committed long after: a converge of 100
// pods left an agent's old space at 14–16 MB with 9 MB of it live, about 6 MB of resident memory on
// every node until V8's memory reducer ran (it runs again only once committed memory has grown by
// 10 MB since its last run, so often not at all). `bin/berth` starts the agent with --expose-gc, and
// after each round the agent collects once its heap has grown STEP_BYTES past what the last full
// collection left; a collection of its heap takes about 10 ms. Without --expose-gc (the agent run
// in-process by tests and benches), nothing is collected here.
import v8 from 'node:v8';

/** Growth of the heap past the last collection's live size that makes the agent collect. */
export const STEP_BYTES = 2 * 1024 * 1024;

/** V8's collector when node runs with --expose-gc, else undefined. */
export function exposedGc(): (() => void) | undefined {
  const gc: unknown = (globalThis as { gc?: unknown }).gc;
  return typeof gc === 'function' ? () => void (gc as () => unknown)() : undefined;
}

const heapUsed = (): number => v8.getHeapStatistics().used_heap_size;

/** Decides when the agent collects its garbage; `check` after each round. */
export class HeapPacer {
  private floor: number;

  constructor(
    private readonly gc: (() => void) | undefined = exposedGc(),
    private readonly used: () => number = heapUsed,
    private readonly step = STEP_BYTES,
  ) {
    this.floor = used();
  }

  /** Collect when the heap has grown `step` past the last collection's live size; true when it did. */
  check(): boolean {
    if (this.gc === undefined) return false;
    const now = this.used();
    // V8 collected on its own since: what it left is the new floor.
    if (now < this.floor) this.floor = now;
    if (now < this.floor + this.step) return false;
    this.gc();
    this.floor = this.used();
    return true;
  }
}
