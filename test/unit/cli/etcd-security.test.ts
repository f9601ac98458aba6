import { mkdtempSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BerthError } from '../../../src/errors.js';
import { etcdSecurity, type EtcdSecurityFlags } from '../../../src/cli/etcd-security.js';

describe('etcdSecurity (the --etcd-ca/-cert/-key/-user/-password-file flags)', () => {
  // Made now: the table below names its files.
  const dir = mkdtempSync(join(tmpdir(), 'berth-etcd-flags-'));
  const file = (name: string): string => join(dir, name);

  beforeAll(async () => {
    await writeFile(file('ca.pem'), 'CA');
    await writeFile(file('cert.pem'), 'CERT');
    await writeFile(file('key.pem'), 'KEY', { mode: 0o600 });
    await writeFile(file('password'), ' secret \n', { mode: 0o600 });
    await writeFile(file('empty'), '\n', { mode: 0o600 });
    await writeFile(file('open-password'), 'secret', { mode: 0o604 });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('reads nothing when no flag is given', async () => {
    expect(await etcdSecurity({})).toEqual({});
  });

  it('reads the CA, the client pair and the trimmed password', async () => {
    const got = await etcdSecurity({ etcdCa: file('ca.pem'), etcdCert: file('cert.pem'), etcdKey: file('key.pem'), etcdUser: 'root', etcdPasswordFile: file('password') });
    expect(got.tls?.ca.toString()).toBe('CA');
    expect(got.tls?.cert?.toString()).toBe('CERT');
    expect(got.tls?.key?.toString()).toBe('KEY');
    expect(got.auth).toEqual({ username: 'root', password: 'secret' });
  });

  it.each<[string, () => EtcdSecurityFlags, string]>([
    ['a certificate without its key', () => ({ etcdCa: file('ca.pem'), etcdCert: file('cert.pem') }), '--etcd-cert needs --etcd-key; pass --etcd-key too'],
    ['a key without its certificate', () => ({ etcdCa: file('ca.pem'), etcdKey: file('key.pem') }), '--etcd-key needs --etcd-cert; pass --etcd-cert too'],
    ['a client pair without a CA', () => ({ etcdCert: file('cert.pem'), etcdKey: file('key.pem') }), '--etcd-cert needs --etcd-ca'],
    ['a user without a password file', () => ({ etcdUser: 'root' }), '--etcd-user needs --etcd-password-file; pass --etcd-password-file too'],
    ['a password file without a user', () => ({ etcdPasswordFile: file('password') }), '--etcd-password-file needs --etcd-user; pass --etcd-user too'],
    ['a CA that does not exist', () => ({ etcdCa: file('nope.pem') }), `--etcd-ca ${file('nope.pem')} cannot be read`],
    ['an empty password file', () => ({ etcdUser: 'root', etcdPasswordFile: file('empty') }), `--etcd-password-file ${file('empty')} is empty`],
    ['a password file others may read', () => ({ etcdUser: 'root', etcdPasswordFile: file('open-password') }), `--etcd-password-file ${file('open-password')} is open to others (mode 0604); run chmod 600 ${file('open-password')}`],
  ])('refuses %s, naming the flag', async (_what, flags, message) => {
    const err: unknown = await etcdSecurity(flags()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BerthError);
    expect((err as BerthError).toLine()).toContain(message);
  });
});
