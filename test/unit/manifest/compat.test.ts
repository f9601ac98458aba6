import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatError, objectKey, parseFiles, type ManifestFile } from '../../../src/manifest/index.js';

// Real manifests from public projects (sources and licences: test/fixtures/compat/README.md): berth
// accepts the Deployments whose fields it supports, with Kubernetes' meaning, and names everything else.
const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const compatDir = path.join(projectRoot, 'test/fixtures/compat');
const files: ManifestFile[] = readdirSync(compatDir)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => ({ path: f, text: readFileSync(path.join(compatDir, f), 'utf8') }));

const C = 'spec.template.spec.containers[0]';

const EXPECTED_ERRORS: Record<string, string[]> = {
  'guestbook-frontend-deployment.yaml': [],
  'guestbook-ui-deployment.yaml': [],
  'podinfo-deployment.yaml': [],
  'shop-cartservice.yaml': [],
  'shop-frontend.yaml': [],
  'shop-redis.yaml': [
    `30:16: ${C}.image: invalid image reference "gcr.io/google-samples/microservices-demo/redis:alpine:v0.3.6": more than one tag (":alpine:v0.3.6"); a reference is name[:tag][@digest], e.g. "redis:7-alpine"`,
  ],
};

describe('real-world manifests (test/fixtures/compat)', () => {
  it('are all covered here', () => {
    expect(files.map((f) => f.path)).toEqual(Object.keys(EXPECTED_ERRORS).sort());
  });

  it.each(Object.entries(EXPECTED_ERRORS))('%s: every unsupported thing named at file:line:col', (name, expected) => {
    const file = files.find((f) => f.path === name);
    if (file === undefined) throw new Error(`missing ${name}`);
    expect(parseFiles([file]).errors.map(formatError)).toEqual(expected.map((e) => `${name}:${e}`));
  });

  it('accepts exactly the Deployments and Services whose fields berth supports, all files at once', () => {
    const { objects, errors } = parseFiles(files);
    expect(objects.map((o) => `${o.path} ${objectKey(o)}`)).toEqual([
      'shop-cartservice.yaml Deployment/default/cartservice',
      'guestbook-frontend-deployment.yaml Deployment/default/frontend',
      'guestbook-ui-deployment.yaml Deployment/default/guestbook-ui',
      'podinfo-deployment.yaml Deployment/default/podinfo',
      'shop-frontend.yaml Deployment/opentelemetry-demo/frontend',
      'shop-cartservice.yaml Service/default/cartservice',
      'shop-frontend.yaml Service/default/frontend',
      'shop-redis.yaml Service/default/redis-cart',
      'shop-frontend.yaml Service/opentelemetry-demo/frontend-external',
    ]);
    expect(errors).toHaveLength(Object.values(EXPECTED_ERRORS).flat().length);
  });

  it('reads the guestbook frontend with Kubernetes’ meaning', () => {
    const [frontend] = parseFiles(files.filter((f) => f.path === 'guestbook-frontend-deployment.yaml')).objects;
    expect(frontend?.spec).toEqual({
      replicas: 3,
      minReadySeconds: 0,
      progressDeadlineSeconds: 600,
      strategy: { type: 'RollingUpdate', maxSurge: '25%', maxUnavailable: '25%' },
      template: {
        labels: { app: 'guestbook', tier: 'frontend' },
        nodeSelector: {},
        restartPolicy: 'Always',
        containers: [
          {
            name: 'php-redis',
            image: 'gcr.io/google-samples/gb-frontend:v4',
            command: [],
            args: [],
            env: [{ name: 'GET_HOSTS_FROM', value: 'dns' }],
            ports: [{ containerPort: 80, protocol: 'TCP' }],
            resources: { requests: { cpu: 100, memory: 104857600 }, limits: {} },
          },
        ],
      },
    });
  });

  it('reads guestbook-ui’s `100m` memory as Kubernetes does: 0.1 byte, rounded up to 1', () => {
    const [ui] = parseFiles(files.filter((f) => f.path === 'guestbook-ui-deployment.yaml')).objects;
    expect(ui).toMatchObject({ name: 'guestbook-ui', spec: { replicas: 3, template: { labels: { app: 'guestbook-ui', owner: 'dan' } } } });
    expect(ui?.kind === 'Deployment' && ui.spec.template.containers[0]?.resources).toEqual({ requests: { memory: 1 }, limits: { memory: 1 } });
  });

  it('reads the shop\'s Services with Kubernetes\' meaning (a LoadBalancer is published on the nodes)', () => {
    const services = parseFiles(files).objects.filter((o) => o.kind === 'Service');
    expect(services.map((o) => [o.name, o.spec])).toEqual([
      ['cartservice', { type: 'ClusterIP', headless: false, selector: { app: 'cartservice' }, ports: [{ name: 'grpc', port: 7070, targetPort: 7070, protocol: 'TCP' }], sessionAffinity: 'None' }],
      ['frontend', { type: 'ClusterIP', headless: false, selector: { app: 'frontend' }, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }], sessionAffinity: 'None' }],
      ['redis-cart', { type: 'ClusterIP', headless: false, selector: { app: 'redis-cart' }, ports: [{ name: 'redis', port: 6379, targetPort: 6379, protocol: 'TCP' }], sessionAffinity: 'None' }],
      ['frontend-external', { type: 'LoadBalancer', headless: false, selector: { app: 'frontend' }, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }], sessionAffinity: 'None' }],
    ]);
  });

  it('leaves Services alone when the source skips them, and reports the skips', () => {
    const { skipped } = parseFiles(files, { skipKinds: ['Service'] });
    expect(skipped.map((s) => `${s.path}:${s.line} ${s.kind} ${s.name ?? ''}`)).toEqual([
      'shop-cartservice.yaml:55 Service cartservice',
      'shop-frontend.yaml:91 Service frontend',
      'shop-frontend.yaml:104 Service frontend-external',
      'shop-redis.yaml:55 Service redis-cart',
    ]);
  });

  it('never crashes, even on any prefix of a file', () => {
    for (const file of files) {
      for (let end = 0; end <= file.text.length; end += 7) {
        const result = parseFiles([{ path: file.path, text: file.text.slice(0, end) }]);
        for (const e of result.errors) expect(formatError(e)).toMatch(new RegExp(`^${file.path}:\\d+:\\d+: \\S`));
      }
    }
  });
});
