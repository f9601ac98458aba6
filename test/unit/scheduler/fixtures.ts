import type { ContainerPort, PodTemplate } from '../../../src/manifest/types.js';
import type { NodeRecord, PodRecord } from '../../../src/store/records.js';

/** What a test pod asks for; everything else is a fixed default. */
export interface PodShape {
  namespace?: string;
  owner?: string;
  source?: string;
  node?: string;
  nodeSelector?: Record<string, string>;
  hostPorts?: (number | { hostPort: number; protocol: ContainerPort['protocol'] })[];
  cpu?: number;
  memory?: number;
  /** A container limit without a request. */
  limitCpu?: number;
  image?: string;
}

/** A pod template with one container shaped by `s`. */
export function template(s: PodShape = {}): PodTemplate {
  return {
    labels: { app: s.owner ?? 'web' },
    containers: [
      {
        name: 'main',
        image: s.image ?? 'nginx:1.27',
        command: [],
        args: [],
        env: [],
        ports: (s.hostPorts ?? []).map((p) =>
          typeof p === 'number' ? { containerPort: p, hostPort: p, protocol: 'TCP' as const } : { containerPort: p.hostPort, ...p },
        ),
        resources: {
          requests: { ...(s.cpu === undefined ? {} : { cpu: s.cpu }), ...(s.memory === undefined ? {} : { memory: s.memory }) },
          limits: s.limitCpu === undefined ? {} : { cpu: s.limitCpu },
        },
      },
    ],
    nodeSelector: s.nodeSelector ?? {},
    restartPolicy: 'Always',
  };
}

/** A pod record named `name` shaped by `s`. */
export function pod(name: string, s: PodShape = {}): PodRecord {
  return {
    type: 'pod',
    namespace: s.namespace ?? 'default',
    name,
    owner: { source: s.source ?? 'main', kind: 'Deployment', name: s.owner ?? 'web' },
    templateHash: 'abcdef0123',
    template: template(s),
    commit: 'c0ffee',
    createdAt: '2025-01-01T00:00:00.000Z',
    ...(s.node === undefined ? {} : { node: s.node }),
  };
}

/** What a test node offers; by default plenty of everything. */
export interface NodeShape {
  labels?: Record<string, string>;
  cpu?: number;
  memory?: number;
  pods?: number;
}

/** A node record named `name` shaped by `s`. */
export function node(name: string, s: NodeShape = {}): NodeRecord {
  return {
    type: 'node',
    name,
    labels: s.labels ?? {},
    capacity: { cpu: s.cpu ?? 4000, memory: s.memory ?? 8 * 2 ** 30, pods: s.pods ?? 110 },
    address: '127.0.0.1',
    version: 'test',
    startedAt: '2025-01-01T00:00:00.000Z',
  };
}
