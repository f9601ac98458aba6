// scheduler: the pure core placing pods at three cluster sizes (against Kubernetes' published
// figure at 5,000 nodes, and against itself scoring every node), then bindings through real etcd.
import { runCore } from './scheduler-core.js';
import { runEtcd } from './scheduler-etcd.js';
import type { Bench, Result } from './result.js';

export const scheduler: Bench = {
  async run(say): Promise<Result[]> {
    return [...runCore(say), ...(await runEtcd(say))];
  },
};
