import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { deployment as d } from './manifests.js';
import { formatError, parseFiles, redactSecret, renderObject, type DesiredObject } from '../../../src/manifest/index.js';
import { deploymentInputs } from '../../../src/manifest/refs.js';
import { ageKeyPair, encryptSecret } from '../../support/sops.js';

// Made by the real sops 3.9.0 and 3.10.2 (fluxcd/kustomize-controller's test data; see test/fixtures/sops/README.md).
const fixture = (name: string): string => readFileSync(new URL(`../../fixtures/sops/${name}`, import.meta.url), 'utf8');

const errors = (text: string, allowPlainSecrets = false): string[] => parseFiles([{ path: 's.yaml', text }], { allowPlainSecrets }).errors.map(formatError);
const secretOf = (text: string): Extract<DesiredObject, { kind: 'Secret' }> => {
  const o = parseFiles([{ path: 's.yaml', text }]).objects.find((x) => x.kind === 'Secret');
  if (o?.kind !== 'Secret') throw new Error('no Secret');
  return o;
};

const ENC = 'ENC[AES256_GCM,data:mHeXsmQ=,iv:vUMpILz3xchORqkzDFvgwENY7EqIHHGJdEF6C8xqbFE=,tag:IroV7hykADvD0IUaq6kikA==,type:str]';
const SOPS = `sops:
  age:
    - recipient: age1l44xcng8dqj32nlv6d930qvvrny05hglzcv9qpc7kxjc6902ma4qufys29
      enc: |
        -----BEGIN AGE ENCRYPTED FILE-----
        YWdl
        -----END AGE ENCRYPTED FILE-----
  lastmodified: "2024-11-12T13:33:42Z"
  mac: ${ENC}
  encrypted_regex: ^(data|stringData)$
  version: 3.9.0
`;
const head = 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n';

describe('v1 Secret', () => {
  it.each([
    ['age.enc.yaml', 'age', ['key']],
    ['global.enc.yaml', 'global-age-secret', ['key']],
  ])('reads a file the real sops encrypted (%s): keys in the clear, values as ciphertext', (file, name, keys) => {
    const s = secretOf(fixture(file));
    expect(s.name).toBe(name);
    expect(Object.keys(s.spec.stringData)).toEqual(keys);
    expect(s.spec.stringData.key).toMatch(/^ENC\[AES256_GCM,data:/);
    expect(s.spec.sops?.age).toHaveLength(1);
    expect(s.spec.sops?.leaves.map((l) => l.path)).toContain('stringData:key:');
    expect(JSON.stringify(s)).not.toMatch(/:"value"|global-value/);
  });

  it('reads a file the test helper encrypted, data and stringData', async () => {
    const { recipient } = await ageKeyPair();
    const s = secretOf(await encryptSecret({ name: 'db', namespace: 'shop', data: { user: 'admin' }, stringData: { password: 'hunter2' } }, [recipient]));
    expect(s.namespace).toBe('shop');
    expect(Object.keys(s.spec.data)).toEqual(['user']);
    expect(JSON.stringify(s)).not.toMatch(/hunter2|admin|YWRtaW4=/);
  });

  it.each([
    ['a plain Secret (stringData)', `${head}stringData:\n  password: hunter2\n`, [`s.yaml:6:3: a Secret in plain text in the repository; encrypt it with sops and age (sops --encrypt --age <recipient> --encrypted-regex '^(data|stringData)$' --in-place FILE), or let the operator allow plain Secrets (--allow-plain-secrets)`]],
    ['a plain Secret (data)', `${head}data:\n  password: aHVudGVyMg==\n`, [`s.yaml:6:3: a Secret in plain text in the repository; encrypt it with sops and age (sops --encrypt --age <recipient> --encrypted-regex '^(data|stringData)$' --in-place FILE), or let the operator allow plain Secrets (--allow-plain-secrets)`]],
    ['a type other than Opaque', `${head}type: kubernetes.io/tls\nstringData:\n  a: ${ENC}\n${SOPS}`, ['s.yaml:5:7: type: "kubernetes.io/tls" is not a Secret type berth reads; berth reads Opaque Secrets (values passed through env and volumes), remove the type or write Opaque']],
    ['immutable', `${head}immutable: true\nstringData:\n  a: ${ENC}\n${SOPS}`, ['s.yaml:5:1: immutable: a Kubernetes field berth does not support (a Secret changes when its file changes); remove it']],
    ['a value left plain in an encrypted file', `${head}stringData:\n  a: ${ENC}\n  b: plain\n${SOPS}`, ['s.yaml:7:6: stringData.b: is not a sops value (ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]); edited by hand? Edit it with `sops FILE`']],
    ['a value the settings leave plain', `${head}stringData:\n  a_unencrypted: plain\n${SOPS.replace('  encrypted_regex: ^(data|stringData)$\n', '')}`, [`s.yaml:6:18: stringData.a_unencrypted: is left in plain text by the file's sops settings; a Secret's values must all be encrypted: encrypt it with sops and age (sops --encrypt --age <recipient> --encrypted-regex '^(data|stringData)$' --in-place FILE)`]],
    ['an encrypted name', `apiVersion: v1\nkind: Secret\nmetadata:\n  name: ${ENC}\nstringData:\n  a: ${ENC}\n${SOPS}`, [`s.yaml:4:9: metadata.name: "${ENC.slice(0, 80)}…" is not a valid DNS-1123 subdomain: at most 253 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit (e.g. "example.com")`]],
    ['no age recipient', `${head}stringData:\n  a: ${ENC}\n${SOPS.replace(/ {2}age:\n(.*\n){5}/, '  pgp:\n    - fp: ABC\n')}`, ["s.yaml:8:3: sops.age: no age recipient; berth decrypts with age: encrypt with `sops --encrypt --age <recipient>` (the recipient of the operator's --age-key-file)"]],
    ['no mac', `${head}stringData:\n  a: ${ENC}\n${SOPS.replace(/ {2}mac: .*\n/, '')}`, ['s.yaml:8:3: sops.mac: missing; the file was not written by sops, or was edited by hand: encrypt it again with sops']],
    ['a mac that is not encrypted', `${head}stringData:\n  a: ${ENC}\n${SOPS.replace(/ {2}mac: .*\n/, '  mac: ABCDEF\n')}`, ['s.yaml:15:8: sops.mac: is not an encrypted MAC (ENC[AES256_GCM,…]); encrypt the file again with sops']],
    ['key groups', `${head}stringData:\n  a: ${ENC}\n${SOPS}  key_groups: []\n`, ['s.yaml:18:3: sops.key_groups: berth decrypts files with one group of age recipients; encrypt with --age only (no key groups)']],
    ['two encryption rules', `${head}stringData:\n  a: ${ENC}\n${SOPS}  unencrypted_suffix: _plain\n`, ['s.yaml:8:3: sops: has unencrypted_suffix and encrypted_regex; sops reads a file with one of them only']],
  ])('refuses %s at its line', (_, text, expected) => {
    expect(errors(text)).toEqual(expected);
  });

  it('encrypts only values: an encrypted kind or name stops the Secret being placed, at its line', () => {
    const text = `apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  labels:\n    team: ${ENC}\nstringData:\n  a: ${ENC}\n${SOPS.replace('encrypted_regex: ^(data|stringData)$', 'encrypted_regex: ^(data|stringData|team)$')}`;
    expect(errors(text).some((e) => e.startsWith('s.yaml:6:11: metadata.labels.team:'))).toBe(true);
  });

  it('accepts a plain Secret where the operator allows it, its data base64 as Kubernetes requires', () => {
    expect(errors(`${head}stringData:\n  password: hunter2\n`, true)).toEqual([]);
    expect(errors(`${head}data:\n  password: not base64!\n`, true)).toEqual(['s.yaml:6:13: data.password: is not base64; write the value base64-encoded under `data`, or as text under `stringData`']);
    // An error goes into history and statuses: it never shows the value.
    expect(errors(`${head}stringData:\n  pin: 123456\n`, true)).toEqual(['s.yaml:6:8: stringData.pin: must be a string (its value is not shown); quote it']);
  });

  it('checks references to a Secret and its keys in the commit (keys are in the clear in a sops file)', () => {
    const s = `---\n${fixture('age.enc.yaml')}`;
    const ok = parseFiles([{ path: 'app.yaml', text: d('        env: [{name: A, valueFrom: {secretKeyRef: {name: age, key: key}}}]') + s }]);
    expect(ok.errors).toEqual([]);
    const missing = parseFiles([{ path: 'app.yaml', text: d('        env: [{name: A, valueFrom: {secretKeyRef: {name: age, key: nope}}}]') + s }]);
    expect(missing.errors.map(formatError)).toEqual(['app.yaml:17:68: spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.key: Secret "age" has no key "nope" (its keys: "key"); add it, or set `optional: true`']);
  });

  it('puts the ciphertext a pod reads, never a value, into its template hash: a changed Secret rolls the pod', async () => {
    const { recipient } = await ageKeyPair();
    const inputs = async (password: string): Promise<Record<string, unknown> | undefined> => {
      const secret = await encryptSecret({ name: 'db', stringData: { password } }, [recipient]);
      const { objects, errors: errs } = parseFiles([{ path: 'app.yaml', text: `${d('        env: [{name: P, valueFrom: {secretKeyRef: {name: db, key: password}}}]')}---\n${secret}` }]);
      expect(errs).toEqual([]);
      return [...deploymentInputs(objects).values()][0];
    };
    const one = await inputs('hunter2');
    const two = await inputs('hunter3');
    expect(one).not.toEqual(two);
    expect(JSON.stringify([one, two])).not.toMatch(/hunter/);
  });

  it('shows people (berth diff, the API) keys and ciphertext, and a plain value only as its length', () => {
    const plain = parseFiles([{ path: 's.yaml', text: `${head}stringData:\n  password: hunter2\n` }], { allowPlainSecrets: true }).objects[0];
    if (plain === undefined) throw new Error('no Secret');
    expect(renderObject(plain).join('\n')).not.toContain('hunter2');
    expect(renderObject(plain).join('\n')).toContain('password: "(hidden: 7 bytes)"');
    expect(redactSecret(plain).hash).toBe(plain.hash);
    // berth diff renders the API's redacted side again: the same lines.
    expect(renderObject(redactSecret(plain))).toEqual(renderObject(plain));
    const encrypted = secretOf(fixture('age.enc.yaml'));
    const shown = renderObject(encrypted).join('\n');
    expect(shown).toContain(encrypted.spec.stringData.key);
    expect(shown).not.toContain('BEGIN AGE');
  });

  it('checks the references of init containers too (the agent reads what they need)', () => {
    const text = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      initContainers:
        - {name: migrate, image: busybox, env: [{name: P, valueFrom: {secretKeyRef: {name: db, key: password}}}]}
      containers:
        - {name: web, image: busybox}
`;
    expect(parseFiles([{ path: 'app.yaml', text }]).errors.map(formatError)).toEqual([
      'app.yaml:10:92: spec.template.spec.initContainers[0].env[0].valueFrom.secretKeyRef.name: no Secret "db" in namespace "default" in this commit; add it, or set `optional: true`',
    ]);
  });
});
