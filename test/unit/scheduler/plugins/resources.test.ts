import { describe, expect, it } from 'vitest';
import { nodeInfo, podInfo } from '../../../../src/scheduler/framework.js';
import { resources } from '../../../../src/scheduler/plugins/resources.js';
import { node, pod, type NodeShape, type PodShape } from '../fixtures.js';

const GiB = 2 ** 30;

describe('resources filter', () => {
  it.each<{ case: string; capacity: NodeShape; placed: PodShape[]; wants: PodShape; reasons: string[] }>([
    { case: 'no requests fit an empty node', capacity: {}, placed: [], wants: {}, reasons: [] },
    { case: 'fits exactly', capacity: { cpu: 1000, memory: GiB }, placed: [{ cpu: 500, memory: GiB / 2 }], wants: { cpu: 500, memory: GiB / 2 }, reasons: [] },
    { case: 'one millicore too many', capacity: { cpu: 1000 }, placed: [{ cpu: 500 }], wants: { cpu: 501 }, reasons: ['Insufficient cpu'] },
    { case: 'memory short', capacity: { memory: GiB }, placed: [{ memory: GiB }], wants: { memory: 1 }, reasons: ['Insufficient memory'] },
    { case: 'both short, Kubernetes order', capacity: { cpu: 100, memory: 100 }, placed: [], wants: { cpu: 200, memory: 200 }, reasons: ['Insufficient cpu', 'Insufficient memory'] },
    { case: 'pod count full', capacity: { pods: 2 }, placed: [{}, {}], wants: {}, reasons: ['Too many pods'] },
    { case: 'a zero request fits a full node', capacity: { cpu: 100 }, placed: [{ cpu: 100 }], wants: {}, reasons: [] },
    { case: 'a limit without a request counts as the request', capacity: { cpu: 100 }, placed: [], wants: { limitCpu: 200 }, reasons: ['Insufficient cpu'] },
  ])('$case', ({ capacity, placed, wants, reasons }) => {
    const info = nodeInfo(node('n', capacity), placed.map((s, i) => pod(`placed-${i}`, { ...s, node: 'n' })));
    expect(resources.filter(podInfo(pod('p', wants)), info)).toEqual(reasons);
  });
});
