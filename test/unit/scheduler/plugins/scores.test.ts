import { describe, expect, it } from 'vitest';
import { nodeInfo, podInfo } from '../../../../src/scheduler/framework.js';
import { leastAllocated } from '../../../../src/scheduler/plugins/leastAllocated.js';
import { fewestPods, spreadByOwner } from '../../../../src/scheduler/plugins/spread.js';
import { node, pod, type NodeShape, type PodShape } from '../fixtures.js';

describe('leastAllocated score', () => {
  it.each<{ case: string; capacity: NodeShape; placed: PodShape[]; wants: PodShape; score: number }>([
    { case: 'empty node, no requests', capacity: { cpu: 1000, memory: 1000 }, placed: [], wants: {}, score: 100 },
    { case: 'counts the pod being placed', capacity: { cpu: 1000, memory: 1000 }, placed: [], wants: { cpu: 500, memory: 500 }, score: 50 },
    { case: 'averages cpu and memory', capacity: { cpu: 1000, memory: 1000 }, placed: [{ cpu: 1000 }], wants: {}, score: 50 },
    { case: 'adds placed pods', capacity: { cpu: 1000, memory: 1000 }, placed: [{ cpu: 250, memory: 250 }], wants: { cpu: 250, memory: 250 }, score: 50 },
    { case: 'floors to an integer', capacity: { cpu: 3, memory: 3 }, placed: [], wants: { cpu: 1, memory: 1 }, score: 66 },
    { case: 'zero capacity scores 0 for it', capacity: { cpu: 0, memory: 1000 }, placed: [], wants: {}, score: 50 },
  ])('$case', ({ capacity, placed, wants, score }) => {
    const info = nodeInfo(node('n', capacity), placed.map((s, i) => pod(`placed-${i}`, { ...s, node: 'n' })));
    expect(leastAllocated.score(podInfo(pod('p', wants)), info)).toBe(score);
  });
});

describe('spread scores', () => {
  const placed = [pod('a-0', { owner: 'a', node: 'n' }), pod('a-1', { owner: 'a', node: 'n' }), pod('b-0', { owner: 'b', node: 'n' })];
  it.each([
    { case: 'same owner twice', wants: pod('a-2', { owner: 'a' }), owner: -2, all: -3 },
    { case: 'other owner once', wants: pod('b-1', { owner: 'b' }), owner: -1, all: -3 },
    { case: 'new owner', wants: pod('c-0', { owner: 'c' }), owner: 0, all: -3 },
    { case: 'same name in another namespace is another owner', wants: pod('a-0', { owner: 'a', namespace: 'other' }), owner: 0, all: -3 },
    { case: 'same name from another source is another owner', wants: pod('a-9', { owner: 'a', source: 'other' }), owner: 0, all: -3 },
  ])('$case', ({ wants, owner, all }) => {
    const info = nodeInfo(node('n'), placed);
    expect(spreadByOwner.score(podInfo(wants), info)).toBe(owner);
    expect(fewestPods.score(podInfo(wants), info)).toBe(all);
  });
});
