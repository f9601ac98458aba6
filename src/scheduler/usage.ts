import type { PodRecord } from '../store/records.js';
import { addPod, emptyUsage, removePod, type NodeUsage, type PodInfo } from './framework.js';

/**
 * What the bound pods hold on each node, kept up to date pod by pod (kube-scheduler's cache of
 * NodeInfos): the scheduler loop adds a pod when it is bound and removes it when it goes, so a round
 * starts from these sums instead of adding up every bound pod of the cluster again.
 */
export class NodeUsages {
  private readonly byNode = new Map<string, NodeUsage>();

  /** The usages of the bound pods among `pods`. */
  static of(pods: Iterable<PodRecord>, infoOf: (pod: PodRecord) => PodInfo): NodeUsages {
    const usages = new NodeUsages();
    for (const p of pods) usages.add(p, infoOf(p));
    return usages;
  }

  /** What is placed on `node` (undefined: nothing). Owned by this object: a round copies before it changes it. */
  get(node: string): Readonly<NodeUsage> | undefined {
    return this.byNode.get(node);
  }

  /** Count `pod` on its node (nothing for an unbound pod). */
  add(pod: PodRecord, info: PodInfo): void {
    if (pod.node === undefined) return;
    let usage = this.byNode.get(pod.node);
    if (usage === undefined) this.byNode.set(pod.node, (usage = emptyUsage()));
    addPod(usage, info);
  }

  /** Stop counting `pod` (as it was when added) on its node. */
  remove(pod: PodRecord, info: PodInfo): void {
    if (pod.node === undefined) return;
    const usage = this.byNode.get(pod.node);
    if (usage === undefined) return;
    removePod(usage, info);
    if (usage.pods <= 0) this.byNode.delete(pod.node);
  }
}
