import type { ScorePlugin } from '../framework.js';

const MAX_SCORE = 100;

/** 0..100: the share of `capacity` still free once `used` is taken; 0 when nothing is free. */
function free(used: number, capacity: number): number {
  if (capacity <= 0 || used > capacity) return 0;
  return Math.floor(((capacity - used) * MAX_SCORE) / capacity);
}

/**
 * Score (Kubernetes' LeastAllocated): the mean free share of cpu and memory after placing the pod,
 * floored to an integer so that nodes that differ by crumbs tie and the next score decides.
 */
export const leastAllocated: ScorePlugin = {
  name: 'LeastAllocated',
  score({ requests: want }, { node, requested }) {
    const cpu = free(requested.cpu + want.cpu, node.capacity.cpu);
    const memory = free(requested.memory + want.memory, node.capacity.memory);
    return Math.floor((cpu + memory) / 2);
  },
};
