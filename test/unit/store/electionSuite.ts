import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { decode, leaderKey, startElection, type Election, type Store } from '../../../src/store/index.js';
import { waitFor } from '../../support/wait.js';

/** A component that says whether it runs. */
function component(): { running: () => boolean; starts: () => number; start: () => Promise<{ stop(): Promise<void> }> } {
  let running = false;
  let starts = 0;
  return {
    running: () => running,
    starts: () => starts,
    start: async () => {
      running = true;
      starts++;
      return { stop: async () => void (running = false) };
    },
  };
}

/**
 * Leader election against stores from `open` (one per candidate, as separate processes have), and
 * `kill`, which makes a candidate's store stop renewing its leases as a dead process would.
 */
export function describeElection(label: string, open: () => Promise<{ stores: [Store, Store]; kill: (store: Store, lease: string) => Promise<void>; close: () => Promise<void> }>): void {
  describe(label, () => {
    const stops: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const s of stops.splice(0).reverse()) await s().catch(() => undefined);
    });
    const setup = async () => {
      const { stores, kill, close } = await open();
      stops.push(close);
      const [a, b] = [component(), component()];
      const opts = { log: silentLogger(), name: 'controller', ttlSeconds: 2, renewMs: 500, retryMs: 5_000 };
      const ea: Election = await startElection({ ...opts, store: stores[0], start: a.start });
      stops.push(() => ea.stop());
      const eb: Election = await startElection({ ...opts, store: stores[1], start: b.start });
      stops.push(() => eb.stop());
      return { stores, kill, a, b, ea, eb };
    };

    it('one candidate leads; the other takes over when it steps down', async () => {
      const { a, b, ea, eb } = await setup();
      expect([ea.leading(), a.running(), eb.leading(), b.running()]).toEqual([true, true, false, false]);
      await ea.stop();
      expect(a.running()).toBe(false);
      await waitFor(() => b.running(), { what: 'b to take over' });
      expect(eb.leading()).toBe(true);
    });

    it('a leader that dies is replaced within its lease TTL; it stops its component when it learns it lost the lease', async () => {
      const { stores, kill, a, b } = await setup();
      const held = await stores[1].get(leaderKey('controller'));
      const record = held && decode('leader', held.key, held.value);
      if (record === undefined) throw new Error('no leader record');
      await kill(stores[0], record.lease);
      await waitFor(() => b.running(), { what: 'b to take over', timeoutMs: 30_000 });
      await waitFor(() => !a.running(), { what: 'a to stop its component', timeoutMs: 30_000 });
      expect(b.starts()).toBe(1);
    });
  });
}
