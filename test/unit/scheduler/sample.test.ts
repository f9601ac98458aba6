import { describe, expect, it } from 'vitest';
import { numFeasibleNodesToFind } from '../../../src/scheduler/sample.js';

describe('numFeasibleNodesToFind', () => {
  it.each([
    { case: 'every node of a small cluster', total: 0, percentage: 0, find: 0 },
    { case: 'every node below 100', total: 99, percentage: 0, find: 99 },
    { case: 'adaptive at 100 nodes: 50 % but never under 100', total: 100, percentage: 0, find: 100 },
    { case: 'adaptive at 1,000 nodes: 42 %', total: 1000, percentage: 0, find: 420 },
    { case: 'adaptive at 5,000 nodes: 10 %', total: 5000, percentage: 0, find: 500 },
    { case: 'adaptive never under 5 %', total: 20_000, percentage: 0, find: 1000 },
    { case: 'a set share', total: 1000, percentage: 30, find: 300 },
    { case: 'a set share never under 100 nodes', total: 1000, percentage: 1, find: 100 },
    { case: 'a set share of a small cluster is every node', total: 50, percentage: 10, find: 50 },
    { case: '100 % is every node', total: 5000, percentage: 100, find: 5000 },
  ])('$case', ({ total, percentage, find }) => {
    expect(numFeasibleNodesToFind(total, percentage)).toBe(find);
  });
});
