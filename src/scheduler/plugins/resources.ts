import { FITS, type FilterPlugin } from '../framework.js';

/** Filter: the pod count and the sums of cpu and memory requests stay within the node's capacity. */
export const resources: FilterPlugin = {
  name: 'NodeResourcesFit',
  filter({ requests: want }, { node, pods, requested }) {
    const pods1 = pods + 1 > node.capacity.pods;
    const cpu = want.cpu > 0 && requested.cpu + want.cpu > node.capacity.cpu;
    const memory = want.memory > 0 && requested.memory + want.memory > node.capacity.memory;
    if (!pods1 && !cpu && !memory) return FITS;
    // Kubernetes' words and order, so the message reads the same to people who know it.
    const reasons: string[] = [];
    if (pods1) reasons.push('Too many pods');
    if (cpu) reasons.push('Insufficient cpu');
    if (memory) reasons.push('Insufficient memory');
    return reasons;
  },
};
