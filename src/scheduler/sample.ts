// How many feasible nodes a pod's search looks for before it stops: Kubernetes' numFeasibleNodesToFind.

/** Below this many nodes every node is scored; above it, never fewer than this many. */
export const MIN_FEASIBLE_NODES_TO_FIND = 100;
/** The adaptive share never drops below this percentage. */
export const MIN_FEASIBLE_NODES_PERCENTAGE = 5;

/**
 * The number of feasible nodes after which a pod's search stops, of `total` nodes. `percentage`
 * 1–100 is a share of the nodes; 0 adapts to the cluster's size as Kubernetes' default does:
 * 50 % less 1 % per 125 nodes, never under 5 % (so 42 % of 1,000 nodes, 10 % of 5,000). Every node
 * of a small cluster, and never fewer than 100 nodes of a large one: at scale, scoring a tenth of
 * the nodes picks a node as good as the best for spread and balance, at a tenth of the cost.
 */
export function numFeasibleNodesToFind(total: number, percentage = 0): number {
  if (total < MIN_FEASIBLE_NODES_TO_FIND || percentage >= 100) return total;
  const share = percentage > 0 ? percentage : Math.max(MIN_FEASIBLE_NODES_PERCENTAGE, 50 - Math.trunc(total / 125));
  return Math.max(MIN_FEASIBLE_NODES_TO_FIND, Math.trunc((total * share) / 100));
}
