import type { ScorePlugin } from '../framework.js';

/** Score: fewer replicas of the same Deployment on the node is better, so one node's loss costs few. */
export const spreadByOwner: ScorePlugin = {
  name: 'SpreadByOwner',
  score(pod, { owners }) {
    return 0 - (owners.get(pod.owner) ?? 0); // not -n: -0 is not 0 to Object.is
  },
};

/** Score: fewer pods on the node is better; the tie-breaker when requests do not tell nodes apart. */
export const fewestPods: ScorePlugin = {
  name: 'FewestPods',
  score(_pod, { pods }) {
    return 0 - pods;
  },
};
