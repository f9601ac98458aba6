import { describe, expect, it } from 'vitest';
import { NODE_GRACE_MS, startController, startHealthLoop, type Controller } from '../../../src/controller/index.js';
import { silentLogger } from '../../../src/log.js';
import type { DeploymentObject } from '../../../src/manifest/types.js';
import {
  decode, encode, healthKey, nodeKey, outboxPrefix, podKey, sourceKey, statusKey, type PodRecord, type PodStatusRecord, type Store,
} from '../../../src/store/index.js';
import { FakeClock } from '../../support/clock.js';
import { GiveUp, waitFor } from '../../support/wait.js';
import { node } from '../scheduler/fixtures.js';
import { putNodes, readPods, storePerTest } from '../scheduler/harness.js';
import { applyCommit, deployment } from './fixtures.js';
import { podsOf, shapes, statusOf, want, type StatusShape } from './healthFixtures.js';

/** Far longer than any wait in these tests: only the test's clock can pass it, never the wall clock. */
const SETTLE_MS = 60_000;
/** No periodic resync within a test: what changes with time must come from the clock's wake-up timer. */
const RESYNC_MS = 600_000;

/**
 * The controller's `berth/health` reports, against a store from `open` (a fresh, empty keyspace each
 * call): run on MemoryStore by the unit tests and on etcd by the integration tests. Pods are bound
 * and statuses written by hand, as the scheduler and an agent on node n1 would. Time is a FakeClock
 * per test: a settle window or a node's grace ends when the test advances it, never by the wall clock.
 */
export function describeHealthLoop(label: string, open: () => Promise<Store>): void {
  describe(label, () => {
    const { defer, fresh } = storePerTest(open);
    let clock = new FakeClock(new Date('2025-06-01T12:00:00.000Z'));

    const setup = async (): Promise<Store> => {
      clock = new FakeClock(new Date('2025-06-01T12:00:00.000Z'));
      const store = await fresh();
      await putNodes(store, [node('n1')]);
      return store;
    };
    const start = async (store: Store): Promise<Controller> => {
      const c = await startController({ store, log: silentLogger(), resyncMs: RESYNC_MS, settleMs: SETTLE_MS, now: clock.now, setTimer: clock.setTimer });
      let stopped = false;
      defer(async () => {
        if (!stopped) await c.stop();
      });
      return { idle: () => c.idle(), stop: async () => ((stopped = true), await c.stop()) };
    };

    /** Every `berth/health` entry of source main so far: `<commit> <state> <description>`. */
    const reported = async (store: Store): Promise<string[]> =>
      (await store.list(outboxPrefix('main'))).entries
        .map((e) => decode('outbox', e.key, e.value))
        .filter((r) => r.context === 'berth/health')
        .map((r) => `${r.commit} ${r.state} ${r.description}`);
    /**
     * Wait until exactly `lines` were reported (a line too many fails at once); with `advanceMs`,
     * move the clock that far on each look (again and again: the loop may set its wake-up later).
     */
    const reportedAre = (store: Store, lines: string[], advanceMs?: number) =>
      waitFor(async () => {
        if (advanceMs !== undefined) clock.advance(advanceMs);
        const now = await reported(store);
        if (now.some((l, i) => l !== lines[i])) throw new GiveUp(`reported ${JSON.stringify(now)}, expected ${JSON.stringify(lines)}`);
        return now.length === lines.length;
      }, { what: `health reports ${JSON.stringify(lines)}` });

    /** Wait for the pods of the Deployment `web` (`replicas`, `image`) at `commit`, then bind them to n1. */
    const bound = async (store: Store, commit: string, replicas: number, image?: string): Promise<PodRecord[]> => {
      const names = podsOf(want(web(replicas, image), commit)).map((p) => p.name);
      const pods = await waitFor(async () => {
        const all = await readPods(store);
        return all.map((p) => p.name).join() === names.join() ? all : undefined;
      }, { what: `pods ${names.join(', ')}` });
      const placed = pods.map((p) => ({ ...p, node: 'n1' }));
      await store.commit({ put: placed.map((p) => ({ key: podKey(p.namespace, p.name), value: encode(p) })) });
      return placed;
    };
    const put = async (store: Store, statuses: PodStatusRecord[]): Promise<void> => {
      await store.commit({ put: statuses.map((s) => ({ key: statusKey(s.node, s.namespace, s.pod), value: encode(s) })) });
    };
    const putShape = (store: Store, p: PodRecord | undefined, shape: StatusShape): Promise<void> => {
      if (!p) throw new Error('no such pod');
      return put(store, [statusOf(p, shape)]);
    };
    /** Commit `commit` with `replicas` of web, bind its pods and make them ready: reported pending, then success. */
    const running = async (store: Store, commit: string, replicas = 2, image?: string, before: string[] = []): Promise<PodRecord[]> => {
      await applyCommit(store, 'main', commit, [web(replicas, image)]);
      await reportedAre(store, [...before, `${commit} pending rolling out: 0/${replicas} ready`]);
      const pods = await bound(store, commit, replicas, image);
      await put(store, pods.map((p) => statusOf(p)));
      await reportedAre(store, [...before, `${commit} pending rolling out: 0/${replicas} ready`, `${commit} success ${replicas}/${replicas} replicas of 1 deployment running ${commit}`]);
      return pods;
    };
    const ok = (commit: string, replicas = 2): string[] => [
      `${commit} pending rolling out: 0/${replicas} ready`, `${commit} success ${replicas}/${replicas} replicas of 1 deployment running ${commit}`,
    ];

    it('reports a new seal pending, then success once every replica is ready', async () => {
      const store = await setup();
      await start(store);
      await applyCommit(store, 'main', 'c1', [web(3)]);
      await reportedAre(store, ['c1 pending rolling out: 0/3 ready']);
      const pods = await bound(store, 'c1', 3);
      await put(store, pods.slice(0, 2).map((p) => statusOf(p)));
      await putShape(store, pods[2], shapes.creating());
      await reportedAre(store, ['c1 pending rolling out: 0/3 ready']); // 2/3 ready is no news
      await putShape(store, pods[2], {});
      await reportedAre(store, ok('c1', 3));
      const last = await store.get(healthKey('main'));
      expect(last && decode('health', last.key, last.value)).toMatchObject({ commit: 'c1', state: 'success', reason: 'Running' });
    });

    it('reports a commit without Deployments success at once, with no pending before it', async () => {
      const store = await setup();
      await start(store);
      await applyCommit(store, 'main', 'c1', []);
      await reportedAre(store, ['c1 success no deployments at c1']);
    });

    it('reports a commit that changes nothing that runs (pods already all ready) success at once, with no pending before it', async () => {
      const store = await setup();
      const c = await start(store);
      await running(store, 'c1');
      await applyCommit(store, 'main', 'c2', [web(2)]);
      await c.idle();
      await reportedAre(store, [...ok('c1'), 'c2 success 2/2 replicas of 1 deployment running c2']);
    });

    it('turns a Drifted pod into failure, and into success again once it is healed', async () => {
      const store = await setup();
      const c = await start(store);
      const [pod] = await running(store, 'c1');
      const ref = `default/${pod?.name}`;
      const failure = `c1 failure drift: ${ref} container main (0123456789ab) was removed; healing`;
      await putShape(store, pod, shapes.drifted());
      await reportedAre(store, [...ok('c1'), failure]);
      await putShape(store, pod, shapes.healed(clock.now()));
      // Running again, but only moments ago: still failing until it has run for the settle time.
      await c.idle();
      clock.advance(SETTLE_MS - 1);
      await c.idle();
      expect(await reported(store)).toEqual([...ok('c1'), failure]);
      await reportedAre(store, [
        ...ok('c1'), failure,
        `c1 success healed: ${ref} container main (0123456789ab) was removed; 2/2 replicas of 1 deployment running c1`,
      ], 1);
    });

    it('reports a drift the agent healed in one round (never Drifted=True) as failure, then healed', async () => {
      const store = await setup();
      await start(store);
      const [pod] = await running(store, 'c1');
      const ref = `default/${pod?.name}`;
      const failure = `c1 failure drift: ${ref} container main was stopped from outside (exited with code 137); healing`;
      await putShape(store, pod, shapes.healed(clock.now()));
      await reportedAre(store, [...ok('c1'), failure]);
      await reportedAre(store, [
        ...ok('c1'), failure,
        `c1 success healed: ${ref} container main was stopped from outside (exited with code 137); 2/2 replicas of 1 deployment running c1`,
      ], SETTLE_MS);
    });

    it('reports a crash loop once, whatever its restart count, and success once it stays up', async () => {
      const store = await setup();
      const c = await start(store);
      const [, pod] = await running(store, 'c1');
      const crash = `c1 failure crash loop: default/${pod?.name} container main exited with code 1`;
      for (let restarts = 1; restarts <= 4; restarts++) {
        await putShape(store, pod, shapes.crashLoop(restarts));
        await reportedAre(store, [...ok('c1'), crash]);
        await putShape(store, pod, shapes.restarted(clock.now(), restarts));
        await c.idle();
      }
      await reportedAre(store, [...ok('c1'), crash, `c1 success healed: default/${pod?.name} container main exited with code 1; 2/2 replicas of 1 deployment running c1`], SETTLE_MS);
    });

    it('keeps one reason for a crash loop of a pod that once drifted (its Healed condition stays)', async () => {
      const store = await setup();
      const c = await start(store);
      const [pod] = await running(store, 'c1');
      const ref = `default/${pod?.name}`;
      const drift = `${ref} container main was stopped from outside (exited with code 137)`;
      await putShape(store, pod, shapes.healed(clock.now()));
      await reportedAre(store, [...ok('c1'), `c1 failure drift: ${drift}; healing`]);
      const healed = [...ok('c1'), `c1 failure drift: ${drift}; healing`, `c1 success healed: ${drift}; 2/2 replicas of 1 deployment running c1`];
      await reportedAre(store, healed, SETTLE_MS);
      const { drifted } = shapes.healed(clock.now());
      const crash = `c1 failure crash loop: ${ref} container main exited with code 1`;
      for (let restarts = 2; restarts <= 4; restarts++) {
        await putShape(store, pod, { ...shapes.crashLoop(restarts), ...(drifted ? { drifted } : {}) });
        await reportedAre(store, [...healed, crash]);
        // Up again moments ago, the Healed condition still there: reads as that drift, which must not replace the crash loop.
        await putShape(store, pod, shapes.healed(clock.now()));
        await c.idle();
      }
      await reportedAre(store, [...healed, crash, `c1 success healed: ${ref} container main exited with code 1; 2/2 replicas of 1 deployment running c1`], SETTLE_MS);
    });

    it('starts a new seal at pending; the commit it replaced gets nothing more', async () => {
      const store = await setup();
      const c = await start(store);
      const old = await running(store, 'c1');
      // Recreate: this test is about the reports, not the rollout's pacing, so the new pods come together.
      await applyCommit(store, 'main', 'c2', [web(2, 'nginx:1.28', { type: 'Recreate', maxSurge: 0, maxUnavailable: '100%' })]);
      await reportedAre(store, [...ok('c1'), 'c2 pending rolling out: 0/2 ready']);
      // A late status of an old pod (its agent still tearing it down) concerns no commit in force.
      await putShape(store, old[0], shapes.crashLoop());
      const pods = await bound(store, 'c2', 2, 'nginx:1.28');
      await c.idle();
      await reportedAre(store, [...ok('c1'), 'c2 pending rolling out: 0/2 ready']);
      await put(store, pods.map((p) => statusOf(p)));
      await reportedAre(store, [...ok('c1'), ...ok('c2')]);
    });

    it('does not report again after a restart, nor twice with two controllers', async () => {
      const store = await setup();
      const first = await start(store);
      const [pod] = await running(store, 'c1');
      await first.stop();

      const [a, b] = [await start(store), await start(store)];
      await a.idle();
      await b.idle();
      expect(await reported(store)).toEqual(ok('c1'));

      await putShape(store, pod, shapes.imagePull());
      const failure = `c1 failure image pull failed: default/${pod?.name} container main: pull access denied for nope`;
      await reportedAre(store, [...ok('c1'), failure]);
      await a.idle();
      await b.idle();
      expect(await reported(store)).toEqual([...ok('c1'), failure]);
    });

    it('names pods on a node gone for longer than the grace; a node back within it is no news', async () => {
      const store = await setup();
      const c = await start(store);
      const [pod] = await running(store, 'c1');
      await c.stop();
      // The health loop alone (the pods are made), with berth's own grace.
      const health = await startHealthLoop({
        store, log: silentLogger(), resyncMs: RESYNC_MS, settleMs: SETTLE_MS, nodeGraceMs: NODE_GRACE_MS, now: clock.now, setTimer: clock.setTimer,
      });
      defer(() => health.stop());

      await store.commit({ del: [nodeKey('n1')] });
      await health.idle();
      clock.advance(NODE_GRACE_MS - 1);
      await putNodes(store, [node('n1')]); // back (an agent restarted) before the grace is over
      await health.idle();
      clock.advance(NODE_GRACE_MS);
      await health.idle();
      expect(await reported(store)).toEqual(ok('c1'));

      await store.commit({ del: [nodeKey('n1')] });
      const lostLine = `c1 failure node lost: default/${pod?.name} is on node n1, which is no longer registered`;
      await reportedAre(store, [...ok('c1'), lostLine], NODE_GRACE_MS);
      await putNodes(store, [node('n1')]);
      await reportedAre(store, [
        ...ok('c1'), lostLine,
        `c1 success healed: default/${pod?.name} is on node n1, which is no longer registered; 2/2 replicas of 1 deployment running c1`,
      ]);
    });

    it('forgets the last report of a source whose seal is gone', async () => {
      const store = await setup();
      await start(store);
      await running(store, 'c1');
      await store.commit({ del: [sourceKey('main')] });
      await waitFor(async () => (await store.get(healthKey('main'))) === undefined, { what: 'health/main deleted' });
    });
  });
}

/** The Deployment every test runs: `web` in default, `replicas` of one container `main`. */
function web(replicas: number, image?: string, strategy?: DeploymentObject['spec']['strategy']) {
  return deployment('web', { replicas, ...(image ? { pod: { image } } : {}), ...(strategy ? { strategy } : {}) });
}
