import type { FilterPlugin, NodeInfo, PodInfo } from './framework.js';

const UNKNOWN = 0;
const FITS = 1;
const FAILS = 2;

/**
 * The verdicts of the filters that declare an `equivalenceKey` (they read only the node's record),
 * remembered per key and node for one round: the 100 pods of a Deployment share a key, so each node
 * is asked once for all of them. Verdicts are filled in as the searches visit nodes.
 */
export class Equivalence {
  private readonly byKey = new Map<string, Uint8Array>();
  private readonly keyed: FilterPlugin[];

  constructor(
    filters: FilterPlugin[],
    private readonly infos: readonly NodeInfo[],
  ) {
    this.keyed = filters.filter((f) => f.equivalenceKey !== undefined);
  }

  /** For `pod`: whether node `i` (an index into the round's infos) passes every keyed filter. */
  of(pod: PodInfo): (i: number) => boolean {
    if (this.keyed.length === 0) return () => true;
    const key = this.keyed.map((f) => f.equivalenceKey?.(pod) ?? '').join('\n');
    let verdicts = this.byKey.get(key);
    if (!verdicts) {
      verdicts = new Uint8Array(this.infos.length);
      this.byKey.set(key, verdicts);
    }
    const known = verdicts;
    return (i) => {
      let v = known[i] ?? FAILS;
      if (v === UNKNOWN) {
        const info = this.infos[i];
        v = info && this.keyed.every((f) => f.filter(pod, info).length === 0) ? FITS : FAILS;
        known[i] = v;
      }
      return v === FITS;
    };
  }
}
