import { describe, expect, it } from 'vitest';
import { deployment as d, errorsOf } from './manifests.js';
import { envInputs, expand, resolveEnv, type ConfigMapLookup, type EnvFrom, type EnvVar } from '../../../src/manifest/env.js';
import { parseFiles, templateHash, type DeploymentObject } from '../../../src/manifest/index.js';
import { deploymentInputs } from '../../../src/manifest/refs.js';

const E = 'spec.template.spec.containers[0]';
const configMap = (name: string, data: Record<string, string>, namespace = 'default'): string =>
  `---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}, namespace: ${namespace}}\ndata: ${JSON.stringify(data)}\n`;

describe('env and envFrom validation', () => {
  it.each([
    ['a key of a ConfigMap in the commit', [d('        env: [{name: A, valueFrom: {configMapKeyRef: {name: cfg, key: k}}}]'), configMap('cfg', { k: 'v' })], []],
    ['a missing ConfigMap that is optional', [d('        env: [{name: A, valueFrom: {configMapKeyRef: {name: cfg, key: k, optional: true}}}]')], []],
    ['envFrom a ConfigMap with a prefix', [d('        envFrom: [{configMapRef: {name: cfg}, prefix: APP_}]'), configMap('cfg', { k: 'v' })], []],
    ['envFrom an optional missing ConfigMap', [d('        envFrom: [{configMapRef: {name: cfg, optional: true}}]')], []],
    ['the pod fields berth passes', [d('        env: [{name: P, valueFrom: {fieldRef: {fieldPath: metadata.name}}}, {name: N, valueFrom: {fieldRef: {apiVersion: v1, fieldPath: spec.nodeName}}}]')], []],
    ['the pod\'s address', [d('        env: [{name: IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}]')], []],
    ['an empty value beside valueFrom', [d('        env: [{name: A, value: "", valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}]')], []],
  ])('accepts %s', (_, texts, expected) => {
    expect(errorsOf(texts.join(''))).toEqual(expected);
  });

  it.each([
    [
      'a ConfigMap not in the commit',
      d('        env: [{name: A, valueFrom: {configMapKeyRef: {name: cfg, key: k}}}]'),
      [`app.yaml:17:61: ${E}.env[0].valueFrom.configMapKeyRef.name: no ConfigMap "cfg" in namespace "default" in this commit; add it, or set \`optional: true\``],
    ],
    [
      'a key the ConfigMap does not have',
      d('        env: [{name: A, valueFrom: {configMapKeyRef: {name: cfg, key: nope}}}]') + configMap('cfg', { k: 'v', j: 'w' }),
      [`app.yaml:17:71: ${E}.env[0].valueFrom.configMapKeyRef.key: ConfigMap "cfg" has no key "nope" (its keys: "k", "j"); add it, or set \`optional: true\``],
    ],
    [
      'a ConfigMap of another namespace',
      d('        envFrom: [{configMapRef: {name: cfg}}]') + configMap('cfg', { k: 'v' }, 'other'),
      [`app.yaml:17:41: ${E}.envFrom[0].configMapRef.name: no ConfigMap "cfg" in namespace "default" in this commit; add it, or set \`optional: true\``],
    ],
    ['envFrom a Secret not in the commit', d('        envFrom: [{secretRef: {name: s}}]'), [`app.yaml:17:38: ${E}.envFrom[0].secretRef.name: no Secret "s" in namespace "default" in this commit; add it, or set \`optional: true\``]],
    ['envFrom with nothing to read', d('        envFrom: [{prefix: A_}]'), [`app.yaml:17:19: ${E}.envFrom[0]: must have one of \`configMapRef\`, \`secretRef\``]],
    ['envFrom of a ConfigMap and a Secret at once', d('        envFrom: [{configMapRef: {name: c, optional: true}, secretRef: {name: s, optional: true}}]'), [`app.yaml:17:19: ${E}.envFrom[0]: must have only one of \`configMapRef\`, \`secretRef\``]],
    ['a bad prefix', d('        envFrom: [{configMapRef: {name: cfg, optional: true}, prefix: 1A}]'), [`app.yaml:17:71: ${E}.envFrom[0].prefix: "1A" is not a valid environment variable name: letters, digits, '_', '-' and '.', not starting with a digit (e.g. "MY_VAR")`]],
    ['value and valueFrom', d('        env: [{name: A, value: x, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]'), [`app.yaml:17:32: ${E}.env[0].value: must not be set with \`valueFrom\`; keep one of them`]],
    ['two sources in one valueFrom', d('        env: [{name: A, valueFrom: {fieldRef: {fieldPath: metadata.name}, configMapKeyRef: {name: c, key: k, optional: true}}}]'), [`app.yaml:17:36: ${E}.env[0].valueFrom: must have only one of configMapKeyRef, secretKeyRef, fieldRef, not configMapKeyRef and fieldRef`]],
    ['an empty valueFrom', d('        env: [{name: A, valueFrom: {}}]'), [`app.yaml:17:36: ${E}.env[0].valueFrom: must have one of configMapKeyRef, secretKeyRef, fieldRef`]],
    [
      'a field berth does not pass',
      d("        env: [{name: A, valueFrom: {fieldRef: {fieldPath: \"metadata.labels['app']\"}}}]"),
      [`app.yaml:17:59: ${E}.env[0].valueFrom.fieldRef.fieldPath: "metadata.labels['app']" is not a field berth can pass (berth passes no labels into containers); berth passes metadata.name, metadata.namespace, spec.nodeName, status.podIP`],
    ],
    ['resourceFieldRef', d('        env: [{name: A, valueFrom: {resourceFieldRef: {resource: limits.cpu}}}]'), [`app.yaml:17:37: ${E}.env[0].valueFrom.resourceFieldRef: a Kubernetes field berth does not support yet (berth passes no resource amounts into containers); remove it`]],
  ])('rejects %s', (_, text, expected) => {
    expect(errorsOf(text)).toEqual(expected);
  });

  it('finds a ConfigMap in another file of the commit, and reports a missing one in the file that refers to it', () => {
    const app = { path: 'app.yaml', text: d('        envFrom: [{configMapRef: {name: cfg}}]') };
    expect(parseFiles([app, { path: 'cfg.yaml', text: configMap('cfg', { k: 'v' }) }]).errors).toEqual([]);
    expect(parseFiles([app, { path: 'cfg.yaml', text: configMap('other', { k: 'v' }) }]).errors.map((e) => `${e.path}:${e.line}:${e.col}`)).toEqual(['app.yaml:17:41']);
    expect(parseFiles([app], { references: false }).errors).toEqual([]);
  });
});

const data: Record<string, Record<string, string>> = { cfg: { A: 'from-map', B: 'b', 'bad name': 'x', '1X': 'y' }, more: { A: 'more', C: 'c' } };
const lookup: ConfigMapLookup = (name) => data[name];
const pod = { name: 'web-abc-0', namespace: 'shop', nodeName: 'n1' };
const keyRef = (name: string, cm: string, key: string, optional?: boolean): EnvVar => ({ name, valueFrom: { configMapKeyRef: { name: cm, key, ...(optional === undefined ? {} : { optional }) } } });
const from = (cm: string, prefix?: string, optional?: boolean): EnvFrom => ({ configMapRef: { name: cm, ...(optional === undefined ? {} : { optional }) }, ...(prefix === undefined ? {} : { prefix }) });

describe('resolveEnv', () => {
  it.each<[string, EnvVar[], EnvFrom[] | undefined, Record<string, string> | string]>([
    ['plain values', [{ name: 'X', value: '1' }], undefined, { X: '1' }],
    ['a later env entry wins', [{ name: 'X', value: '1' }, { name: 'X', value: '2' }], undefined, { X: '2' }],
    ['envFrom, skipping keys that are no variable name', [], [from('cfg')], { A: 'from-map', B: 'b' }],
    ['a later envFrom wins', [], [from('cfg'), from('more')], { A: 'more', B: 'b', C: 'c' }],
    ['env over envFrom', [{ name: 'A', value: 'env' }], [from('cfg')], { A: 'env', B: 'b' }],
    ['a prefix (which makes "1X" a valid name)', [], [from('cfg', 'P_')], { P_A: 'from-map', P_B: 'b', P_1X: 'y' }],
    ['a ConfigMap key', [keyRef('K', 'cfg', 'B')], undefined, { K: 'b' }],
    ['an optional missing key', [keyRef('K', 'cfg', 'nope', true)], undefined, {}],
    ['an optional missing ConfigMap', [keyRef('K', 'gone', 'x', true)], [from('gone', undefined, true)], {}],
    ['a missing key', [keyRef('K', 'cfg', 'nope')], undefined, "couldn't find key nope in ConfigMap shop/cfg"],
    ['a missing ConfigMap (envFrom)', [], [from('gone')], 'configmap "gone" not found'],
    ['a missing ConfigMap (key)', [keyRef('K', 'gone', 'x')], undefined, 'configmap "gone" not found'],
    [
      'pod fields',
      ['metadata.name', 'metadata.namespace', 'spec.nodeName'].map((p, i) => ({ name: `F${i}`, valueFrom: { fieldRef: { fieldPath: p as 'metadata.name' } } })),
      undefined,
      { F0: 'web-abc-0', F1: 'shop', F2: 'n1' },
    ],
    ['the pod IP before the pod has one', [{ name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }], undefined, 'status.podIP of env "IP" is not known yet'],
    ['the pod IP', [{ name: 'IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } }, { name: 'URL', value: 'http://$(IP):80' }], undefined, { IP: '10.0.0.7', URL: 'http://10.0.0.7:80' }],
    ['$(VAR) against what is defined before', [{ name: 'H', value: 'h' }, { name: 'U', value: '$(H):$(B)/$(LATER)' }, { name: 'LATER', value: 'l' }], [from('cfg')], { A: 'from-map', B: 'b', H: 'h', U: 'h:b/$(LATER)', LATER: 'l' }],
    ['no expansion of a value read from a ConfigMap', [{ name: 'H', value: 'h' }, keyRef('K', 'raw', 'k')], undefined, { H: 'h', K: '$(H)' }],
  ])('%s', (_, env, envFrom, expected) => {
    const fields = env.some((e) => e.name === 'URL') ? { ...pod, podIP: '10.0.0.7' } : pod;
    const r = resolveEnv({ env, ...(envFrom === undefined ? {} : { envFrom }) }, (n) => (n === 'raw' ? { k: '$(H)' } : lookup(n)), fields);
    if (typeof expected === 'string') expect(r).toEqual({ ok: false, message: expected });
    else expect(r.ok && Object.fromEntries(r.env.map((e) => [e.name, e.value]))).toEqual(expected);
  });
});

describe('expand, as Kubernetes expands $(VAR)', () => {
  const vars = new Map([['A', 'x'], ['EMPTY', '']]);
  it.each([
    ['$(A)', 'x'],
    ['pre-$(A)-post', 'pre-x-post'],
    ['$(EMPTY)!', '!'],
    ['$(UNDEFINED)', '$(UNDEFINED)'],
    ['$$(A)', '$(A)'],
    ['$$$(A)', '$x'],
    ['$A', '$A'],
    ['$(A', '$(A'],
    ['cost $', 'cost $'],
    ['$()', '$()'],
    ['$(A)$(A)', 'xx'],
  ])('%s → %s', (input, output) => {
    expect(expand(input, vars)).toBe(output);
  });
});

describe('the template hash and what the environment reads', () => {
  const objects = (env: string, cm: Record<string, string>): DeploymentObject[] => {
    const r = parseFiles([{ path: 'a.yaml', text: d(env) + configMap('cfg', cm) }]);
    expect(r.errors).toEqual([]);
    return r.objects as DeploymentObject[];
  };
  const hashOf = (env: string, cm: Record<string, string>): string => {
    const all = objects(env, cm);
    const dep = all.find((o) => o.kind === 'Deployment');
    if (dep === undefined) throw new Error('no deployment');
    return templateHash(dep.spec.template, deploymentInputs(all).get(dep));
  };
  const byKey = '        env: [{name: A, valueFrom: {configMapKeyRef: {name: cfg, key: k}}}]';
  const whole = '        envFrom: [{configMapRef: {name: cfg}}]';

  it.each([
    ['the key read changes', byKey, { k: '1' }, { k: '2' }, true],
    ['another key changes', byKey, { k: '1', o: '1' }, { k: '1', o: '2' }, false],
    ['any key of an envFrom map changes', whole, { k: '1', o: '1' }, { k: '1', o: '2' }, true],
    ['a key is added to an envFrom map', whole, { k: '1' }, { k: '1', n: '2' }, true],
    ['a ConfigMap only mounted changes (its files are updated in place)', '        volumeMounts: [{name: c, mountPath: /etc/c}]\n      volumes: [{name: c, configMap: {name: cfg}}]', { k: '1' }, { k: '2' }, false],
  ])('moves when %s: %s', (_, env, before, after, moves) => {
    expect(hashOf(env, before) !== hashOf(env, after)).toBe(moves);
  });

  it('is the hash it always was for a template that reads no ConfigMap', () => {
    const all = objects('        env: [{name: A, value: x}]', { k: '1' });
    const dep = all.find((o) => o.kind === 'Deployment');
    if (dep === undefined) throw new Error('no deployment');
    expect(deploymentInputs(all).has(dep)).toBe(false);
    expect(envInputs(dep.spec.template.containers, () => undefined)).toBeUndefined();
    expect(templateHash(dep.spec.template, deploymentInputs(all).get(dep))).toBe(templateHash(dep.spec.template));
  });
});
