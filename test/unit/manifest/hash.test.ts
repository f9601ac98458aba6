import { describe, expect, it } from 'vitest';
import { hashObject, parseFiles, templateHash, type DesiredObject, type PodTemplate } from '../../../src/manifest/index.js';
import { canonicalJson } from '../../../src/manifest/hash.js';
import { DEPLOYMENT, deployment } from './manifests.js';

function parse(text: string, path = 'app.yaml'): DesiredObject {
  const [object] = parseFiles([{ path, text }]).objects;
  if (object === undefined) throw new Error('no object');
  return object;
}

function template(text: string): PodTemplate {
  const o = parse(text);
  if (o.kind !== 'Deployment') throw new Error('not a Deployment');
  return o.spec.template;
}

/** `value` rebuilt with every object's keys in reverse insertion order, at every level. */
function reversedKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v: unknown) => reversedKeys(v)) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reversedKeys(v)])) as T;
  }
  return value;
}

const CONFIG_MAP = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: env\ndata:\n  LEVEL: debug\n';

describe('canonicalJson', () => {
  it('sorts keys at every level and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: undefined } })).toBe('{"a":{"d":[2,{"e":0,"f":1}]},"b":1}');
  });
});

describe('hashes are fixed', () => {
  // NOTE: the template hash names every pod and labels every container (`berth.hash`); a change of
  // these values renames every pod and restarts every container of every user on upgrade. Change a
  // golden only on purpose, and say so in the commit.
  it.each([
    // The object hash changed on purpose when the spec gained minReadySeconds and progressDeadlineSeconds (sync re-puts each
    // Deployment once); the template hash did not: no pod is renamed or restarted.
    ['hashObject of the base Deployment', () => parse(DEPLOYMENT).hash, '8dc17f07f86805c38e07eaa8711b77ceeeabe2240a55a4ce12224bf4e21599f9'],
    ['hashObject of a ConfigMap', () => parse(CONFIG_MAP).hash, '9bd8f8b547cb10630366d1aa0a9a246c7d8a86f8c1d8f5a6de657d987f1d1fd0'],
    ['templateHash of the base Deployment', () => templateHash(template(DEPLOYMENT)), '5966b4fc4e'],
  ])('%s', (_, hash, golden) => {
    expect(hash()).toBe(golden);
  });

  it('the stored hash is what hashObject gives for the object, wherever it is written', () => {
    const o = parse(DEPLOYMENT);
    expect(hashObject(o)).toBe(o.hash);
    const elsewhere: DesiredObject = { ...o, path: 'other.yaml', line: 40 };
    expect(hashObject(elsewhere)).toBe(o.hash);
    expect(o.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(templateHash(template(DEPLOYMENT))).toMatch(/^[0-9a-f]{10}$/);
  });
});

describe('hashObject', () => {
  it('does not depend on the order of keys, at any level', () => {
    for (const text of [DEPLOYMENT, CONFIG_MAP]) {
      const o = parse(text);
      expect(hashObject(reversedKeys(o))).toBe(o.hash);
    }
  });

  const limited = deployment('        resources: {limits: {memory: 1Gi}}');
  it.each([
    ['a comment', DEPLOYMENT, `# web\n${DEPLOYMENT}`],
    ['another key order', DEPLOYMENT, DEPLOYMENT.replace('      - name: web\n        image: nginx:1.27\n', '      - image: nginx:1.27\n        name: web\n')],
    ['flow style', DEPLOYMENT, DEPLOYMENT.replace('    matchLabels:\n      app: web', '    matchLabels: {app: web}')],
    ['defaults written out', DEPLOYMENT, deployment('        ports: []', '  replicas: 1', '  strategy: {type: RollingUpdate}')],
    ['annotations', DEPLOYMENT, DEPLOYMENT.replace('  name: web', '  name: web\n  annotations: {a: b}')],
    ['a quantity written differently', limited, limited.replace('1Gi', '1073741824')],
    ['a quoted scalar', DEPLOYMENT, DEPLOYMENT.replace('image: nginx:1.27', 'image: "nginx:1.27"')],
  ])('does not change with %s or the file', (_, base, variant) => {
    expect(parse(variant, 'elsewhere.yaml').hash).toBe(parse(base).hash);
  });

  it.each([
    ['replicas', deployment('  replicas: 2')],
    ['an image', DEPLOYMENT.replace('nginx:1.27', 'nginx:1.28')],
    ['a label', DEPLOYMENT.replace('  name: web', '  name: web\n  labels: {a: b}')],
    ['the namespace', DEPLOYMENT.replace('  name: web', '  name: web\n  namespace: prod')],
    ['the name', DEPLOYMENT.replace('  name: web', '  name: api')],
  ])('changes with %s', (_, text) => {
    expect(parse(text).hash).not.toBe(parse(DEPLOYMENT).hash);
  });

  it('tells kinds apart', () => {
    const cm = parse(CONFIG_MAP);
    expect(hashObject({ ...cm, kind: 'Deployment' } as unknown as DesiredObject)).not.toBe(cm.hash);
  });
});

describe('templateHash', () => {
  const base = templateHash(template(DEPLOYMENT));

  it('does not depend on the order of keys, at any level', () => {
    const t = template(deployment('        env: [{name: A, value: "1"}]', '        ports: [{containerPort: 80}]'));
    expect(templateHash(reversedKeys(t))).toBe(templateHash(t));
  });

  it.each([
    ['replicas', deployment('  replicas: 5')],
    ['the strategy', deployment('  strategy: {type: Recreate}')],
    ['the Deployment’s own labels', DEPLOYMENT.replace('  name: web', '  name: web\n  labels: {team: a}')],
  ])('ignores %s', (_, text) => {
    expect(templateHash(template(text))).toBe(base);
  });

  it.each([
    ['cpu', deployment('        resources: {requests: {cpu: 500m}}'), deployment('        resources: {requests: {cpu: 0.5}}')],
    ['memory', deployment('        resources: {limits: {memory: 1Gi}}'), deployment('        resources: {limits: {memory: 1073741824}}')],
    ['an env list', deployment('        env: [{name: A, value: "1"}]'), deployment('        env:', '        - value: "1"', '          name: A')],
    ['a port', deployment('        ports: [{containerPort: 80}]'), deployment('        ports: [{containerPort: 80, protocol: TCP}]')],
  ])('is the same for %s written two ways', (_, a, b) => {
    expect(templateHash(template(a))).toBe(templateHash(template(b)));
  });

  it.each([
    ['the image', DEPLOYMENT.replace('nginx:1.27', 'nginx:1.28')],
    ['a command', deployment('        command: [sh]')],
    ['an argument', deployment('        args: ["-c", "true"]')],
    ['an env var', deployment('        env: [{name: A, value: "1"}]')],
    ['a port', deployment('        ports: [{containerPort: 80}]')],
    ['a resource', deployment('        resources: {limits: {memory: 1Gi}}')],
    ['a pod label', DEPLOYMENT.replace('        app: web\n    spec:', '        app: web\n        tier: a\n    spec:')],
    ['a nodeSelector', deployment('      nodeSelector: {disk: ssd}')],
    ['the container’s name', DEPLOYMENT.replace('      - name: web', '      - name: main')],
    ['an init container', deployment('      initContainers: [{name: setup, image: "busybox:1.36"}]')],
  ])('changes with %s', (_, text) => {
    expect(templateHash(template(text))).not.toBe(base);
  });

  it('changes with an init container’s command, and not with an empty initContainers list', () => {
    const init = (cmd: string): string => templateHash(template(deployment(`      initContainers: [{name: setup, image: "busybox:1.36", command: [${cmd}]}]`)));
    expect(init('"sh"')).not.toBe(init('"date"'));
    expect(templateHash(template(deployment('      initContainers: []')))).toBe(base);
  });
});
