// The node's presence in etcd: `nodes/<node>` on a lease, so that a dead agent's node disappears.
import os from 'node:os';
import type { Lease, Store } from '../store/store.js';
import type { NodeRecord } from '../store/records.js';
import { encode } from '../store/records.js';
import { NODES, nodeKey } from '../store/keys.js';
import { berthVersion } from '../version.js';
import { defaultAddress } from './address.js';


/** What a node says about itself. */
export function nodeRecord(opts: { node: string; labels?: Record<string, string>; address?: string; maxPods?: number; startedAt: Date }): NodeRecord {
  return {
    type: 'node',
    name: opts.node,
    labels: { ...opts.labels, 'berth.io/hostname': opts.node, 'berth.io/os': process.platform, 'berth.io/arch': process.arch },
    capacity: { cpu: os.cpus().length * 1000, memory: os.totalmem(), pods: opts.maxPods ?? 110 },
    address: opts.address ?? defaultAddress(),
    version: berthVersion(),
    startedAt: opts.startedAt.toISOString(),
  };
}

/** How an agent holds its node's lease. */
export interface LeaseTiming {
  ttlSeconds: number;
  renewMs: number;
}

/** The default lease: short enough that a dead agent's pods run elsewhere within 15 s (with the controller's --node-grace). */
export const DEFAULT_NODE_LEASE: LeaseTiming = { ttlSeconds: 4, renewMs: 1_000 };

/** Lease renewals per second all agents together may ask of etcd before each one renews less often (Nomad's max_heartbeats_per_second). */
export const RENEWALS_PER_SECOND = 50;

/**
 * The lease an agent takes in a cluster of `nodes` nodes: as asked, unless the cluster's renewals
 * would pass RENEWALS_PER_SECOND; then each renews less often and its TTL keeps three renewals of
 * room, as Nomad stretches its heartbeat TTL with the number of clients. Pure.
 */
export function leaseTiming(asked: LeaseTiming, nodes: number, renewalsPerSecond = RENEWALS_PER_SECOND): LeaseTiming {
  const renewMs = Math.max(asked.renewMs, Math.ceil((nodes / renewalsPerSecond) * 1000));
  return { renewMs, ttlSeconds: Math.max(asked.ttlSeconds, Math.ceil((3 * renewMs) / 1000)) };
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
    private readonly timing: LeaseTiming,
    /** Called when the lease is lost, to wake the loop. */
    private readonly onLost: () => void,
  ) {}

  /**
   * Register (again) unless our record is in place. True when the node took a new lease (at start,
   * or after losing one): its pods may have been moved away meanwhile, so the agent fences first.
   */
  async ensure(): Promise<boolean> {
    const key = nodeKey(this.record.name);
    let lease = this.lease;
    const fresh = lease === undefined;
    if (!lease) {
      const { count } = await this.store.changedSince(NODES, await this.store.revision());
      const timing = leaseTiming(this.timing, count + 1);
      const granted = await this.store.lease(timing.ttlSeconds, { renewMs: timing.renewMs });
      granted.onLost(() => {
        if (this.lease === granted) this.lease = undefined;
        this.onLost();
      });
      this.lease = lease = granted;
      this.written = 0;
    }
    const current = await this.store.get(key);
    if (current && current.modRevision === this.written) return fresh;
    const { revision } = await this.store.commit({ put: [{ key, value: encode(this.record), lease }] });
    this.written = revision;
    return fresh;
  }

  /** Revoke the lease: the node disappears now rather than a TTL later. */
  async revoke(): Promise<void> {
    const lease = this.lease;
    this.lease = undefined;
    await lease?.revoke();
  }
}
