import { FITS, type FilterPlugin } from '../framework.js';

/** The reason a node already using one of the pod's host ports is filtered out. */
export const HOST_PORTS_TAKEN = "node(s) didn't have free ports for the requested pod ports";

const TAKEN: readonly string[] = Object.freeze([HOST_PORTS_TAKEN]);

/** Filter: a node publishes each hostPort+protocol for at most one pod. */
export const hostPorts: FilterPlugin = {
  name: 'NodePorts',
  filter(pod, { ports }) {
    for (const p of pod.hostPorts) if (ports.has(p)) return TAKEN;
    return FITS;
  },
};
