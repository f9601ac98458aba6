import { describe, expect, it } from 'vitest';
import { isPodReady, readyPodKeys, indexStatuses } from '../../../src/store/index.js';
import { podsOf, statusOf, want } from '../controller/healthFixtures.js';
import { deployment } from '../controller/fixtures.js';

const [pod] = podsOf(want(deployment('web'), 'c1'), { node: 'n1' });
if (!pod) throw new Error('fixture: no pod');

describe('isPodReady', () => {
  it.each([
    { case: 'bound, its node says Ready for its template', p: pod, s: statusOf(pod), ready: true },
    { case: 'no status yet', p: pod, s: undefined, ready: false },
    { case: 'not bound to a node', p: { ...pod, node: undefined }, s: statusOf(pod, { node: 'n1' }), ready: false },
    { case: 'a status from another node', p: pod, s: statusOf(pod, { node: 'n2' }), ready: false },
    { case: 'a status of another template', p: pod, s: statusOf(pod, { templateHash: 'other' }), ready: false },
    { case: 'Ready False', p: pod, s: statusOf(pod, { containers: [{ state: 'exited', exitCode: 1 }] }), ready: false },
  ])('$case → $ready', ({ p, s, ready }) => {
    expect(isPodReady(p, indexStatuses(s ? [s] : []))).toBe(ready);
  });

  it.each([
    { case: 'its node registered', nodes: new Set(['n1']), ready: true },
    { case: 'its node no longer registered', nodes: new Set(['n2']), ready: false },
    { case: 'nodes not checked', nodes: undefined, ready: true },
  ])('with a Ready status, $case → $ready', ({ nodes, ready }) => {
    expect(isPodReady(pod, indexStatuses([statusOf(pod)]), nodes)).toBe(ready);
  });

  it('readyPodKeys pairs each pod with its node\'s status', () => {
    const other = { ...pod, name: 'web-x-1' };
    expect([...readyPodKeys([pod, other], [statusOf(pod), statusOf(other, { node: 'n2' })])]).toEqual([`pods/default/${pod.name}`]);
  });
});
