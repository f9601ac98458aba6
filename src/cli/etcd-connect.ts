import path from 'node:path';
import { startLocalEtcd } from '../store/local-etcd.js';
import type { Store } from '../store/store.js';
import { etcdSecurityFor } from './etcd-security.js';
import type { Stack } from './stack.js';
import type { ConnectionFlags } from './up.js';

/**
 * The store of a command: --etcd's endpoints (with the TLS flags, or the certificates of the etcd a
 * `berth up` runs under --data-dir); without them, an etcd of its own under --data-dir (berth up,
 * over TLS with its own certificates) or the local default. It closes with the stack (and a started etcd stops last).
 * `client`: etcd3 over gRPC (the control plane's), or etcd's JSON gateway over node:http (the node
 * agent's: etcd3, grpc-js and protobufjs cost it about 9 MB); only the one chosen is loaded.
 */
export async function connectStore(
  flags: ConnectionFlags & { dataDir?: string },
  stack: Stack,
  mayStartEtcd: boolean,
  used?: (etcd: { endpoints: string[]; own: boolean }) => void,
  client: 'grpc' | 'http' = 'grpc',
): Promise<Store> {
  const dataDir = flags.dataDir ?? '.berth';
  let endpoints = flags.etcd?.split(',').map((s) => s.trim()).filter(Boolean);
  let security: Awaited<ReturnType<typeof etcdSecurityFor>>;
  if (!endpoints || endpoints.length === 0) {
    if (mayStartEtcd) {
      const etcd = await startLocalEtcd(path.resolve(dataDir, 'etcd'));
      stack.last = () => etcd.stop(1_000);
      endpoints = [etcd.endpoint];
      security = { tls: etcd.tls };
    } else {
      endpoints = ['http://127.0.0.1:2379'];
      security = await etcdSecurityFor(flags, endpoints, dataDir);
    }
  } else {
    security = await etcdSecurityFor(flags, endpoints, dataDir);
  }
  used?.({ endpoints, own: mayStartEtcd && (flags.etcd === undefined || flags.etcd.trim() === '') });
  const store = client === 'http' ? await (await import('../store/etcd-http.js')).EtcdHttpStore.connect(endpoints, flags.prefix, security) : await (await import('../store/etcd.js')).EtcdStore.connect(endpoints, flags.prefix, security);
  stack.stops.push(() => store.close());
  return store;
}
