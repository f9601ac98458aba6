import { podHostPorts, type FilterPlugin } from '../framework.js';

/** The reason a node already using one of the pod's host ports is filtered out. */
export const HOST_PORTS_TAKEN = "node(s) didn't have free ports for the requested pod ports";

/** Filter: a node publishes each hostPort+protocol for at most one pod. */
export const hostPorts: FilterPlugin = {
  name: 'NodePorts',
  filter(pod, { ports }) {
    return podHostPorts(pod).some((p) => ports.has(p)) ? [HOST_PORTS_TAKEN] : [];
  },
};
