import { endpointsKey, podKey, type PodRecord } from '../store/index.js';
import { chooseServices, selectsPod, type DesiredService } from './endpoints.js';

/**
 * Which pods each Service selects, kept as pods change (the endpoints loop's index): a pod change
 * names the Services it touches (`touched`), and a Service's plan reads its own pods
 * (`podsOf`), not every pod of the cluster. Keys are endpoints keys (`endpoints/<ns>/<name>`), one
 * per Service (the one chooseServices keeps when two sources declare it).
 */
export class ServiceSelectors {
  private services = new Map<string, DesiredService>();
  /** Services by namespace: a pod can only be selected by a Service of its own. */
  private readonly byNamespace = new Map<string, string[]>();
  /** Pod keys (`pods/<ns>/<pod>`) each Service selects. */
  private readonly members = new Map<string, Set<string>>();

  constructor(private readonly pod: (key: string) => PodRecord | undefined) {}

  /** The endpoints keys of every Service. */
  keys(): IterableIterator<string> {
    return this.services.keys();
  }

  /** Takes a new set of Services and finds each one's pods among `pods` (a pass over every pod, once per change of the Services). */
  reset(services: readonly DesiredService[], pods: Iterable<PodRecord>): void {
    this.services = chooseServices(services).chosen;
    this.byNamespace.clear();
    this.members.clear();
    for (const [key, s] of this.services) {
      const ns = this.byNamespace.get(s.object.namespace);
      if (ns) ns.push(key);
      else this.byNamespace.set(s.object.namespace, [key]);
      this.members.set(key, new Set());
    }
    for (const p of pods) this.podChanged(podKey(p.namespace, p.name), undefined, p);
  }

  /** The keys of the Services that select `pod`. */
  selecting(pod: PodRecord): string[] {
    return (this.byNamespace.get(pod.namespace) ?? []).filter((key) => this.members.get(key)?.has(podKey(pod.namespace, pod.name)));
  }

  /** The pods a Service selects. */
  *podsOf(service: { namespace: string; name: string }): Generator<PodRecord> {
    for (const key of this.members.get(endpointsKey(service.namespace, service.name)) ?? []) {
      const p = this.pod(key);
      if (p) yield p;
    }
  }

  /** A pod changed from `before` to `after` (either absent): the keys of the Services that select either. */
  podChanged(key: string, before: PodRecord | undefined, after: PodRecord | undefined): Set<string> {
    const touched = new Set<string>();
    for (const p of [before, after]) {
      for (const svc of (p && this.byNamespace.get(p.namespace)) ?? []) {
        const s = this.services.get(svc);
        if (s && p && selectsPod(s.object, p)) touched.add(svc);
      }
    }
    for (const svc of touched) {
      const s = this.services.get(svc);
      const set = this.members.get(svc);
      if (!s || !set) continue;
      if (after && selectsPod(s.object, after)) set.add(key);
      else set.delete(key);
    }
    return touched;
  }
}
