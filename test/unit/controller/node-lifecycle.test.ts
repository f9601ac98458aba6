import { describe, expect, it } from 'vitest';
import { FORGET_LOST_AFTER_MS, ownerKey, planNodeLifecycle, type NodeLifecycleInput } from '../../../src/controller/index.js';
import type { CordonRecord, NodeLostRecord } from '../../../src/store/index.js';
import { node, pod } from '../scheduler/fixtures.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const at = (ms: number): Date => new Date(T0 + ms);
const lost = (name: string, sinceMs: number, evictedMs?: number): NodeLostRecord => ({
  type: 'nodeLost', name, since: at(sinceMs).toISOString(), ...(evictedMs === undefined ? {} : { evictedAt: at(evictedMs).toISOString() }),
});

function input(over: Partial<NodeLifecycleInput>): NodeLifecycleInput {
  return { ready: new Set(['a', 'b']), seen: new Map([['a', node('a')], ['b', node('b')]]), lost: new Map(), pods: [], now: at(0), graceMs: 5_000, ...over };
}

describe('planNodeLifecycle', () => {
  const onA = [pod('web-1', { node: 'a' }), pod('web-0', { node: 'a' })];
  const onB = [pod('web-2', { node: 'b' })];

  it.each([
    ['every node Ready: nothing', input({ pods: [...onA, ...onB] }), { markLost: [], evict: [], evicted: [], forget: [] }],
    ['a node with pods loses its lease: NotReady now, look again at the end of the grace',
      input({ ready: new Set(['b']), pods: [...onA, ...onB] }), { markLost: ['a'], evict: [], evicted: [], forget: [], wakeAt: T0 + 5_000 }],
    ['a node seen and gone with nothing on it: NotReady, no wake-up', input({ ready: new Set(['b']) }), { markLost: ['a'], evict: [], evicted: [], forget: [] }],
    ['a node never seen but named by pods (a restarted controller): NotReady',
      input({ ready: new Set(['b']), seen: new Map([['b', node('b')]]), pods: onA }), { markLost: ['a'], evict: [], evicted: [], forget: [], wakeAt: T0 + 5_000 }],
    ['within the grace: its pods stay', input({ ready: new Set(['b']), lost: new Map([['a', lost('a', -4_000)]]), pods: onA }),
      { markLost: [], evict: [], evicted: [], forget: [], wakeAt: T0 + 1_000 }],
    ['past the grace: its pods go, by name', input({ ready: new Set(['b']), lost: new Map([['a', lost('a', -5_000)]]), pods: [...onA, ...onB] }),
      { markLost: [], evict: ['a:web-0', 'a:web-1'], evicted: ['a'], forget: [] }],
    ['back before the grace ended: its record goes, its pods stay', input({ lost: new Map([['a', lost('a', -2_000)]]), pods: onA }),
      { markLost: [], evict: [], evicted: [], forget: ['a'] }],
    ['evicted and empty: kept for an hour', input({ ready: new Set(['b']), lost: new Map([['a', lost('a', -10_000, -5_000)]]) }),
      { markLost: [], evict: [], evicted: [], forget: [] }],
    ['evicted and empty for an hour: forgotten', input({ ready: new Set(['b']), seen: new Map([['b', node('b')]]), lost: new Map([['a', lost('a', -FORGET_LOST_AFTER_MS - 10_000, -FORGET_LOST_AFTER_MS)]]) }),
      { markLost: [], evict: [], evicted: [], forget: ['a'] }],
  ])('%s', (_name, given, want) => {
    const plan = planNodeLifecycle(given);
    expect(plan.blocked).toEqual([]);
    expect({
      markLost: plan.markLost.map((r) => r.name),
      evict: plan.evict.map((e) => `${e.node}:${e.pod.name}`),
      evicted: plan.evicted.map((r) => r.name),
      forget: plan.forget,
      ...(plan.wakeAt === undefined ? {} : { wakeAt: plan.wakeAt }),
    }).toEqual(want);
  });

  it('stamps the time a node went NotReady and when its pods went, and says why in each eviction', () => {
    expect(planNodeLifecycle(input({ ready: new Set(['b']) })).markLost).toEqual([{ type: 'nodeLost', name: 'a', since: at(0).toISOString(), last: node('a') }]);
    const plan = planNodeLifecycle(input({ ready: new Set(['b']), lost: new Map([['a', lost('a', -7_000)]]), pods: onA }));
    expect(plan.evicted).toEqual([lost('a', -7_000, 0)]);
    expect(plan.evict[0]?.message).toBe('node a not ready for 7s (--node-grace 5s)');
  });
});

describe('planNodeLifecycle: drain', () => {
  const cordon = (name: string, drain: boolean): [string, CordonRecord] => [name, { type: 'cordon', name, since: at(0).toISOString(), drain }];
  const web = ownerKey('main', 'default', 'web');
  // web: 3 replicas, maxUnavailable 1 → 2 must stay ready. Two of its pods on a, one on b.
  const pods = [pod('web-0', { node: 'a' }), pod('web-1', { node: 'a' }), pod('web-2', { node: 'b' })];
  const drain = (over: Partial<NodeLifecycleInput>) => planNodeLifecycle(input({ pods: [...pods, pod('web-3', { node: 'b' })], keepReady: new Map([[web, 2]]), cordons: new Map([cordon('a', true)]), ...over }));
  const names = (plan: ReturnType<typeof planNodeLifecycle>): { evict: string[]; blocked: string[] } => ({
    evict: plan.evict.map((e) => `${e.cause}:${e.pod.name}`), blocked: plan.blocked.map((e) => e.pod.name),
  });

  it.each([
    ['all ready: one goes, the other waits', ['web-0', 'web-1', 'web-2'], { evict: ['drain:web-0'], blocked: ['web-1'] }],
    ['a pod not ready goes at once, costing nothing; the ready one waits', ['web-0', 'web-2'], { evict: ['drain:web-1'], blocked: ['web-0'] }],
    ['three ready with a fourth (a replacement) elsewhere: both may go', ['web-0', 'web-1', 'web-2', 'web-3'], { evict: ['drain:web-0', 'drain:web-1'], blocked: [] }],
  ])('%s', (_name, ready, want) => {
    expect(names(drain({ readyPods: new Set(ready.map((n) => `pods/default/${n}`)) }))).toEqual(want);
  });

  it('a cordon alone moves nothing; a drained node that is NotReady is left to the grace; a pod of no Deployment in force is left to the controller', () => {
    const readyPods = new Set(pods.map((p) => `pods/default/${p.name}`));
    expect(names(drain({ readyPods, cordons: new Map([cordon('a', false)]) }))).toEqual({ evict: [], blocked: [] });
    expect(names(drain({ readyPods, ready: new Set(['b']), lost: new Map([['a', lost('a', -1_000)]]) }))).toEqual({ evict: [], blocked: [] });
    expect(names(drain({ readyPods, keepReady: new Map() }))).toEqual({ evict: [], blocked: [] });
  });
});
