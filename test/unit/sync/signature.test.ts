import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { generateKeyPairSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allowsNamespace, parseAllowedSigners, readKeyring } from '../../../src/sync/keyring.js';
import { splitSignedCommit } from '../../../src/sync/signature.js';

const TREE = 'tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n';
const WHO = 'author A <a@x> 1700000000 +0000\ncommitter A <a@x> 1700000000 +0000\n';

describe('splitSignedCommit', () => {
  it.each([
    ['an unsigned commit', `${TREE}${WHO}\nmessage\n`, `${TREE}${WHO}\nmessage\n`, undefined],
    [
      'a signature with continuation lines, kept out byte for byte',
      `${TREE}${WHO}gpgsig -----BEGIN SSH SIGNATURE-----\n U1NIU0lH\n -----END SSH SIGNATURE-----\n\nmessage\r\nwith CRLF\r\n`,
      `${TREE}${WHO}\nmessage\r\nwith CRLF\r\n`,
      '-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n',
    ],
    [
      'a header after the signature, kept in the payload',
      `${TREE}${WHO}gpgsig sig\n line\nencoding ISO-8859-1\n\nmessage\n`,
      `${TREE}${WHO}encoding ISO-8859-1\n\nmessage\n`,
      'sig\nline\n',
    ],
    ['a message line that looks like a header, left alone', `${TREE}${WHO}\ngpgsig not a header\n`, `${TREE}${WHO}\ngpgsig not a header\n`, undefined],
  ])('%s', (_name, raw, payload, signature) => {
    const parts = splitSignedCommit(Buffer.from(raw));
    expect(parts.payload.toString()).toBe(payload);
    expect(parts.signature).toBe(signature);
    expect(parts.trees).toEqual(['4b825dc642cb6eb9a060e54bf8d69288fbee4904']);
  });

  it('sees a second tree header', () => {
    expect(splitSignedCommit(Buffer.from(`${TREE}${TREE}${WHO}\nm\n`)).trees).toHaveLength(2);
  });
});

/** An OpenSSH public key line for a fresh ed25519 key. */
function ed25519Line(): { type: string; base64: string } {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const str = (b: Buffer): Buffer => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  return { type: 'ssh-ed25519', base64: Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]).toString('base64') };
}

describe('parseAllowedSigners', () => {
  const k = ed25519Line();
  it('reads principals, options and keys, skipping comments and OpenPGP blocks', () => {
    const text = `# signers\n\nalice@x ${k.type} ${k.base64} alice's laptop\n-----BEGIN PGP PUBLIC KEY BLOCK-----\nxyz\n-----END PGP PUBLIC KEY BLOCK-----\nbob@x,carol@x namespaces="git,file" ${k.type} ${k.base64}\n`;
    const signers = parseAllowedSigners(text, 'ring');
    expect(signers.map((s) => [s.principals, s.namespaces, s.line, s.key.type])).toEqual([
      ['alice@x', undefined, 3, 'ssh-ed25519'],
      ['bob@x,carol@x', ['git', 'file'], 7, 'ssh-ed25519'],
    ]);
    expect(signers.map((s) => allowsNamespace(s, 'git'))).toEqual([true, true]);
    expect(allowsNamespace({ ...signers[1], namespaces: ['fi*'] } as never, 'git')).toBe(false);
  });

  it.each([
    ['a line with no key', 'alice@x\n', /^ring:1:1: expected 'principals \[options\] keytype key'/],
    ['an unknown key type', `alice@x ssh-dss ${k.base64}\n`, /^ring:1:1: expected a key type such as ssh-ed25519/],
    ['a key that is not what its type says', `alice@x ssh-rsa ${k.base64}\n`, /^ring:1:1: the key is ssh-ed25519, not ssh-rsa/],
    ['a broken key', 'alice@x ssh-ed25519 AAAA\n', /^ring:1:1: unreadable ssh-ed25519 key: /],
    ['cert-authority, which berth does not check', `  alice@x cert-authority ${k.type} ${k.base64}\n`, /^ring:1:3: option 'cert-authority' is not supported by berth/],
    ['valid-before, which berth does not check', `alice@x valid-before="20300101" ${k.type} ${k.base64}\n`, /^ring:1:1: option 'valid-before' is not supported by berth/],
  ])('refuses %s at its line', (_name, text, message) => {
    expect(() => parseAllowedSigners(text, 'ring')).toThrow(message);
  });
});

describe('readKeyring', () => {
  let dir = '';
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const file = async (text: string, mode: number): Promise<string> => {
    dir ||= await mkdtemp(join(tmpdir(), 'berth-ring-'));
    const p = join(dir, `ring-${mode.toString(8)}-${text.length}`);
    await writeFile(p, text);
    await chmod(p, mode);
    return p;
  };
  const k = ed25519Line();

  it.each([0o664, 0o646])('refuses a keyring others may write (mode %o)', async (mode) => {
    const p = await file(`a@x ${k.type} ${k.base64}\n`, mode);
    await expect(readKeyring(p)).rejects.toThrow(`keyring ${p} may be written by others (mode 0${mode.toString(8)}), who could add a key`);
  });

  it('refuses a keyring with no key, and an OpenPGP block that does not read', async () => {
    const empty = await file('# nobody yet\n', 0o644);
    await expect(readKeyring(empty)).rejects.toThrow(`keyring ${empty} holds no key`);
    const broken = await file('-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot base64 at all!\n-----END PGP PUBLIC KEY BLOCK-----\n', 0o600);
    await expect(readKeyring(broken)).rejects.toThrow(`keyring ${broken}: unreadable OpenPGP key block`);
  });

  it('reads allowed signers from a file of mode 0644', async () => {
    const p = await file(`a@x ${k.type} ${k.base64}\n`, 0o644);
    expect((await readKeyring(p)).ssh).toHaveLength(1);
  });
});
