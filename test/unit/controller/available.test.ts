import { describe, expect, it } from 'vitest';
import { availablePods } from '../../../src/controller/available.js';
import { podKey } from '../../../src/store/index.js';
import { deployment } from './fixtures.js';
import { podsOf, statusOf, want } from './healthFixtures.js';

// minReadySeconds: a pod counts as available (and so paces a rollout) only once Ready that long.
const NOW = new Date('2025-06-01T12:00:00.000Z');
const at = (s: number): string => new Date(NOW.getTime() + s * 1000).toISOString();

describe('availablePods', () => {
  it.each([
    ['minReadySeconds 0: ready is available', 0, at(0), true, undefined],
    ['ready for exactly minReadySeconds', 10, at(-10), true, undefined],
    ['ready for less: not yet, wake when it will be', 10, at(-4), false, NOW.getTime() + 6000],
    ['ready long ago', 30, at(-3600), true, undefined],
  ])('%s', (_, minReadySeconds, since, available, wakeAt) => {
    const d = want(deployment('web', { namespace: 'demo', replicas: 1, minReadySeconds, progressDeadlineSeconds: 600 }), 'c1');
    const [pod] = podsOf(d);
    if (!pod) throw new Error('no pod');
    const result = availablePods([d], [pod], [statusOf(pod, { ready: { lastTransitionTime: since } })], NOW);
    expect(result.available.has(podKey(pod.namespace, pod.name))).toBe(available);
    expect(result.wakeAt).toBe(wakeAt);
  });

  it('an unready pod is never available', () => {
    const d = want(deployment('web', { namespace: 'demo', replicas: 1 }), 'c1');
    const [pod] = podsOf(d);
    if (!pod) throw new Error('no pod');
    const result = availablePods([d], [pod], [statusOf(pod, { ready: { status: 'False', lastTransitionTime: at(-3600) } })], NOW);
    expect(result).toEqual({ available: new Set() });
  });

  it('a status without lastTransitionTime (an older agent) counts from its observedAt', () => {
    const d = want(deployment('web', { namespace: 'demo', replicas: 1, minReadySeconds: 5 }), 'c1');
    const [pod] = podsOf(d);
    if (!pod) throw new Error('no pod');
    const result = availablePods([d], [pod], [statusOf(pod, { observedAt: new Date(NOW.getTime() - 2000) })], NOW);
    expect(result.wakeAt).toBe(NOW.getTime() + 3000);
  });
});
