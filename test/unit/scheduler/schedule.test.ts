import { describe, expect, it } from 'vitest';
import { schedule } from '../../../src/scheduler/schedule.js';
import type { NodeRecord, PodRecord } from '../../../src/store/records.js';
import { node, pod } from './fixtures.js';

interface Case {
  case: string;
  nodes: NodeRecord[];
  placed?: PodRecord[];
  pods: PodRecord[];
  /** `pod→node` in the order bound. */
  bind: string[];
  /** `pod: reason`. */
  unschedulable?: string[];
}

const PORTS = "node(s) didn't have free ports for the requested pod ports";
const SELECTOR = "node(s) didn't match node selector";

describe('schedule', () => {
  it.each<Case>([
    {
      case: 'spreads the replicas of one Deployment over identical nodes',
      nodes: [node('n1'), node('n2'), node('n3')],
      pods: [pod('web-0'), pod('web-1'), pod('web-2')],
      bind: ['web-0→n1', 'web-1→n2', 'web-2→n3'],
    },
    {
      case: 'breaks ties by node name, whatever the input order',
      nodes: [node('b'), node('c'), node('a')],
      pods: [pod('web-0')],
      bind: ['web-0→a'],
    },
    {
      case: 'takes pods in key order, whatever the input order',
      nodes: [node('n1'), node('n2')],
      pods: [pod('web-1'), pod('web-0')],
      bind: ['web-0→n1', 'web-1→n2'],
    },
    {
      case: 'counts placed pods of the same owner',
      nodes: [node('n1'), node('n2')],
      placed: [pod('web-0', { node: 'n1' })],
      pods: [pod('web-1')],
      bind: ['web-1→n2'],
    },
    {
      case: 'spread before least allocated: a second replica goes to the small empty node',
      nodes: [node('big', { cpu: 8000 }), node('small', { cpu: 1000 })],
      placed: [pod('web-0', { node: 'big', cpu: 100 })],
      pods: [pod('web-1', { cpu: 100 })],
      bind: ['web-1→small'],
    },
    {
      case: 'least allocated when spread ties',
      nodes: [node('n1', { cpu: 4000 }), node('n2', { cpu: 4000 })],
      placed: [pod('db-0', { owner: 'db', node: 'n1', cpu: 3000 }), pod('cache-0', { owner: 'cache', node: 'n2', cpu: 100 }), pod('cache-1', { owner: 'cache', node: 'n2', cpu: 100 })],
      pods: [pod('web-0', { cpu: 100 })],
      bind: ['web-0→n2'],
    },
    {
      case: 'fewest pods when spread and allocation tie',
      nodes: [node('n1'), node('n2')],
      placed: [pod('db-0', { owner: 'db', node: 'n1' }), pod('db-1', { owner: 'db', node: 'n1' }), pod('cache-0', { owner: 'cache', node: 'n2' })],
      pods: [pod('web-0')],
      bind: ['web-0→n2'],
    },
    {
      case: 'later pods of a round see earlier placements (host ports)',
      nodes: [node('n1'), node('n2')],
      pods: [pod('web-0', { hostPorts: [80] }), pod('web-1', { hostPorts: [80] }), pod('web-2', { hostPorts: [80] })],
      bind: ['web-0→n1', 'web-1→n2'],
      unschedulable: [`web-2: 0/2 nodes are available: 2 ${PORTS}`],
    },
    {
      case: 'later pods of a round see earlier placements (resources)',
      nodes: [node('n1', { cpu: 1000 })],
      pods: [pod('a-0', { owner: 'a', cpu: 600 }), pod('b-0', { owner: 'b', cpu: 600 })],
      bind: ['a-0→n1'],
      unschedulable: ['b-0: 0/1 nodes are available: 1 Insufficient cpu'],
    },
    {
      case: 'only nodes with the selected labels',
      nodes: [node('n1'), node('n2', { labels: { disk: 'ssd' } }), node('n3')],
      pods: [pod('web-0', { nodeSelector: { disk: 'ssd' } }), pod('web-1', { nodeSelector: { disk: 'ssd' } })],
      bind: ['web-0→n2', 'web-1→n2'],
    },
    {
      case: 'reason names every filter that rejected a node, in filter order',
      nodes: [node('n1'), node('n2', { labels: { disk: 'ssd' } })],
      placed: [pod('proxy-0', { owner: 'proxy', node: 'n2', hostPorts: [443] })],
      pods: [pod('web-0', { nodeSelector: { disk: 'ssd' }, hostPorts: [443] })],
      bind: [],
      unschedulable: [`web-0: 0/2 nodes are available: 1 ${SELECTOR}, 1 ${PORTS}`],
    },
    {
      case: 'reason counts resource shortfalls per kind',
      nodes: [node('a', { labels: { disk: 'ssd' }, cpu: 100 }), node('b', { labels: { disk: 'ssd' }, pods: 0 }), node('c', { labels: { disk: 'ssd' }, cpu: 100, memory: 100 }), node('d')],
      pods: [pod('web-0', { nodeSelector: { disk: 'ssd' }, cpu: 500, memory: 500 })],
      bind: [],
      unschedulable: [`web-0: 0/4 nodes are available: 1 ${SELECTOR}, 2 Insufficient cpu, 1 Insufficient memory, 1 Too many pods`],
    },
    {
      case: 'no nodes at all',
      nodes: [],
      pods: [pod('web-0')],
      bind: [],
      unschedulable: ['web-0: 0/0 nodes are available: no nodes registered'],
    },
    {
      case: 'pods bound to a node that is gone take nothing',
      nodes: [node('n1', { pods: 1 })],
      placed: [pod('web-0', { node: 'gone' })],
      pods: [pod('web-1')],
      bind: ['web-1→n1'],
    },
    {
      case: 'nothing to place',
      nodes: [node('n1')],
      pods: [],
      bind: [],
    },
  ])('$case', ({ nodes, placed, pods, bind, unschedulable }) => {
    const result = schedule(pods, nodes, placed ?? []);
    expect(result.bind.map((b) => `${b.pod.name}→${b.node}`)).toEqual(bind);
    expect(result.unschedulable.map((u) => `${u.pod.name}: ${u.reason}`)).toEqual(unschedulable ?? []);
  });

  it('does not change its inputs', () => {
    const nodes = [node('n2'), node('n1')];
    const pods = [pod('web-1'), pod('web-0')];
    const snapshot = structuredClone({ nodes, pods });
    schedule(pods, nodes, []);
    expect({ nodes, pods }).toEqual(snapshot);
  });
});
