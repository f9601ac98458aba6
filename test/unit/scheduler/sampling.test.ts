import { describe, expect, it } from 'vitest';
import { FITS, type FilterPlugin } from '../../../src/scheduler/framework.js';
import { DEFAULT_PROFILE, schedule } from '../../../src/scheduler/schedule.js';
import type { NodeRecord, PodRecord } from '../../../src/store/records.js';
import { node, pod } from './fixtures.js';

/** `count` nodes n000, n001, …; `shape(i)` shapes node i. */
function nodes(count: number, shape: (i: number) => Parameters<typeof node>[1] = () => ({})): NodeRecord[] {
  return Array.from({ length: count }, (_, i) => node(`n${String(i).padStart(3, '0')}`, shape(i)));
}

/** On every node but `free`, a pod of another Deployment that uses half its cpu. */
function loadAllBut(all: NodeRecord[], free: string): PodRecord[] {
  return all.filter((n) => n.name !== free).map((n) => pod(`load-${n.name}`, { owner: 'load', node: n.name, cpu: 2000 }));
}

const HALF = { ...DEFAULT_PROFILE, percentageOfNodesToScore: 50 };

describe('schedule at scale (Kubernetes percentageOfNodesToScore)', () => {
  it.each([
    { case: 'from the start, the search stops at the first 100 feasible nodes: the best of those wins', start: 0, bind: 'web-0→n000', nextStart: 100 },
    { case: 'from index 100, the search reaches the best node', start: 100, bind: 'web-0→n150', nextStart: 0 },
    { case: 'a start past the end wraps around', start: 300, bind: 'web-0→n150', nextStart: 0 },
  ])('$case', ({ start, bind, nextStart }) => {
    const all = nodes(200);
    const result = schedule([pod('web-0', { cpu: 100 })], all, loadAllBut(all, 'n150'), HALF, { start });
    expect(result.bind.map((b) => `${b.pod.name}→${b.node}`)).toEqual([bind]);
    expect(result.nextStart).toBe(nextStart);
  });

  it('each pod searches on from where the previous one stopped', () => {
    const result = schedule([pod('a-0', { owner: 'a' }), pod('b-0', { owner: 'b' }), pod('c-0', { owner: 'c' })], nodes(200), [], HALF);
    // a searches n000–n099, b n100–n199, c n000–n099 again, where n000 now holds a pod.
    expect(result.bind.map((b) => `${b.pod.name}→${b.node}`)).toEqual(['a-0→n000', 'b-0→n100', 'c-0→n001']);
    expect(result.nextStart).toBe(100);
  });

  it('nodes that fail a filter do not count toward the sample', () => {
    const all = nodes(200, (i) => ({ labels: { disk: i % 4 === 0 ? 'ssd' : 'hdd' } }));
    const placed = all.filter((n) => n.name !== 'n196').map((n) => pod(`load-${n.name}`, { owner: 'load', node: n.name, cpu: 2000 }));
    // 50 ssd nodes, fewer than the 100 to find: the search visits every node and finds the emptiest.
    const result = schedule([pod('web-0', { nodeSelector: { disk: 'ssd' } })], all, placed, HALF);
    expect(result.bind.map((b) => `${b.pod.name}→${b.node}`)).toEqual(['web-0→n196']);
    expect(result.nextStart).toBe(0);
  });

  it('spreads a Deployment as scoring every node does', () => {
    const all = nodes(1000);
    const replicas = Array.from({ length: 300 }, (_, i) => pod(`web-${String(i).padStart(3, '0')}`));
    const sampled = schedule(replicas, all, []);
    expect(new Set(sampled.bind.map((b) => b.node)).size).toBe(300);
  });

  it('a pod that fits nowhere is explained over every node, not the sample', () => {
    const result = schedule([pod('web-0', { cpu: 5000 })], nodes(200, (i) => ({ labels: { disk: i < 50 ? 'ssd' : 'hdd' } })), [], HALF);
    expect(result.unschedulable.map((u) => u.reason)).toEqual(['0/200 nodes are available: 200 Insufficient cpu']);
  });
});

describe('equivalence of filters that read only the node record', () => {
  /** A filter that counts its calls: passes nodes whose name ends in an even digit. */
  function counting(keyed: boolean): { plugin: FilterPlugin; calls: () => number } {
    let calls = 0;
    const plugin: FilterPlugin = {
      name: 'Even',
      filter(_pod, { node: n }) {
        calls++;
        return Number(n.name.slice(-1)) % 2 === 0 ? FITS : ['odd'];
      },
      ...(keyed ? { equivalenceKey: () => 'all' } : {}),
    };
    return { plugin, calls: () => calls };
  }

  it.each([
    { case: 'with a key: once per key and node', keyed: true, calls: 4 },
    { case: 'without: once per pod and node', keyed: false, calls: 12 },
  ])('$case', ({ keyed, calls }) => {
    const f = counting(keyed);
    const result = schedule([pod('a-0', { owner: 'a' }), pod('b-0', { owner: 'b' }), pod('c-0', { owner: 'c' })], nodes(4), [], { filters: [f.plugin], scores: DEFAULT_PROFILE.scores });
    expect(result.bind.map((b) => `${b.pod.name}→${b.node}`)).toEqual(['a-0→n000', 'b-0→n002', 'c-0→n000']);
    expect(f.calls()).toBe(calls);
  });

  it('pods with different selectors never share a verdict, even with one template hash', () => {
    const all = [node('hdd-1', { labels: { disk: 'hdd' } }), node('ssd-1', { labels: { disk: 'ssd' } })];
    const pods = [pod('a-0', { owner: 'a', nodeSelector: { disk: 'ssd' } }), pod('b-0', { owner: 'b', nodeSelector: { disk: 'hdd' } }), pod('c-0', { owner: 'c', nodeSelector: { disk: 'ssd' } })];
    expect(new Set(pods.map((p) => p.templateHash)).size).toBe(1);
    const result = schedule(pods, all, []);
    expect(result.bind.map((b) => `${b.pod.name}→${b.node}`)).toEqual(['a-0→ssd-1', 'b-0→hdd-1', 'c-0→ssd-1']);
  });

  it('the replicas of a Deployment that fits nowhere are searched for and explained once a round', () => {
    let calls = 0;
    const full: FilterPlugin = {
      name: 'Full',
      filter() {
        calls++;
        return ['Too many pods'];
      },
    };
    const pods = [pod('web-0'), pod('web-1'), pod('web-2'), pod('db-0', { owner: 'db' })];
    const result = schedule(pods, nodes(4), [], { filters: [full], scores: DEFAULT_PROFILE.scores });
    const reason = '0/4 nodes are available: 4 Too many pods';
    expect(result.unschedulable.map((u) => `${u.pod.name}: ${u.reason}`)).toEqual([`db-0: ${reason}`, `web-0: ${reason}`, `web-1: ${reason}`, `web-2: ${reason}`]);
    // db-0 and web-0: a search and an explanation of 4 nodes each; web-1 and web-2 take web-0's.
    expect(calls).toBe(16);
  });
});
