import type { FilterPlugin } from '../framework.js';

/** The reason a node whose labels do not carry the pod's nodeSelector is filtered out. */
export const NODE_SELECTOR_MISMATCH = "node(s) didn't match node selector";

/** Filter: every `key: value` of the pod's nodeSelector must be a label of the node. */
export const nodeSelector: FilterPlugin = {
  name: 'NodeSelector',
  filter(pod, { node }) {
    for (const [key, value] of Object.entries(pod.template.nodeSelector)) {
      if (node.labels[key] !== value) return [NODE_SELECTOR_MISMATCH];
    }
    return [];
  },
};
