import { FITS, type FilterPlugin } from '../framework.js';

/** The reason a cordoned node is filtered out (Kubernetes' words before taints took over). */
export const NODE_UNSCHEDULABLE = 'node(s) were unschedulable';

const CORDONED: readonly string[] = Object.freeze([NODE_UNSCHEDULABLE]);

/** Filter: no new pod on a cordoned node (`berth cordon`, `berth drain`). */
export const nodeUnschedulable: FilterPlugin = {
  name: 'NodeUnschedulable',
  filter: (_pod, node) => (node.unschedulable ? CORDONED : FITS),
  // The node's alone: every pod gets the same verdict on it.
  equivalenceKey: () => '',
};
