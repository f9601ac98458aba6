import { describe, expect, it } from 'vitest';
import { startController } from '../../../src/controller/index.js';
import { templateHash } from '../../../src/manifest/index.js';
import { silentLogger } from '../../../src/log.js';
import { startScheduler } from '../../../src/scheduler/index.js';
import { decode, encode, outboxPrefix, sourceKey, statusKey, type PodRecord, type Store } from '../../../src/store/index.js';
import { waitFor } from '../../support/wait.js';
import { node, pod } from '../scheduler/fixtures.js';
import { HookedStore, captureLog, putNodes, putPods, readBindings, readPods, storePerTest } from '../scheduler/harness.js';
import { applyCommit, deployment, writeDesired } from './fixtures.js';
import { shapes, statusOf, type StatusShape } from './healthFixtures.js';

const NOW = new Date('2025-06-01T12:00:00.000Z');

/** `name@node` of every pod, e.g. `web-…-0@n1` (unbound: `@-`). */
const placement = (pods: PodRecord[]): string[] => pods.map((p) => `${p.name}@${p.node ?? '-'}`);

/**
 * The controller loop, alone and with the scheduler, against a store from `open` (a fresh, empty
 * keyspace each call): run on MemoryStore by the unit tests and on etcd by the integration tests.
 */
export function describeControllerLoop(label: string, open: () => Promise<Store>): void {
  describe(label, () => {
    const { defer, fresh } = storePerTest(open);
    const setup = async (opts: { scheduler?: boolean; controller?: boolean } = {}): Promise<Store> => {
      const store = await fresh();
      if (opts.controller ?? true) {
        const c = await startController({ store, log: silentLogger(), resyncMs: 200, now: () => NOW });
        defer(() => c.stop());
      }
      if (opts.scheduler) {
        const s = await startScheduler({ store, log: silentLogger(), resyncMs: 200 });
        defer(() => s.stop());
      }
      return store;
    };
    /** Wait until the pods are exactly `names` (in key order), every one bound if `bound`. */
    const podsAre = (store: Store, names: string[], bound = false) =>
      waitFor(
        async () => {
          const pods = await readPods(store);
          const same = pods.map((p) => p.name).join() === names.join();
          return same && (!bound || pods.every((p) => p.node !== undefined)) ? pods : undefined;
        },
        { what: `pods ${names.join(', ') || '(none)'}${bound ? ', bound' : ''}` },
      );
    const replicas = (name: string, hash: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${name}-${hash}-${i}`);

    it('creates the pods of a sealed Deployment, and the scheduler binds them to the nodes', async () => {
      const store = await setup({ scheduler: true });
      await putNodes(store, [node('n1'), node('n2')]);
      const web = deployment('web', { replicas: 2 });
      await applyCommit(store, 'main', 'c1', [web]);
      const hash = templateHash(web.spec.template);
      const pods = await podsAre(store, replicas('web', hash, 2), true);
      expect(placement(pods)).toEqual([`web-${hash}-0@n1`, `web-${hash}-1@n2`]);
      expect(pods[0]).toMatchObject({ owner: { source: 'main', kind: 'Deployment', name: 'web' }, commit: 'c1', createdAt: NOW.toISOString(), templateHash: hash });
      expect((await readBindings(store)).map((b) => `${b.pod}@${b.node}`)).toEqual(placement(pods));
    });

    it('scales up and down', async () => {
      const store = await setup();
      const hash = templateHash(deployment('web').spec.template);
      for (const [commit, n] of [['c1', 3], ['c2', 1], ['c3', 4], ['c4', 0]] as const) {
        await applyCommit(store, 'main', commit, [deployment('web', { replicas: n })]);
        await podsAre(store, replicas('web', hash, n));
      }
    });

    it('rolls a template change one surge pod at a time as pods report ready, bindings included', async () => {
      // Was "replaces every pod at once": 2 replicas at the default 25%/25% roll with surge 1 and
      // none unavailable, so each step waits for a pod status saying the new pod is ready.
      const store = await setup({ scheduler: true });
      await putNodes(store, [node('n1'), node('n2')]);
      const v1 = deployment('web', { replicas: 2 });
      const v2 = deployment('web', { replicas: 2, pod: { image: 'nginx:1.28' } });
      const [h1, h2] = [templateHash(v1.spec.template), templateHash(v2.spec.template)];
      await applyCommit(store, 'main', 'c1', [v1]);
      await podsAre(store, replicas('web', h1, 2), true);
      await applyCommit(store, 'main', 'c2', [v2]);
      // No status yet: one surge pod, and both old pods stay.
      await podsAre(store, [...replicas('web', h1, 2), `web-${h2}-0`].sort(), true);

      // Play the agent: every bound pod reports ready; the rollout never holds more than 3 pods.
      let most = 0;
      const pods = await waitFor(
        async () => {
          const now = await readPods(store);
          most = Math.max(most, now.length);
          const put = now.filter((p) => p.node !== undefined).map((p) => ({ key: statusKey(p.node ?? '', p.namespace, p.name), value: encode(statusOf(p)) }));
          if (put.length > 0) await store.commit({ put });
          return now.map((p) => p.name).join() === replicas('web', h2, 2).join() && now.every((p) => p.node !== undefined) ? now : undefined;
        },
        { what: 'the new pods, bound' },
      );
      expect(most).toBeLessThanOrEqual(3);
      expect(pods.map((p) => p.commit)).toEqual(['c2', 'c2']);
      await waitFor(async () => (await readBindings(store)).map((b) => `${b.pod}@${b.node}`).join() === placement(pods).join(), { what: 'only the new bindings' });
    });

    it('a Recreate deletes every old pod before creating the new ones', async () => {
      const store = await setup();
      const recreate = { type: 'Recreate', maxSurge: 0, maxUnavailable: '100%' } as const;
      const v1 = deployment('web', { replicas: 3, strategy: recreate });
      const v2 = deployment('web', { replicas: 3, strategy: recreate, pod: { image: 'nginx:1.28' } });
      await applyCommit(store, 'main', 'c1', [v1]);
      await podsAre(store, replicas('web', templateHash(v1.spec.template), 3));
      await applyCommit(store, 'main', 'c2', [v2]);
      // Unbound and never ready, the new pods still come: Recreate does not wait for readiness.
      await podsAre(store, replicas('web', templateHash(v2.spec.template), 3));
    });

    it('deletes the pods and bindings of a Deployment removed from the desired set', async () => {
      const store = await setup({ scheduler: true });
      await putNodes(store, [node('n1')]);
      const web = deployment('web', { replicas: 1 });
      const api = deployment('api', { replicas: 2 });
      const [hw, ha] = [templateHash(web.spec.template), templateHash(api.spec.template)];
      await applyCommit(store, 'main', 'c1', [web, api]);
      await podsAre(store, [...replicas('api', ha, 2), ...replicas('web', hw, 1)], true);
      await applyCommit(store, 'main', 'c2', [web]);
      await podsAre(store, replicas('web', hw, 1), true);
      await waitFor(async () => (await readBindings(store)).map((b) => b.pod).join() === replicas('web', hw, 1).join(), { what: 'api bindings gone' });
    });

    it('deletes every pod of a source whose seal is deleted, and no other', async () => {
      const store = await setup();
      const [web, db] = [deployment('web'), deployment('db')];
      await applyCommit(store, 'one', 'c1', [web]);
      await applyCommit(store, 'two', 'c1', [db]);
      await podsAre(store, [...replicas('db', templateHash(db.spec.template), 1), ...replicas('web', templateHash(web.spec.template), 1)]);
      await store.commit({ del: [sourceKey('one')] });
      await podsAre(store, replicas('db', templateHash(db.spec.template), 1));
    });

    it('acts on the sealed revision only, never on newer unsealed writes (no half commits)', async () => {
      const store = await setup({ controller: false });
      const v1 = [deployment('web', { replicas: 2 })];
      const v2 = [deployment('web', { replicas: 5 }), deployment('api', { replicas: 1 })];
      const hw = templateHash(deployment('web').spec.template);
      const ha = templateHash(deployment('api').spec.template);
      // Commit c1 sealed, then c2 half-applied: sync wrote its objects and died before its seal.
      await applyCommit(store, 'main', 'c1', v1);
      await writeDesired(store, 'main', 'c2', v2);

      const c = await startController({ store, log: silentLogger(), resyncMs: 200, now: () => NOW });
      defer(() => c.stop());
      await podsAre(store, replicas('web', hw, 2));

      // Make the running controller reconcile again: a stray pod of an unsealed source is deleted,
      // and that pass still sees c1 only.
      await putPods(store, [pod('stray-0', { source: 'nowhere' })]);
      await podsAre(store, replicas('web', hw, 2));
      await c.idle();
      expect((await readPods(store)).map((p) => p.name)).toEqual(replicas('web', hw, 2));

      // Sync comes back and applies c2 again, to the end this time.
      await applyCommit(store, 'main', 'c2', v2);
      await podsAre(store, [...replicas('api', ha, 1), ...replicas('web', hw, 5)]);
    });

    it('works from memory: a status write lists nothing, and one that changes no readiness wakes no pods pass', async () => {
      const store = await fresh();
      const lists: string[] = [];
      const counted = new HookedStore(store, { beforeList: (prefix) => void lists.push(prefix) });
      const { log, lines } = captureLog();
      const c = await startController({ store: counted, log, resyncMs: 600_000, now: () => NOW });
      defer(() => c.stop());
      await putNodes(store, [node('n1')]);
      await applyCommit(store, 'main', 'c1', [deployment('web', { replicas: 2 }), deployment('api', { replicas: 1 })]);
      const pods = (await podsAre(store, [...replicas('api', templateHash(deployment('api').spec.template), 1), ...replicas('web', templateHash(deployment('web').spec.template), 2)]))
        .map((p) => ({ ...p, node: 'n1' }));
      await putPods(store, pods);
      const health = async (): Promise<string[]> =>
        (await store.list(outboxPrefix('main'))).entries.map((e) => decode('outbox', e.key, e.value)).filter((r) => r.context === 'berth/health').map((r) => r.state);
      const put = (p: PodRecord | undefined, shape: StatusShape = {}) => store.commit({ put: p ? [{ key: statusKey('n1', p.namespace, p.name), value: encode(statusOf(p, shape)) }] : [] });
      const since = { ready: { lastTransitionTime: NOW.toISOString() } };
      for (const p of pods) await put(p, since);
      await waitFor(async () => (await health()).join() === 'pending,success', { what: 'berth/health success' });
      await c.idle();

      // A crash of one pod: health reports it, and nothing was listed to find out.
      const listed = lists.length;
      await put(pods[2], shapes.crashLoop(1));
      await waitFor(async () => (await health()).join() === 'pending,success,failure', { what: 'berth/health failure' });
      await c.idle();
      expect(lists.slice(listed)).toEqual([]);

      // A later observation of a pod of another Deployment, readiness unchanged: health looks (its
      // pass), the pods loop does not wake at all.
      const passes = (component: string): number => lines.filter((l) => l.msg === 'pass' && l.component === component).length;
      const [pods0, health0] = [passes('controller'), passes('health')];
      await put(pods[0], { ...since, observedAt: new Date(NOW.getTime() + 1000) });
      await waitFor(() => passes('health') > health0, { what: 'a health pass' });
      await c.idle();
      expect(passes('controller')).toBe(pods0);
      expect(lists.slice(listed)).toEqual([]);
    });

    it('a change of one Deployment costs work for that Deployment only: its owner planned, its share of health judged, its pods scheduled', async () => {
      const store = await fresh();
      const { log, lines } = captureLog();
      const c = await startController({ store, log, resyncMs: 600_000, now: () => NOW });
      const s = await startScheduler({ store, log, resyncMs: 600_000 });
      defer(() => s.stop());
      defer(() => c.stop());
      await putNodes(store, [node('n1'), node('n2'), node('n3')]);
      const others = Array.from({ length: 5 }, (_, i) => deployment(`app-${i}`, { replicas: 3 }));
      const small = (image: string) => deployment('small', { replicas: 4, pod: { image } });
      /** Play the agents: each pod bound reports ready once (an agent writes a status on change only), until `commit`'s berth/health is success. */
      const reported = new Set<string>();
      const runUntilHealthy = (commit: string) =>
        waitFor(async () => {
          const fresh = (await readPods(store)).filter((p) => p.node !== undefined && !reported.has(`${p.node}/${p.name}`));
          for (const p of fresh) reported.add(`${p.node}/${p.name}`);
          if (fresh.length > 0) await store.commit({ put: fresh.map((p) => ({ key: statusKey(p.node ?? '', p.namespace, p.name), value: encode(statusOf(p)) })) });
          const health = (await store.list(outboxPrefix('main'))).entries.map((e) => decode('outbox', e.key, e.value));
          return health.some((r) => r.context === 'berth/health' && r.commit === commit && r.state === 'success');
        }, { what: `berth/health success of ${commit}` });
      await applyCommit(store, 'main', 'c1', [...others, small('nginx:1.27')]);
      await runUntilHealthy('c1');
      await c.idle();
      await s.idle();

      const from = lines.length;
      await applyCommit(store, 'main', 'c2', [...others, small('nginx:1.28')]);
      await runUntilHealthy('c2');
      const after = lines.slice(from);
      const of = (component: string, msg: string) => after.filter((l) => l.component === component && l.msg === msg);
      // The pods loop: passes over the one owner that changed, never over everything.
      expect(of('controller', 'pass').length).toBeGreaterThan(0);
      expect(of('controller', 'pass').map((l) => [l.all, l.keys])).toEqual(of('controller', 'pass').map(() => [false, 1]));
      // Health: the new seal and each status of small's pods judge small alone, not the 15 pods of the others.
      expect(of('health', 'deployments judged').length).toBeGreaterThan(0);
      expect(of('health', 'deployments judged').map((l) => l.judged)).toEqual(of('health', 'deployments judged').map(() => 1));
      // The scheduler: each round looks at the queued pods (small's new ones), not at every pod bound.
      const rounds = of('scheduler', 'scheduling round');
      expect(rounds.reduce((n, l) => n + Number(l.pods), 0)).toBe(4);
      expect(rounds.every((l) => l.all === false && Number(l.looked) <= 4)).toBe(true);
    });

    it('a scale-down racing fresh binds leaves exactly the bindings of the remaining pods', async () => {
      // Deletes guarded by the pod's modRevision lose to a bind that landed first, then re-read.
      const store = await setup({ scheduler: true });
      await putNodes(store, [node('n1'), node('n2')]);
      const hash = templateHash(deployment('web').spec.template);
      await applyCommit(store, 'main', 'c1', [deployment('web', { replicas: 6 })]);
      await applyCommit(store, 'main', 'c2', [deployment('web', { replicas: 2 })]);
      const pods = await podsAre(store, replicas('web', hash, 2), true);
      await waitFor(async () => (await readBindings(store)).map((b) => `${b.pod}@${b.node}`).sort().join() === placement(pods).sort().join(), {
        what: 'exactly the bindings of the remaining pods',
      });
    });
  });
}
