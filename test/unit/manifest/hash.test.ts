import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hashObject, parseFiles, templateHash, type DesiredObject } from '../../../src/manifest/index.js';
import { canonicalJson } from '../../../src/manifest/hash.js';
import { DEPLOYMENT, deployment } from './manifests.js';

function parse(text: string, path = 'app.yaml'): DesiredObject {
  const [object] = parseFiles([{ path, text }]).objects;
  if (object === undefined) throw new Error('no object');
  return object;
}

describe('canonicalJson', () => {
  it('sorts keys at every level and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: undefined } })).toBe('{"a":{"d":[2,{"e":0,"f":1}]},"b":1}');
  });
});

describe('hashObject', () => {
  it('is the sha256 of the canonical JSON of kind, namespace, name, labels and spec', () => {
    const o = parse(DEPLOYMENT);
    const expected = createHash('sha256')
      .update(canonicalJson({ kind: o.kind, namespace: o.namespace, name: o.name, labels: o.labels, spec: o.spec }))
      .digest('hex');
    expect(o.hash).toBe(expected);
    expect(hashObject(o)).toBe(expected);
  });

  const limited = deployment('        resources: {limits: {memory: 1Gi}}');
  it.each([
    ['a comment', DEPLOYMENT, `# web\n${DEPLOYMENT}`],
    ['another key order', DEPLOYMENT, DEPLOYMENT.replace('      - name: web\n        image: nginx:1.27\n', '      - image: nginx:1.27\n        name: web\n')],
    ['flow style', DEPLOYMENT, DEPLOYMENT.replace('    matchLabels:\n      app: web', '    matchLabels: {app: web}')],
    ['defaults written out', DEPLOYMENT, deployment('        ports: []', '  replicas: 1', '  strategy: {type: RollingUpdate}')],
    ['annotations', DEPLOYMENT, DEPLOYMENT.replace('  name: web', '  name: web\n  annotations: {a: b}')],
    ['a quantity written differently', limited, limited.replace('1Gi', '1073741824')],
  ])('does not change with %s or the file', (_, base, variant) => {
    expect(parse(variant, 'elsewhere.yaml').hash).toBe(parse(base).hash);
  });

  it.each([
    ['replicas', deployment('  replicas: 2')],
    ['an image', DEPLOYMENT.replace('nginx:1.27', 'nginx:1.28')],
    ['a label', DEPLOYMENT.replace('  name: web', '  name: web\n  labels: {a: b}')],
    ['the namespace', DEPLOYMENT.replace('  name: web', '  name: web\n  namespace: prod')],
  ])('changes with %s', (_, text) => {
    expect(parse(text).hash).not.toBe(parse(DEPLOYMENT).hash);
  });
});

describe('templateHash', () => {
  const template = (text: string) => {
    const o = parse(text);
    if (o.kind !== 'Deployment') throw new Error('not a Deployment');
    return o.spec.template;
  };

  it('is the first 10 hex characters of the sha256 of the canonical template', () => {
    const t = template(DEPLOYMENT);
    expect(templateHash(t)).toBe(createHash('sha256').update(canonicalJson(t)).digest('hex').slice(0, 10));
    expect(templateHash(t)).toMatch(/^[0-9a-f]{10}$/);
  });

  it('ignores what is outside the template (replicas, strategy) and follows what is inside', () => {
    const base = templateHash(template(DEPLOYMENT));
    expect(templateHash(template(deployment('  replicas: 5', '  strategy: {type: Recreate}')))).toBe(base);
    expect(templateHash(template(DEPLOYMENT.replace('nginx:1.27', 'nginx:1.28')))).not.toBe(base);
  });
});
