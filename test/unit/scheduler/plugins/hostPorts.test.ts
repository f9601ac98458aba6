import { describe, expect, it } from 'vitest';
import { nodeInfo, podInfo } from '../../../../src/scheduler/framework.js';
import { HOST_PORTS_TAKEN, hostPorts } from '../../../../src/scheduler/plugins/hostPorts.js';
import { node, pod, type PodShape } from '../fixtures.js';

describe('hostPorts filter', () => {
  it.each<{ case: string; placed: PodShape['hostPorts'][]; wants: PodShape['hostPorts']; fits: boolean }>([
    { case: 'no host ports fit anywhere', placed: [[80]], wants: [], fits: true },
    { case: 'free port', placed: [[80]], wants: [8080], fits: true },
    { case: 'taken port', placed: [[8080]], wants: [8080], fits: false },
    { case: 'one of several taken', placed: [[443]], wants: [80, 443], fits: false },
    { case: 'same port, other protocol', placed: [[{ hostPort: 53, protocol: 'UDP' }]], wants: [{ hostPort: 53, protocol: 'TCP' }], fits: true },
    { case: 'same port and protocol', placed: [[{ hostPort: 53, protocol: 'UDP' }]], wants: [{ hostPort: 53, protocol: 'UDP' }], fits: false },
    { case: 'taken by any placed pod', placed: [[80], [81]], wants: [81], fits: false },
  ])('$case', ({ placed, wants, fits }) => {
    const info = nodeInfo(node('n'), placed.map((ports, i) => pod(`placed-${i}`, { hostPorts: ports, node: 'n' })));
    expect(hostPorts.filter(podInfo(pod('p', { hostPorts: wants })), info)).toEqual(fits ? [] : [HOST_PORTS_TAKEN]);
  });
});
