import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseFiles, type DesiredObject } from '../../../src/manifest/index.js';
import { AgeIdentities } from '../../../src/agent/age.js';
import { decryptTree, secretValues } from '../../../src/agent/sops.js';
import { ageKeyPair, encryptSecret } from '../../support/sops.js';

// Made by the real sops (fluxcd/kustomize-controller's test data; see test/fixtures/sops/README.md).
const fixture = (name: string): string => readFileSync(new URL(`../../fixtures/sops/${name}`, import.meta.url), 'utf8');

const secretOf = (text: string): Extract<DesiredObject, { kind: 'Secret' }> => {
  const { objects, errors } = parseFiles([{ path: 's.yaml', text }]);
  expect(errors).toEqual([]);
  const o = objects[0];
  if (o?.kind !== 'Secret') throw new Error('no Secret');
  return o;
};

/** The Secret's values as text, or the error that stopped them. */
async function open(text: string, keyFile: string): Promise<Record<string, string> | string> {
  const s = secretOf(text);
  if (s.spec.sops === undefined) throw new Error('not encrypted');
  const key = await (await AgeIdentities.parse(keyFile, 'key file')).unwrap(s.spec.sops.age);
  if ('error' in key) return key.error;
  try {
    return Object.fromEntries([...secretValues(s.spec, decryptTree(s.spec.sops, key))].map(([k, v]) => [k, v.toString('utf8')]));
  } catch (err) {
    return (err as Error).message;
  }
}

describe('sops decryption on the node', () => {
  it.each([
    ['age.enc.yaml', 'age.agekey', { key: 'value' }],
    ['global.enc.yaml', 'global.agekey', { key: 'global-value' }],
  ])('opens %s, made by the real sops, and checks its MAC', async (file, key, expected) => {
    expect(await open(fixture(file), fixture(key))).toEqual(expected);
  });

  it('opens a Secret the test helper encrypted: data base64-decoded, stringData as text and winning a key in both', async () => {
    const me = await ageKeyPair();
    const text = await encryptSecret({ name: 'db', data: { user: 'admin', both: 'from-data' }, stringData: { password: 'hunter2', both: 'from-stringData' } }, [me.recipient]);
    expect(await open(text, me.keyFile)).toEqual({ user: 'admin', both: 'from-stringData', password: 'hunter2' });
  });

  it('opens with any of several recipients', async () => {
    const [a, b] = [await ageKeyPair(), await ageKeyPair()];
    const text = await encryptSecret({ name: 'db', stringData: { p: 'x' } }, [a.recipient, b.recipient]);
    expect(await open(text, b.keyFile)).toEqual({ p: 'x' });
  });

  const sample = async (): Promise<{ text: string; keyFile: string }> => {
    const me = await ageKeyPair();
    return { text: await encryptSecret({ name: 'db', stringData: { a: 'first', b: 'second' } }, [me.recipient], '2026-11-30T10:00:00Z'), keyFile: me.keyFile };
  };
  const valueOf = (text: string, key: string): string => /^ {2}(\S+): (ENC\[.*\])$/m.exec(text.split('\n').find((l) => l.startsWith(`  ${key}: ENC[`)) ?? '')?.[2] ?? '';

  it.each([
    ['a wrong key', async (t: string) => t, 'wrong-key', /^no age identity of this node's --age-key-file opens it \(encrypted to age1/],
    ['a value edited', async (t: string) => t.replace(/( {2}a: ENC\[AES256_GCM,data:)(.)/, (_, p: string, c: string) => `${p}${c === 'A' ? 'B' : 'A'}`), 'own', /^the value at stringData\.a does not decrypt/],
    ['a value moved to another key', async (t: string) => t.replace(valueOf(t, 'b'), valueOf(t, 'a')), 'own', /^the value at stringData\.b does not decrypt \(edited, or moved from another place\)/],
    ['keys reordered', async (t: string) => {
      const [a, b] = [t.split('\n').find((l) => l.startsWith('  a: ')) ?? '', t.split('\n').find((l) => l.startsWith('  b: ')) ?? ''];
      return t.replace(`${a}\n${b}`, `${b}\n${a}`);
    }, 'own', /^its MAC does not match its values \(a value was edited, added, removed or reordered/],
    ['the name changed', async (t: string) => t.replace('name: "db"', 'name: "db2"'), 'own', /^its MAC does not match its values/],
    ['a value removed', async (t: string) => t.replace(/\n {2}b: ENC.*/, ''), 'own', /^its MAC does not match its values/],
    ['lastmodified changed', async (t: string) => t.replace('2026-11-30T10:00:00Z', '2026-11-30T10:00:01Z'), 'own', /^its MAC does not decrypt \(sops\.mac or sops\.lastmodified was edited\)/],
  ])('refuses %s, naming no value', async (_, change, key, expected) => {
    const { text, keyFile } = await sample();
    const other = (await ageKeyPair()).keyFile;
    const got = await open(await change(text), key === 'own' ? keyFile : other);
    expect(got).toMatch(expected);
    expect(JSON.stringify(got)).not.toMatch(/first|second/);
  });

  it('refuses a key file with no identity, naming no content', async () => {
    await expect(AgeIdentities.parse('# public key: age1xyz\nAGE-SECRET-KEY-1NOTAKEY\n', '--age-key-file k')).rejects.toThrow(/--age-key-file k has a line that is not an age identity/);
    await expect(AgeIdentities.parse('hello\n', '--age-key-file k')).rejects.toThrow(/--age-key-file k holds no age identity/);
  });
});
