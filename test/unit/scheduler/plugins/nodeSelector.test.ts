import { describe, expect, it } from 'vitest';
import { nodeInfo, podInfo } from '../../../../src/scheduler/framework.js';
import { NODE_SELECTOR_MISMATCH, nodeSelector } from '../../../../src/scheduler/plugins/nodeSelector.js';
import { node, pod } from '../fixtures.js';

describe('nodeSelector filter', () => {
  it.each<{ case: string; selector: Record<string, string>; labels: Record<string, string>; fits: boolean }>([
    { case: 'no selector fits any node', selector: {}, labels: {}, fits: true },
    { case: 'matching label', selector: { disk: 'ssd' }, labels: { disk: 'ssd', zone: 'a' }, fits: true },
    { case: 'every key must match', selector: { disk: 'ssd', zone: 'b' }, labels: { disk: 'ssd', zone: 'a' }, fits: false },
    { case: 'missing label', selector: { disk: 'ssd' }, labels: {}, fits: false },
    { case: 'different value', selector: { disk: 'ssd' }, labels: { disk: 'hdd' }, fits: false },
    { case: 'empty value must match exactly', selector: { gpu: '' }, labels: { gpu: '' }, fits: true },
  ])('$case', ({ selector, labels, fits }) => {
    const reasons = nodeSelector.filter(podInfo(pod('p', { nodeSelector: selector })), nodeInfo(node('n', { labels })));
    expect(reasons).toEqual(fits ? [] : [NODE_SELECTOR_MISMATCH]);
  });
});
