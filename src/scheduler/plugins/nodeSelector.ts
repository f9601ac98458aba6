import { FITS, type FilterPlugin } from '../framework.js';

/** The reason a node whose labels do not carry the pod's nodeSelector is filtered out. */
export const NODE_SELECTOR_MISMATCH = "node(s) didn't match node selector";

const MISMATCH: readonly string[] = Object.freeze([NODE_SELECTOR_MISMATCH]);

/** Filter: every `key: value` of the pod's nodeSelector must be a label of the node. */
export const nodeSelector: FilterPlugin = {
  name: 'NodeSelector',
  filter(pod, { node }) {
    for (const [key, value] of pod.selector) {
      if (node.labels[key] !== value) return MISMATCH;
    }
    return FITS;
  },
  // Labels are the node record's: pods with the same selector get the same verdict on a node.
  equivalenceKey: (pod) => JSON.stringify(pod.selector),
};
