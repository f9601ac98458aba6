export type { Closer, Entry, Lease, PutOp, Store, StoreEvent, Txn } from './store.js';
export { MAX_TXN_OPS } from './store.js';
export { MemoryStore } from './memory.js';
export { EtcdStore, CompactedError } from './etcd.js';
export { startLoop, type Loop, type LoopOptions } from './loop.js';
export * from './keys.js';
export * from './records.js';
export { startLocalEtcd, localEtcdEndpoint, findOnPath, freePort, type LocalEtcd } from './local-etcd.js';
export { commitChunked } from './chunked.js';
