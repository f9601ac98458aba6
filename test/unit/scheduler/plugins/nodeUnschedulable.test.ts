import { describe, expect, it } from 'vitest';
import { nodeInfo, podInfo } from '../../../../src/scheduler/framework.js';
import { NODE_UNSCHEDULABLE, nodeUnschedulable } from '../../../../src/scheduler/plugins/nodeUnschedulable.js';
import { schedule } from '../../../../src/scheduler/schedule.js';
import { node, pod } from '../fixtures.js';

describe('nodeUnschedulable filter', () => {
  it.each([
    { case: 'a node not cordoned takes pods', cordoned: false, fits: true },
    { case: 'a cordoned node takes none', cordoned: true, fits: false },
  ])('$case', ({ cordoned, fits }) => {
    expect(nodeUnschedulable.filter(podInfo(pod('p')), nodeInfo(node('n'), [], cordoned))).toEqual(fits ? [] : [NODE_UNSCHEDULABLE]);
  });

  it('schedule leaves cordoned nodes out and says so when no node is left', () => {
    const nodes = [node('a'), node('b')];
    expect(schedule([pod('p')], nodes, [], undefined, { unschedulable: new Set(['a']) }).bind.map((b) => b.node)).toEqual(['b']);
    expect(schedule([pod('p')], nodes, [], undefined, { unschedulable: new Set(['a', 'b']) }).unschedulable.map((u) => u.reason)).toEqual([`0/2 nodes are available: 2 ${NODE_UNSCHEDULABLE}`]);
  });
});
