import { describe, expect, it } from 'vitest';
import { formatError, isManifestPath, objectKey, parseFiles, type DesiredObject } from '../../../src/manifest/index.js';
import { DEPLOYMENT, deployment, errorsOf } from './manifests.js';

const CONFIG_MAP = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\ndata:\n  a: "1"\n';

function only(text: string, path = 'app.yaml'): DesiredObject {
  const { objects, errors } = parseFiles([{ path, text }]);
  expect(errors.map(formatError)).toEqual([]);
  expect(objects).toHaveLength(1);
  const [object] = objects;
  if (object === undefined) throw new Error('no object');
  return object;
}

/** Kubernetes' probe timings when none is written. */
const PROBE_TIMING = { initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 };

describe('parseFiles normalizes', () => {
  it('a minimal Deployment with Kubernetes defaults', () => {
    const { hash, ...rest } = only(DEPLOYMENT);
    expect(hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rest).toEqual({
      kind: 'Deployment',
      namespace: 'default',
      name: 'web',
      labels: {},
      path: 'app.yaml',
      line: 1,
      spec: {
        replicas: 1,
        strategy: { type: 'RollingUpdate', maxSurge: '25%', maxUnavailable: '25%' },
        minReadySeconds: 0,
        progressDeadlineSeconds: 600,
        template: {
          labels: { app: 'web' },
          containers: [{ name: 'web', image: 'nginx:1.27', command: [], args: [], env: [], ports: [], resources: { requests: {}, limits: {} } }],
          nodeSelector: {},
          restartPolicy: 'Always',
        },
      },
    });
  });

  it('every supported field', () => {
    const text = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api.v2
  namespace: shop
  labels: {team: payments}
  annotations: {note: dropped}
spec:
  replicas: 0
  revisionHistoryLimit: 3
  minReadySeconds: 5
  progressDeadlineSeconds: 120
  strategy:
    type: RollingUpdate
    rollingUpdate: {maxSurge: 1, maxUnavailable: 0}
  selector:
    matchLabels: {app: api}
  template:
    metadata:
      labels: {app: api, track: stable}
      annotations: {prometheus.io/scrape: "true"}
    spec:
      nodeSelector: {disk: ssd}
      restartPolicy: Always
      terminationGracePeriodSeconds: 10
      containers:
      - name: api
        image: registry:5000/shop/api:1.2
        imagePullPolicy: IfNotPresent
        command: [/bin/api]
        args: ["--port=8080", --verbose]
        env:
        - {name: MODE, value: prod}
        - {name: EMPTY}
        ports:
        - {name: http, containerPort: 8080, hostPort: 18080}
        - {containerPort: 53, protocol: UDP}
        resources:
          requests: {cpu: 0.25, memory: 129e6}
          limits: {cpu: "1", memory: 1Gi}
        readinessProbe:
          httpGet: {path: /ready, port: http}
        livenessProbe:
          tcpSocket: {port: 8080}
          failureThreshold: 5
        startupProbe:
          exec: {command: [/bin/api, check]}
        lifecycle:
          preStop:
            exec: {command: [/bin/api, drain]}
`;
    expect(only(text).spec).toEqual({
      replicas: 0,
      strategy: { type: 'RollingUpdate', maxSurge: 1, maxUnavailable: 0 },
      minReadySeconds: 5,
      progressDeadlineSeconds: 120,
      template: {
        labels: { app: 'api', track: 'stable' },
        nodeSelector: { disk: 'ssd' },
        restartPolicy: 'Always',
        terminationGracePeriodSeconds: 10,
        containers: [
          {
            name: 'api',
            image: 'registry:5000/shop/api:1.2',
            imagePullPolicy: 'IfNotPresent',
            command: ['/bin/api'],
            args: ['--port=8080', '--verbose'],
            env: [
              { name: 'MODE', value: 'prod' },
              { name: 'EMPTY', value: '' },
            ],
            ports: [
              { name: 'http', containerPort: 8080, hostPort: 18080, protocol: 'TCP' },
              { containerPort: 53, protocol: 'UDP' },
            ],
            resources: { requests: { cpu: 250, memory: 129000000 }, limits: { cpu: 1000, memory: 1073741824 } },
            readinessProbe: { httpGet: { path: '/ready', port: 'http', scheme: 'HTTP', httpHeaders: [] }, ...PROBE_TIMING },
            livenessProbe: { tcpSocket: { port: 8080 }, ...PROBE_TIMING, failureThreshold: 5 },
            startupProbe: { exec: { command: ['/bin/api', 'check'] }, ...PROBE_TIMING },
            lifecycle: { preStop: { exec: { command: ['/bin/api', 'drain'] } } },
          },
        ],
      },
    });
    expect(only(text)).toMatchObject({ namespace: 'shop', name: 'api.v2', labels: { team: 'payments' } });
  });

  it('Recreate as no surge and everything unavailable', () => {
    expect(only(deployment('  strategy: {type: Recreate}')).spec).toMatchObject({ strategy: { type: 'Recreate', maxSurge: 0, maxUnavailable: '100%' } });
  });

  it('a request left out to its limit, as Kubernetes does', () => {
    const o = only(deployment('        resources: {limits: {cpu: 500m, memory: 64Mi}, requests: {memory: 32Mi}}'));
    expect(o.kind === 'Deployment' && o.spec.template.containers[0]?.resources).toEqual({
      requests: { cpu: 500, memory: 33554432 },
      limits: { cpu: 500, memory: 67108864 },
    });
  });

  it('what `kubectl create deployment --dry-run=client -o yaml` writes', () => {
    const text = `apiVersion: apps/v1
kind: Deployment
metadata:
  creationTimestamp: null
  labels:
    app: x
  name: x
spec:
  replicas: 1
  selector:
    matchLabels:
      app: x
  strategy: {}
  template:
    metadata:
      creationTimestamp: null
      labels:
        app: x
    spec:
      containers:
      - image: nginx
        name: nginx
        resources: {}
status: {}
`;
    expect(only(text)).toMatchObject({ name: 'x', labels: { app: 'x' }, spec: { strategy: { type: 'RollingUpdate' } } });
  });

  it('null values as unset, as Kubernetes reads them', () => {
    expect(only(deployment('  replicas:', '  strategy: ~')).spec).toMatchObject({ replicas: 1, strategy: { type: 'RollingUpdate' } });
  });

  it('aliases to their anchors', () => {
    const text = DEPLOYMENT.replace('    matchLabels:\n      app: web', '    matchLabels: &labels\n      app: web').replace(
      '      labels:\n        app: web',
      '      labels: *labels',
    );
    expect(only(text).spec).toMatchObject({ template: { labels: { app: 'web' } } });
  });

  it('a ConfigMap', () => {
    expect(only(CONFIG_MAP)).toMatchObject({ kind: 'ConfigMap', namespace: 'default', name: 'cfg', labels: {}, spec: { data: { a: '1' } } });
  });

  it('a data key such as __proto__ as plain data', () => {
    const o = only(`${CONFIG_MAP}  __proto__: x\n`);
    expect(Object.getPrototypeOf(o.spec)).toBe(Object.prototype);
    expect(o.kind === 'ConfigMap' && Object.entries(o.spec.data)).toEqual([
      ['a', '1'],
      ['__proto__', 'x'],
    ]);
  });

  it('JSON, read by the same parser, with positions', () => {
    const json = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' }, data: { a: 'b' } }, null, '\t');
    expect(only(json, 'cfg.json')).toMatchObject({ kind: 'ConfigMap', path: 'cfg.json', spec: { data: { a: 'b' } } });
    expect(errorsOf('{\n  "apiVersion": "v1",\n  "kind": "ConfigMap",\n  "metadata": {"name": "cfg", "labls": {}},\n  "data": {"a": 1}\n}\n', 'cfg.json')).toEqual([
      'cfg.json:4:31: metadata.labls: unknown field; did you mean `labels`?',
      'cfg.json:5:17: data.a: must be a string, not the number 1; quote it: "1"',
    ]);
    expect(errorsOf('{\n  "apiVersion": "v1",\n', 'cfg.json')).toEqual(['cfg.json:3:1: invalid JSON: Flow map must end with a }']);
  });
});

describe('parseFiles over files and documents', () => {
  it('reads multi-document files, skipping empty documents, with each document’s line', () => {
    const text = `# leading comment
---
${CONFIG_MAP}---
---
# only a comment
---
${DEPLOYMENT}...
`;
    const { objects, errors } = parseFiles([{ path: 'all.yaml', text }]);
    expect(errors).toEqual([]);
    expect(objects.map((o) => [objectKey(o), o.line])).toEqual([
      ['ConfigMap/default/cfg', 3],
      ['Deployment/default/web', 13],
    ]);
  });

  it('reads nothing from empty files', () => {
    expect(parseFiles([{ path: 'a.yaml', text: '' }, { path: 'b.yaml', text: '# nothing\n' }])).toEqual({ objects: [], errors: [], omitted: 0, skipped: [], warnings: [] });
  });

  it('collects every error of every file, sorted by place', () => {
    const { errors } = parseFiles([
      { path: 'b.yaml', text: deployment('  replcas: 3', '  foo: 1') },
      { path: 'a.yaml', text: `${CONFIG_MAP}---\napiVersion: v1\nkind: PersistentVolumeClaim\n` },
    ]);
    expect(errors.map(formatError)).toEqual([
      "a.yaml:9:7: kind PersistentVolumeClaim is not supported by berth (supported: Deployment, ConfigMap, Secret, Service, ServiceAccount); remove it, or skip the kind on purpose with --skip-kind PersistentVolumeClaim",
      'b.yaml:17:3: spec.replcas: unknown field; did you mean `replicas`?',
      'b.yaml:18:3: spec.foo: unknown field (supported here: replicas, selector, strategy, template, minReadySeconds, progressDeadlineSeconds, revisionHistoryLimit)',
    ]);
  });

  it('names both places of a duplicate object, across files and within one', () => {
    const result = parseFiles([
      { path: 'z.yaml', text: DEPLOYMENT },
      { path: 'a.yaml', text: `${DEPLOYMENT}---\n${DEPLOYMENT}` },
      { path: 'other-ns.yaml', text: DEPLOYMENT.replace('  name: web', '  name: web\n  namespace: other') },
    ]);
    expect(result.errors.map(formatError)).toEqual([
      'a.yaml:21:9: duplicate Deployment default/web: also defined at a.yaml:4:9',
      'z.yaml:4:9: duplicate Deployment default/web: also defined at a.yaml:4:9',
    ]);
    expect(result.objects.map(objectKey)).toEqual(['Deployment/default/web', 'Deployment/other/web']);
  });

  it('sorts objects by objectKey, whatever the file order', () => {
    const { objects } = parseFiles([
      { path: 'b.yaml', text: DEPLOYMENT.replace('name: web', 'name: b') },
      { path: 'a.yaml', text: `${CONFIG_MAP.replace('name: cfg', 'name: z')}---\n${DEPLOYMENT.replace('name: web', 'name: a')}` },
    ]);
    expect(objects.map(objectKey)).toEqual(['ConfigMap/default/z', 'Deployment/default/a', 'Deployment/default/b']);
  });

  it('skips the kinds a source lists, and says so', () => {
    const text = `apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {anything: goes}\n---\n${CONFIG_MAP}`;
    const result = parseFiles([{ path: 'svc.yaml', text }], { skipKinds: ['Service'] });
    expect(result.errors).toEqual([]);
    expect(result.objects.map(objectKey)).toEqual(['ConfigMap/default/cfg']);
    expect(result.skipped).toEqual([{ path: 'svc.yaml', line: 1, kind: 'Service', name: 'web' }]);
  });
});

describe('formatError and isManifestPath', () => {
  it('formats an error as path:line:col: message', () => {
    expect(formatError({ path: 'deploy/web.yaml', line: 3, col: 5, message: 'bad' })).toBe('deploy/web.yaml:3:5: bad');
  });

  it.each([
    ['web.yaml', true],
    ['deploy/web.yml', true],
    ['cfg.json', true],
    ['README.md', false],
    ['web.yaml.bak', false],
    ['kustomization.yaml', true],
    ['Web.YAML', false],
  ])('isManifestPath(%j) is %s', (path, expected) => {
    expect(isManifestPath(path)).toBe(expected);
  });
});
