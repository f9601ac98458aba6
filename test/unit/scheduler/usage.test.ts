import { describe, expect, it } from 'vitest';
import { podInfo, schedule } from '../../../src/scheduler/index.js';
import { NodeUsages } from '../../../src/scheduler/usage.js';
import type { PodRecord } from '../../../src/store/index.js';
import { node, pod } from './fixtures.js';

const nodes = ['n1', 'n2', 'n3'];
/** Every node's usage as plain data, to compare two NodeUsages. */
const snapshot = (u: NodeUsages) =>
  nodes.map((n) => {
    const x = u.get(n);
    return x && { pods: x.pods, requested: x.requested, ports: [...x.ports].sort(), owners: [...x.owners].sort() };
  });

const proxy = (name: string, n?: string): PodRecord => pod(name, { owner: 'proxy', hostPorts: [80, 443], cpu: 200, memory: 64, ...(n ? { node: n } : {}) });
const web = (name: string, n?: string): PodRecord => pod(name, { owner: 'web', cpu: 100, memory: 32, ...(n ? { node: n } : {}) });

describe('NodeUsages', () => {
  it.each([
    { case: 'binds', steps: [[undefined, web('w0', 'n1')], [undefined, proxy('p0', 'n1')], [undefined, web('w1', 'n2')]] },
    { case: 'a pod deleted frees its node, a port held by another pod stays', steps: [[undefined, proxy('p0', 'n1')], [undefined, proxy('p1', 'n1')], [proxy('p0', 'n1'), undefined]] },
    { case: 'the last pod of a node gone leaves nothing', steps: [[undefined, web('w0', 'n3')], [web('w0', 'n3'), undefined]] },
    { case: 'a pod moved to another node', steps: [[undefined, web('w0', 'n1')], [web('w0', 'n1'), web('w0', 'n2')]] },
    { case: 'unbound pods count nowhere', steps: [[undefined, web('w0')], [web('w0'), web('w0', 'n2')]] },
  ] as { case: string; steps: [PodRecord | undefined, PodRecord | undefined][] }[])('kept pod by pod equals one built afresh: $case', ({ steps }) => {
    const kept = new NodeUsages();
    const now = new Map<string, PodRecord>();
    for (const [before, after] of steps) {
      if (before) {
        kept.remove(before, podInfo(before));
        now.delete(before.name);
      }
      if (after) {
        kept.add(after, podInfo(after));
        now.set(after.name, after);
      }
    }
    expect(snapshot(kept)).toEqual(snapshot(NodeUsages.of(now.values(), podInfo)));
  });

  it('places as the list of bound pods does, and a round leaves the usages as they were', () => {
    const placed = [proxy('p0', 'n1'), web('w0', 'n1'), web('w1', 'n2')];
    const usages = NodeUsages.of(placed, podInfo);
    const before = snapshot(usages);
    const unbound = [proxy('p1'), proxy('p2'), web('w2'), web('w3')];
    const cluster = nodes.map((n) => node(n, { cpu: 1000 }));
    const fromList = schedule(unbound, cluster, placed);
    const fromUsages = schedule(unbound, cluster, usages);
    expect(fromUsages.bind.map((b) => `${b.pod.name}→${b.node}`)).toEqual(fromList.bind.map((b) => `${b.pod.name}→${b.node}`));
    // n1's ports are taken by p0: the proxies go to the other two, the emptier first.
    expect(fromUsages.bind.map((b) => `${b.pod.name}→${b.node}`)).toEqual(['p1→n3', 'p2→n2', 'w2→n3', 'w3→n1']);
    expect(snapshot(usages)).toEqual(before);
  });
});
