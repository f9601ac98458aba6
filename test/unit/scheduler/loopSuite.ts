import { describe, expect, it } from 'vitest';
import { silentLogger, type Logger } from '../../../src/log.js';
import { startScheduler, type Scheduler } from '../../../src/scheduler/index.js';
import { EVENTS, bindingKey, commitChunked, decode, encode, podKey, type EventRecord, type Store } from '../../../src/store/index.js';
import { waitFor } from '../../support/wait.js';
import { node, pod } from './fixtures.js';
import { HookedStore, captureLog, putNodes, putPods, readBindings, readPods, storePerTest } from './harness.js';

/**
 * The scheduler loop against a store from `open` (a fresh, empty keyspace each call): run by the
 * unit tests on MemoryStore and by the integration tests on etcd, so both stores behave alike.
 */
export function describeSchedulerLoop(label: string, open: () => Promise<Store>): void {
  describe(label, () => {
    const { defer, fresh } = storePerTest(open);
    const setup = async (): Promise<Store> => {
      const store = await fresh();
      return store;
    };
    const start = async (store: Store, log: Logger = silentLogger(), resyncMs = 200): Promise<Scheduler> => {
      const s = await startScheduler({ store, log, resyncMs });
      defer(() => s.stop());
      return s;
    };
    const allBound = (store: Store, n: number) => async () => {
      const pods = await readPods(store);
      return pods.length === n && pods.every((p) => p.node !== undefined) ? pods : undefined;
    };

    it('binds unbound pods to registered nodes: the pod gets its node, the node a binding', async () => {
      const store = await setup();
      await putNodes(store, [node('n1'), node('n2')]);
      await start(store);
      await putPods(store, [pod('web-0'), pod('web-1')]);
      const pods = await waitFor(allBound(store, 2), { what: 'both pods bound' });
      expect(pods.map((p) => `${p.name}→${p.node}`)).toEqual(['web-0→n1', 'web-1→n2']);
      // Small: the binding names the pod; its template stays in the pod record, where the agent reads it.
      expect(await readBindings(store)).toEqual(
        pods.map((p) => ({ type: 'binding', node: p.node, namespace: p.namespace, pod: p.name, source: p.owner.source, templateHash: p.templateHash, commit: p.commit })),
      );
    });

    it('binds a burst larger than a round in several rounds, each within the bound', async () => {
      const store = await setup();
      const { log, lines } = captureLog();
      await putNodes(store, [node('n1', { pods: 5000 }), node('n2', { pods: 5000 })]);
      const burst = Array.from({ length: 2100 }, (_, i) => pod(`web-${String(i).padStart(4, '0')}`));
      await commitChunked(store, burst.map((p) => ({ key: podKey(p.namespace, p.name), value: encode(p) })), []);
      await start(store, log, 600_000);
      await waitFor(allBound(store, burst.length), { timeoutMs: 60_000, what: 'every pod of the burst bound' });
      const rounds = lines.filter((l) => l.msg === 'scheduling round').map((l) => Number(l.pods)).filter((n) => n > 0);
      expect(Math.max(...rounds)).toBe(2000);
      expect(rounds.reduce((a, b) => a + b, 0)).toBe(burst.length);
    });

    it('keeps a pod waiting while no node can take it, then binds it when one registers', async () => {
      const store = await setup();
      const { log, lines } = captureLog();
      await start(store, log);
      await putPods(store, [pod('web-0', { nodeSelector: { disk: 'ssd' } })]);
      await waitFor(() => lines.find((l) => l.msg === 'pod unschedulable'), { what: 'unschedulable logged' });
      await putNodes(store, [node('hdd')]);
      await waitFor(() => lines.find((l) => l.msg === 'pod unschedulable' && String(l.reason).startsWith('0/1')), { what: 'new reason logged' });
      await putNodes(store, [node('ssd', { labels: { disk: 'ssd' } })]);
      const [bound] = await waitFor(allBound(store, 1), { what: 'pod bound' });
      expect(bound?.node).toBe('ssd');
    });

    it('records FailedScheduling with the scheduler’s reason, folding repeats into a count, then Scheduled with the node', async () => {
      const store = await setup();
      let eventWrites = 0;
      const counted = new HookedStore(store, { committed: (txn) => void (eventWrites += (txn.put ?? []).filter((p) => p.key.startsWith('events/')).length) });
      const { log, lines } = captureLog();
      const passes = (): number => lines.filter((l) => l.msg === 'scheduling round' && l.pods === 1).length;
      await putNodes(store, [node('hdd')]);
      await putPods(store, [pod('web-0', { nodeSelector: { disk: 'ssd' } })]);
      const scheduler = await start(counted, log, 10);
      const failed = await waitFor(async () => (await readEvents(store)).find((e) => e.reason === 'FailedScheduling'), { what: 'FailedScheduling' });
      expect(failed).toMatchObject({ object: 'pod/default/web-0', severity: 'Warning', component: 'scheduler', count: 1, message: "0/1 nodes are available: 1 node(s) didn't match node selector" });
      const seen = passes();
      await waitFor(() => passes() >= seen + 5, { what: 'five more passes' });
      expect(eventWrites).toBe(1);

      await putNodes(store, [node('ssd', { labels: { disk: 'ssd' } })]);
      await waitFor(allBound(store, 1), { what: 'pod bound' });
      await scheduler.stop();
      const events = await readEvents(store);
      expect(events.map((e) => [e.reason, e.message])).toEqual([
        ['FailedScheduling', "0/1 nodes are available: 1 node(s) didn't match node selector"],
        ['Scheduled', 'Successfully assigned default/web-0 to ssd'],
      ]);
      expect(events[0]?.count).toBeGreaterThan(1);
    });

    it('counts pods already bound, their ports included', async () => {
      const store = await setup();
      await putNodes(store, [node('n1'), node('n2')]);
      const proxy = pod('proxy-0', { owner: 'proxy', hostPorts: [80], node: 'n1' });
      await putPods(store, [proxy]);
      await store.commit({ put: [{ key: bindingKey('n1', 'default', 'proxy-0'), value: encode({ type: 'binding', node: 'n1', namespace: 'default', pod: 'proxy-0', templateHash: proxy.templateHash, template: proxy.template, commit: proxy.commit }) }] });
      await start(store);
      await putPods(store, [pod('web-0', { hostPorts: [80] })]);
      const pods = await waitFor(allBound(store, 2), { what: 'web-0 bound' });
      expect(pods.map((p) => `${p.name}→${p.node}`)).toEqual(['proxy-0→n1', 'web-0→n2']);
    });

    it('logs an unschedulable pod once per reason, not on every resync', async () => {
      const store = await setup();
      const { log, lines } = captureLog();
      const passes = (): number => lines.filter((l) => l.msg === 'scheduling round' && l.pods === 1).length;
      await putNodes(store, [node('small', { cpu: 1000 })]);
      await putPods(store, [pod('web-0', { cpu: 64_000 })]);
      await start(store, log, 10);
      await waitFor(() => lines.some((l) => l.msg === 'pod unschedulable'), { what: 'unschedulable logged' });
      const seen = passes();
      await waitFor(() => passes() >= seen + 5, { what: 'five more reconciles' });
      expect(lines.filter((l) => l.msg === 'pod unschedulable').map((l) => l.reason)).toEqual(['0/1 nodes are available: 1 Insufficient cpu']);
    });

    it('two schedulers racing bind each pod exactly once (compare-and-swap)', async () => {
      const store = await setup();
      const pods = Array.from({ length: 10 }, (_, i) => pod(`web-${i}`));
      await putNodes(store, [node('n1'), node('n2'), node('n3')]);
      await putPods(store, pods);

      // Hold each scheduler's first bind until both have planned one, so both plan the same
      // unbound pods from the same view and really race to bind them.
      let arrived = 0;
      let release: () => void = () => undefined;
      const bothPlanned = new Promise<void>((resolve) => (release = resolve));
      let bindsWritten = 0;
      let lost = 0;
      const hooks = () => {
        let first = true;
        return {
          beforeCommit: async (txn: { put?: { key: string }[] }) => {
            if (!first || !(txn.put ?? []).some((p) => p.key.startsWith('bindings/'))) return;
            first = false;
            if (++arrived === 2) release();
            await bothPlanned;
          },
          committed: (txn: { put?: { key: string }[] }, r: { ok: boolean }) => {
            const binds = (txn.put ?? []).filter((p) => p.key.startsWith('bindings/')).length;
            if (r.ok) bindsWritten += binds;
            else if (binds > 0) lost++;
          },
        };
      };
      const both = await Promise.all([start(new HookedStore(store, hooks())), start(new HookedStore(store, hooks()))]);

      const bound = await waitFor(allBound(store, 10), { what: 'all pods bound' });
      // The hooks hear a commit a moment after the store shows it.
      await waitFor(() => bindsWritten >= 10 && lost > 0, { what: 'the binds and the lost race counted' });
      for (const s of both) await s.idle();
      expect(bindsWritten).toBe(10);
      const bindings = await readBindings(store);
      expect(bindings.map((b) => `${b.pod}→${b.node}`).sort()).toEqual(bound.map((p) => `${p.name}→${p.node}`).sort());
    });
  });
}

/** Every event record, oldest first. */
async function readEvents(store: Store): Promise<EventRecord[]> {
  const records = (await store.list(EVENTS)).entries.map((e) => decode('event', e.key, e.value));
  return records.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
}
