// A lease holder cut off from etcd (its connection black-holed: no answer, no error) hears its
// lease lost a TTL after the last renewal etcd answered, whatever the renewal in flight does: what
// hangs on a cut link must not keep a node or a leadership alive in the holder's mind.
import { afterEach, describe, expect, inject, it } from 'vitest';
import { STORE_CLIENTS } from '../support/etcd.js';
import { uniqueName } from '../support/names.js';
import { waitFor } from '../support/wait.js';
import { startBlackhole } from './support/blackhole.js';
import { recordFaultRow } from './support/table.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

describe.each(STORE_CLIENTS)('a lease on a cut link (%s)', (client, connect) => {
  it('is lost a TTL after its last renewal, and a new one is granted once the link is back', async (context) => {
    const hole = await startBlackhole(inject('etcdEndpoint'));
    cleanups.push(() => hole.close());
    const store = await connect([hole.endpoint], `/${uniqueName('leasecut')}`);
    cleanups.push(() => store.close());
    const lease = await store.lease(2, { renewMs: 500 });
    let lostAt: number | undefined;
    lease.onLost(() => (lostAt = Date.now()));
    await store.revision(); // the link works
    expect(lostAt).toBeUndefined();

    hole.cut();
    const cutAt = Date.now();
    let heardMs: number | undefined;
    try {
      await waitFor(() => lostAt !== undefined, { timeoutMs: 20_000, what: 'the lease lost on the cut link' });
      heardMs = (lostAt ?? 0) - cutAt;
    } finally {
      recordFaultRow(context, { scenario: `etcd link black-holed under a lease holder (${client})`, trials: 1, faults: 1, failures: heardMs === undefined ? 1 : 0, convergeMs: heardMs === undefined ? [] : [heardMs] });
    }
    // Lost no sooner than the renewals stopped (they passed until the cut) could have let it expire.
    expect(heardMs).toBeGreaterThanOrEqual(1_000);

    hole.restore();
    const again = await waitFor(() => store.lease(2, { renewMs: 500 }).catch(() => undefined), { timeoutMs: 30_000, what: 'a new lease once the link is back' });
    await again.revoke();
  }, 90_000);
});
