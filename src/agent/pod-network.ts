// The pod network as the agent knows it: made when missing, looked at again now and then (someone
// may remove it), and whether it allows static addresses, the condition for pods without sandboxes.
import type { Logger } from '../log.js';
import type { ContainerRuntime, NetworkInfo } from './runtime.js';
import { staticPool, type AddressPool } from './pod-address.js';

/** How long what ensureNetwork said is trusted before it is asked again (one list of networks). */
const RECHECK_MS = 30_000;

/** The pod network of one agent. */
export class PodNetwork {
  private known: { info: NetworkInfo; at: number } | undefined;
  /** The reason last logged for having no static addresses: said once, not every round. */
  private said: string | undefined;

  constructor(
    private readonly runtime: ContainerRuntime,
    readonly name: string,
    private readonly labels: Record<string, string>,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** The network's id and addressing, made when missing; throws as ensureNetwork does. */
  async info(): Promise<NetworkInfo> {
    const at = this.now();
    if (this.known !== undefined && at - this.known.at < RECHECK_MS) return this.known.info;
    const info = await this.runtime.ensureNetwork(this.name, this.labels);
    this.known = { info, at };
    return info;
  }

  /**
   * The network's id and its static addresses; undefined when it has none (its pods then run in
   * sandboxes; said once); 'unknown' when it cannot be had now (the sandboxes' creation reports why),
   * which says nothing of the pods already running alone.
   */
  async statics(): Promise<{ id: string; pool: AddressPool } | undefined | 'unknown'> {
    let info: NetworkInfo;
    try {
      info = await this.info();
    } catch {
      return 'unknown';
    }
    const pool = staticPool(info);
    if ('none' in pool) {
      if (this.said !== pool.none) this.log.info({ network: this.name, why: pool.none }, 'the pod network has no static addresses: every pod runs in a sandbox (remove the network while no pod uses it, and the agent makes it again with a subnet)');
      this.said = pool.none;
      return undefined;
    }
    this.said = undefined;
    return { id: info.id, pool };
  }

  /** Forget what is known (a container could not be attached to it): the next use asks Docker again. */
  forget(): void {
    this.known = undefined;
  }
}
