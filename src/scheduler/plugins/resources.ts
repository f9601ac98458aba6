import { podRequests, type FilterPlugin } from '../framework.js';

/** Filter: the pod count and the sums of cpu and memory requests stay within the node's capacity. */
export const resources: FilterPlugin = {
  name: 'NodeResourcesFit',
  filter(pod, { node, pods, requested }) {
    const want = podRequests(pod);
    const reasons: string[] = [];
    // Kubernetes' words and order, so the message reads the same to people who know it.
    if (pods.length + 1 > node.capacity.pods) reasons.push('Too many pods');
    if (want.cpu > 0 && requested.cpu + want.cpu > node.capacity.cpu) reasons.push('Insufficient cpu');
    if (want.memory > 0 && requested.memory + want.memory > node.capacity.memory) reasons.push('Insufficient memory');
    return reasons;
  },
};
