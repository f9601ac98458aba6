// The node's presence in etcd: `nodes/<node>` on a lease, so that a dead agent's node disappears.
import os from 'node:os';
import type { Lease, Store } from '../store/store.js';
import type { NodeRecord } from '../store/records.js';
import { encode } from '../store/records.js';
import { nodeKey } from '../store/keys.js';
import { defaultAddress } from './address.js';

/** Reported as NodeRecord.version; kept in step with package.json by hand (dist has no package.json beside it). */
export const AGENT_VERSION = '0.1.0';

/** What a node says about itself. */
export function nodeRecord(opts: { node: string; labels?: Record<string, string>; address?: string; maxPods?: number; startedAt: Date }): NodeRecord {
  return {
    type: 'node',
    name: opts.node,
    labels: { ...opts.labels, 'berth.io/hostname': opts.node, 'berth.io/os': process.platform, 'berth.io/arch': process.arch },
    capacity: { cpu: os.cpus().length * 1000, memory: os.totalmem(), pods: opts.maxPods ?? 110 },
    address: opts.address ?? defaultAddress(),
    version: AGENT_VERSION,
    startedAt: opts.startedAt.toISOString(),
  };
}

/**
 * Keeps `nodes/<node>` present on a lease. `ensure` is called at the start of every reconcile, so a
 * lost lease or a deleted key is put back by the same loop that does everything else.
 */
export class NodeRegistration {
  private lease: Lease | undefined;
  /** modRevision of our last put: a different one means someone else wrote or deleted the key. */
  private written = 0;

  constructor(
    private readonly store: Store,
    private readonly record: NodeRecord,
    private readonly ttlSeconds: number,
    /** Called when the lease is lost, to wake the loop. */
    private readonly onLost: () => void,
  ) {}

  /** Register (again) unless our record is in place. */
  async ensure(): Promise<void> {
    const key = nodeKey(this.record.name);
    let lease = this.lease;
    if (!lease) {
      const fresh = await this.store.lease(this.ttlSeconds);
      fresh.onLost(() => {
        if (this.lease === fresh) this.lease = undefined;
        this.onLost();
      });
      this.lease = lease = fresh;
      this.written = 0;
    }
    const current = await this.store.get(key);
    if (current && current.modRevision === this.written) return;
    const { revision } = await this.store.commit({ put: [{ key, value: encode(this.record), lease }] });
    this.written = revision;
  }

  /** Revoke the lease: the node disappears now rather than a TTL later. */
  async revoke(): Promise<void> {
    const lease = this.lease;
    this.lease = undefined;
    await lease?.revoke();
  }
}
