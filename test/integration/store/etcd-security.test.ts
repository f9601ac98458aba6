import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BerthError } from '../../../src/errors.js';
import { runBerth } from '../../support/berth.js';
import { STORE_CLIENTS, startEtcd, type EtcdHandle } from '../../support/etcd.js';
import { uniqueName } from '../../support/names.js';
import { makePki, type TestPki } from '../../support/tls.js';

const run = promisify(execFile);

/** The error a promise rejects with, as a BerthError (fails the test otherwise). */
async function refusal(p: Promise<unknown>): Promise<BerthError> {
  const err: unknown = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(BerthError);
  return err as BerthError;
}

describe('etcd over TLS with client certificates', () => {
  let dir: string;
  let pki: TestPki;
  let other: TestPki;
  let etcd: EtcdHandle;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-etcd-tls-'));
    [pki, other] = await Promise.all([makePki(dir, 'good'), makePki(dir, 'other')]);
    etcd = await startEtcd({ tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.ca } });
  }, 60_000);
  afterAll(async () => {
    await etcd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  describe.each(STORE_CLIENTS)('with %s', (_client, connect) => {
  it('reads and writes with the CA and a client pair', async () => {
      const tls = { ca: await readFile(pki.ca), cert: await readFile(pki.clientCert), key: await readFile(pki.clientKey) };
      const store = await connect([etcd.endpoint], `/${uniqueName('tls')}`, { tls });
      try {
        await store.commit({ put: [{ key: 'a', value: 'b' }] });
        expect((await store.get('a'))?.value).toBe('b');
      } finally {
        await store.close();
      }
    });

    it.each([
      ['a CA that did not sign etcd\'s certificate', () => ({ ca: other.ca, cert: pki.clientCert, key: pki.clientKey }), /--etcd-ca/],
      ['a client certificate of another CA', () => ({ ca: pki.ca, cert: other.clientCert, key: other.clientKey }), /--etcd-cert/],
    ])('is refused with %s, naming the flag', async (_what, files, hint) => {
      const f = files();
      const tls = { ca: await readFile(f.ca), cert: await readFile(f.cert), key: await readFile(f.key) };
      const err = await refusal(connect([etcd.endpoint], '/x', { tls }));
      expect(err.toLine()).toMatch(hint);
    });

    it('tells a plain client of an https endpoint to pass --etcd-ca', async () => {
      const err = await refusal(connect([etcd.endpoint], '/x'));
      expect(err.toLine()).toMatch(/--etcd-ca/);
    });

  
  });

  it('berth get reads over TLS with --etcd-ca, --etcd-cert and --etcd-key, and refuses a key open to others', async () => {
    // By name: node warns (DEP0123) when grpc-js sets an IP address as the TLS server name.
    const endpoint = etcd.endpoint.replace('127.0.0.1', 'localhost');
    const args = ['get', 'pods', '--etcd', endpoint, '--prefix', `/${uniqueName('tls-cli')}`, '--etcd-ca', pki.ca, '--etcd-cert', pki.clientCert, '--etcd-key', pki.clientKey];
    const ok = await runBerth(args);
    expect(ok.stderr).toBe('No resources found.\n');
    expect(ok.code).toBe(0);
    const wrong = await runBerth(args.map((a) => (a === pki.ca ? other.ca : a)));
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/TLS handshake with etcd at https:\/\/localhost:\d+ failed.*--etcd-ca/);
    expect(wrong.stderr).toContain(endpoint);
    await chmod(pki.clientKey, 0o644);
    try {
      const open = await runBerth(args);
      expect(open.code).toBe(1);
      expect(open.stderr).toContain(`--etcd-key ${pki.clientKey} is open to others (mode 0644); run chmod 600 ${pki.clientKey}`);
    } finally {
      await chmod(pki.clientKey, 0o600);
    }
  }, 60_000);
});

describe('etcd with user/password auth', () => {
  let dir: string;
  let etcd: EtcdHandle;
  const password = 'correct horse battery staple';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-etcd-auth-'));
    etcd = await startEtcd();
    const ctl = (...args: string[]): Promise<unknown> => run('etcdctl', ['--endpoints', etcd.endpoint, ...args], { env: { ...process.env, ETCDCTL_API: '3' } });
    await ctl('user', 'add', `root:${password}`);
    await ctl('auth', 'enable');
  }, 60_000);
  afterAll(async () => {
    await etcd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  describe.each(STORE_CLIENTS)('with %s', (_client, connect) => {
  it.each([
      ['the right password', password, undefined],
      ['a wrong password', 'wrong', /refused the user name or password; check --etcd-user and the password in --etcd-password-file/],
    ])('with %s', async (_what, given, refused) => {
      const opening = connect([etcd.endpoint], `/${uniqueName('auth')}`, { auth: { username: 'root', password: given } });
      if (refused) {
        expect((await refusal(opening)).toLine()).toMatch(refused);
        return;
      }
      const store = await opening;
      try {
        await store.commit({ put: [{ key: 'k', value: 'v' }] });
        expect((await store.get('k'))?.value).toBe('v');
      } finally {
        await store.close();
      }
    });

    it('asks a client without a user for --etcd-user and --etcd-password-file', async () => {
      const err = await refusal(connect([etcd.endpoint], '/x'));
      expect(err.toLine()).toMatch(/--etcd-user and --etcd-password-file/);
    });

  
  });

  it('berth get reads with --etcd-user and --etcd-password-file, and refuses a password file open to others', async () => {
    const file = join(dir, 'etcd-password');
    await writeFile(file, `${password}\n`, { mode: 0o600 });
    const args = ['get', 'pods', '--etcd', etcd.endpoint, '--prefix', `/${uniqueName('auth-cli')}`, '--etcd-user', 'root', '--etcd-password-file', file];
    const ok = await runBerth(args);
    expect(ok.stderr).toBe('No resources found.\n');
    expect(ok.code).toBe(0);
    await chmod(file, 0o640);
    const open = await runBerth(args);
    expect(open.code).toBe(1);
    expect(open.stderr).toContain(`--etcd-password-file ${file} is open to others (mode 0640); run chmod 600 ${file}`);
  }, 60_000);
});
