import { describe, expect, it } from 'vitest';
import { podRequests } from '../../../src/scheduler/index.js';
import type { ContainerSpec } from '../../../src/manifest/types.js';
import { pod } from './fixtures.js';

/** A container asking for `cpu` millicores and `memory` bytes (a limit alone when `limitOnly`). */
function container(name: string, cpu: number | undefined, memory: number | undefined, limitOnly = false): ContainerSpec {
  const r = { ...(cpu === undefined ? {} : { cpu }), ...(memory === undefined ? {} : { memory }) };
  return { name, image: 'busybox', command: [], args: [], env: [], ports: [], resources: limitOnly ? { requests: {}, limits: r } : { requests: r, limits: {} } };
}

describe('podRequests', () => {
  // Kubernetes' effective request: max(sum of the containers, the largest init container), per resource.
  it.each([
    { case: 'one container', containers: [container('a', 100, 64)], init: [], want: { cpu: 100, memory: 64 } },
    { case: 'containers add up', containers: [container('a', 100, 64), container('b', 250, 32)], init: [], want: { cpu: 350, memory: 96 } },
    { case: 'a smaller init container changes nothing', containers: [container('a', 100, 64)], init: [container('i', 50, 16)], want: { cpu: 100, memory: 64 } },
    { case: 'a larger init container sets the request', containers: [container('a', 100, 64)], init: [container('i', 500, 256)], want: { cpu: 500, memory: 256 } },
    { case: 'init containers run one at a time: the largest counts, not their sum', containers: [container('a', 100, 64)], init: [container('i', 300, 10), container('j', 200, 200)], want: { cpu: 300, memory: 200 } },
    { case: 'per resource: cpu from the init container, memory from the sum', containers: [container('a', 100, 64), container('b', 100, 64)], init: [container('i', 1000, 100)], want: { cpu: 1000, memory: 128 } },
    { case: 'an init container with a limit only requests its limit', containers: [container('a', 100, 64)], init: [container('i', 400, undefined, true)], want: { cpu: 400, memory: 64 } },
    { case: 'nothing asked', containers: [container('a', undefined, undefined)], init: [container('i', undefined, undefined)], want: { cpu: 0, memory: 0 } },
  ])('$case', ({ containers, init, want }) => {
    const p = pod('p');
    const withInit = { ...p, template: { ...p.template, containers, ...(init.length === 0 ? {} : { initContainers: init }) } };
    expect(podRequests(withInit)).toEqual(want);
  });
});
