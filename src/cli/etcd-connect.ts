import path from 'node:path';
import { EtcdStore, startLocalEtcd, type Store } from '../store/index.js';
import { etcdSecurity } from './etcd-security.js';
import type { Stack } from './stack.js';
import type { ConnectionFlags } from './up.js';

/**
 * The store of a command: --etcd's endpoints; without them, an etcd of its own under --data-dir
 * (berth up) or the local default. It closes with the stack (and a started etcd stops last).
 */
export async function connectStore(flags: ConnectionFlags & { dataDir?: string }, stack: Stack, mayStartEtcd: boolean, used?: (etcd: { endpoints: string[]; own: boolean }) => void): Promise<Store> {
  let endpoints = flags.etcd?.split(',').map((s) => s.trim()).filter(Boolean);
  if (!endpoints || endpoints.length === 0) {
    if (mayStartEtcd) {
      const etcd = await startLocalEtcd(path.resolve(flags.dataDir ?? '.berth', 'etcd'));
      stack.last = () => etcd.stop(1_000);
      endpoints = [etcd.endpoint];
    } else {
      endpoints = ['http://127.0.0.1:2379'];
    }
  }
  used?.({ endpoints, own: mayStartEtcd && (flags.etcd === undefined || flags.etcd.trim() === '') });
  const store = await EtcdStore.connect(endpoints, flags.prefix, await etcdSecurity(flags));
  stack.stops.push(() => store.close());
  return store;
}
