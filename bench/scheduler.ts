// scheduler: the pure core placing pods at three cluster sizes (against Kubernetes' published
// figure at 5,000 nodes, and against itself scoring every node).
import { runCore } from './scheduler-core.js';
import type { Bench, Result } from './result.js';

export const scheduler: Bench = {
  run(say): Promise<Result[]> {
    return Promise.resolve(runCore(say));
  },
};
