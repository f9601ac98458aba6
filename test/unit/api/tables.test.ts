import { describe, expect, it } from 'vitest';
import { deploymentTable, endpointsTable, eventTable, historyTable, nodeTable, podTable, serviceTable, type Table } from '../../../src/api/tables.js';
import { deploymentViews, eventViews, historyViews, nodeViews, podViews, serviceViews } from '../../../src/api/views.js';
import { deployment } from '../controller/fixtures.js';
import { node, pod } from '../scheduler/fixtures.js';
import { NOW, ago, event, history } from './fixtures.js';

const pods = podViews([{ ...pod('web-0', { namespace: 'shop' }), createdAt: ago(90) }], [], NOW);
const deployments = deploymentViews([{ source: 'main', object: deployment('web', { replicas: 2, namespace: 'shop' }), commit: 'abcdef123' }], [], []);

describe('tables: the columns each kind prints', () => {
  it.each<{ name: string; table: Table; columns: string[]; row: string[] }>([
    {
      name: 'pods, every namespace',
      table: podTable(pods),
      columns: ['NAMESPACE', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'NODE', 'DEPLOYMENT', 'COMMIT'],
      row: ['shop', 'web-0', '0/1', 'Pending', '0', '90s', '<none>', 'web', 'c0ffee'],
    },
    {
      name: 'pods, one namespace',
      table: podTable(pods, { namespaceColumn: false }),
      columns: ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'NODE', 'DEPLOYMENT', 'COMMIT'],
      row: ['web-0', '0/1', 'Pending', '0', '90s', '<none>', 'web', 'c0ffee'],
    },
    {
      name: 'pods -o wide: the pod IP before the node',
      table: podTable(podViews([{ ...pod('web-0', { namespace: 'shop' }), node: 'n1', createdAt: ago(90) }], [{ type: 'podStatus', node: 'n1', namespace: 'shop', pod: 'web-0', templateHash: pod('web-0').templateHash, phase: 'Running', containers: [], conditions: [], observedAt: NOW.toISOString(), podIP: '172.30.0.5', hostIP: '192.0.2.2' }], NOW), { namespaceColumn: false, wide: true }),
      columns: ['NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE', 'DEPLOYMENT', 'COMMIT'],
      row: ['web-0', '0/1', 'Running', '0', '90s', '172.30.0.5', 'n1', 'web', 'c0ffee'],
    },
    {
      name: 'pods -o wide before the pod has an IP',
      table: podTable(pods, { wide: true }),
      columns: ['NAMESPACE', 'NAME', 'READY', 'STATUS', 'RESTARTS', 'AGE', 'IP', 'NODE', 'DEPLOYMENT', 'COMMIT'],
      row: ['shop', 'web-0', '0/1', 'Pending', '0', '90s', '<none>', '<none>', 'web', 'c0ffee'],
    },
    {
      name: 'deployments',
      table: deploymentTable(deployments),
      columns: ['NAMESPACE', 'NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'SOURCE', 'COMMIT'],
      row: ['shop', 'web', '0/2', '0', '0', 'main', 'abcdef1'],
    },
    {
      name: 'deployments of one source (berth status)',
      table: deploymentTable(deployments, { sourceColumn: false }),
      columns: ['NAMESPACE', 'NAME', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'COMMIT'],
      row: ['shop', 'web', '0/2', '0', '0', 'abcdef1'],
    },
    {
      name: 'nodes',
      table: nodeTable(nodeViews([{ ...node('n1'), startedAt: ago(3 * 86400), labels: { zone: 'eu-1', 'berth.io/hostname': 'n1', disk: 'ssd' } }], [], NOW)),
      columns: ['NAME', 'STATUS', 'PODS', 'CPU', 'MEMORY', 'ADDRESS', 'VERSION', 'AGE', 'LABELS'],
      row: ['n1', 'Ready', '0/110', '4', '8Gi', '127.0.0.1', 'test', '3d', 'berth.io/hostname=n1,disk=ssd,zone=eu-1'],
    },
    {
      name: 'a node without labels',
      table: nodeTable(nodeViews([{ ...node('n1'), startedAt: ago(60), labels: {} }], [], NOW)),
      columns: ['NAME', 'STATUS', 'PODS', 'CPU', 'MEMORY', 'ADDRESS', 'VERSION', 'AGE', 'LABELS'],
      row: ['n1', 'Ready', '0/110', '4', '8Gi', '127.0.0.1', 'test', '60s', '<none>'],
    },
    {
      name: 'history',
      table: historyTable(historyViews([history('main', 'abcdef1234', '2025-06-01T11:00:00.500Z', { outcome: 'rejected', errors: ['a', 'b'] })], NOW)),
      columns: ['TIME', 'SOURCE', 'COMMIT', 'OUTCOME', 'ERRORS', 'AUTHOR', 'MESSAGE'],
      row: ['2025-06-01T11:00:00Z', 'main', 'abcdef1', 'rejected', '2', 'Ada', 'abcdef1234 message'],
    },
    {
      name: 'events',
      table: eventTable(eventViews([event(ago(3), 'Drifted')], NOW)),
      columns: ['LAST SEEN', 'TYPE', 'COMPONENT', 'REASON', 'OBJECT', 'MESSAGE'],
      row: ['3s', 'Normal', 'agent', 'Drifted', 'pod/default/web-1', 'Drifted happened'],
    },
  ])('$name', ({ table, columns, row }) => {
    expect(table).toEqual({ columns, rows: [row] });
  });
});

describe('tables: services and endpoints', () => {
  const [view] = serviceViews([{
    type: 'endpoints', namespace: 'shop', service: 'db', source: 'main', serviceType: 'ClusterIP', headless: true, ports: [],
    endpoints: ['a', 'b', 'c', 'd', 'e'].map((p, i) => ({ pod: p, node: 'n1', ...(i === 4 ? {} : { podIP: `10.88.0.${i + 2}` }), ports: [{ name: '', containerPort: 5432 }] })),
  }]);
  it('a headless Service without ports; endpoints past three are counted, a pod without an IP by its name', () => {
    if (view === undefined) throw new Error('no view');
    expect(serviceTable([view])).toEqual({ columns: ['NAMESPACE', 'NAME', 'TYPE', 'CLUSTER-IP', 'PORT(S)', 'ENDPOINTS', 'SOURCE'], rows: [['shop', 'db', 'ClusterIP', 'None', '<none>', '5', 'main']] });
    expect(view.endpoints.at(-1)).toBe('e:5432');
    expect(endpointsTable([view], { namespaceColumn: false })).toEqual({ columns: ['NAME', 'ENDPOINTS'], rows: [['db', '10.88.0.2:5432,10.88.0.3:5432,10.88.0.4:5432 + 2 more...']] });
  });
});
