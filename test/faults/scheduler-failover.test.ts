// Two `berth scheduler` processes over one etcd: one leads (leaders/scheduler), the other follows;
// the leader killed with SIGKILL, the other takes over (at once: it sees on this machine that the
// leader's process is gone; on another machine, within the lease TTL) and binds the next pod.
import { afterEach, describe, expect, inject, it } from 'vitest';
import { EtcdStore, decode, leaderKey, podKey, type Store } from '../../src/store/index.js';
import { spawnBerth, type BerthProcess } from '../support/berth.js';
import { uniqueName } from '../support/names.js';
import { waitFor } from '../support/wait.js';
import { node, pod } from '../unit/scheduler/fixtures.js';
import { putNodes, putPods } from '../unit/scheduler/harness.js';
import { recordFaultRow } from './support/table.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

describe('two schedulers', () => {
  it('one leads; killed, the other takes over and binds the next pod', async (context) => {
    const prefix = `/${uniqueName('failover')}`;
    const store: Store = await EtcdStore.connect([inject('etcdEndpoint')], prefix);
    cleanups.push(async () => {
      const { entries } = await store.list('');
      for (const e of entries) await store.commit({ del: [e.key] });
      await store.close();
    });
    const procs: BerthProcess[] = [0, 1].map(() => spawnBerth(['scheduler', '--etcd', inject('etcdEndpoint'), '--prefix', prefix]));
    for (const p of procs) cleanups.push(() => p.stop());
    const leader = async (): Promise<number | undefined> => {
      const e = await store.get(leaderKey('scheduler'));
      return e && Number(decode('leader', e.key, e.value).holder.split('/')[1]);
    };
    await putNodes(store, [node('n1')]);
    await putPods(store, [pod('first')]);
    const bound = async (name: string): Promise<boolean> => {
      const e = await store.get(podKey('default', name));
      return e !== undefined && decode('pod', e.key, e.value).node === 'n1';
    };
    await waitFor(() => bound('first'), { timeoutMs: 60_000, what: 'the first pod bound' });
    const first = await leader();
    const killed = procs.find((p) => p.child.pid === first);
    const survivor = procs.find((p) => p !== killed);
    if (killed === undefined || survivor === undefined) throw new Error(`the leader ${first ?? '?'} is none of the schedulers started`);

    killed.child.kill('SIGKILL');
    const killedAt = Date.now();
    await putPods(store, [pod('second')]);
    let convergedMs: number | undefined;
    try {
      await waitFor(() => bound('second'), { timeoutMs: 60_000, what: 'the second pod bound by the other scheduler' });
      convergedMs = Date.now() - killedAt;
    } finally {
      recordFaultRow(context, { scenario: 'kill -9 the leading scheduler (of two)', trials: 1, faults: 1, failures: convergedMs === undefined ? 1 : 0, convergeMs: convergedMs === undefined ? [] : [convergedMs] });
    }
    expect(await leader()).toBe(survivor.child.pid);
    // Both on this machine: the survivor saw the leader's process gone and took over without waiting for its lease.
    expect(survivor.output.toString()).toContain('the leader was a process of this machine that is gone');
  }, 180_000);
});
