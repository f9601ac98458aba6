import { describe, expect, it } from 'vitest';
import { isPodReady, readyPodKeys } from '../../../src/controller/ready.js';
import { podsOf, statusOf, want } from './healthFixtures.js';
import { deployment } from './fixtures.js';

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
    expect(isPodReady(p, s)).toBe(ready);
  });

  it('readyPodKeys pairs each pod with its node\'s status', () => {
    const other = { ...pod, name: 'web-x-1' };
    expect([...readyPodKeys([pod, other], [statusOf(pod), statusOf(other, { node: 'n2' })])]).toEqual([`pods/default/${pod.name}`]);
  });
});
