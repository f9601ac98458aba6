// The etcd `berth up` starts for itself: TLS on loopback with client-certificate auth, certificates
// made into its data dir on first start and reused after, an older berth's plain data dir carried
// over, and the CLI finding the certificates through --data-dir.
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BerthError } from '../../../src/errors.js';
import { EtcdHttpStore, EtcdStore, localPkiFiles, startLocalEtcd, type LocalEtcd } from '../../../src/store/index.js';
import { freePort } from '../../../src/store/local-etcd.js';
import { runBerth } from '../../support/berth.js';
import { freePorts } from '../../support/ports.js';
import { findExecutable, terminate } from '../../support/process.js';
import { makePki } from '../../support/tls.js';
import { waitFor } from '../../support/wait.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-local-etcd-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function start(dir: string): Promise<LocalEtcd> {
  const etcd = await startLocalEtcd(dir);
  cleanups.push(() => etcd.stop());
  return etcd;
}

const mode = async (file: string): Promise<number> => (await stat(file)).mode & 0o777;

describe("berth up's own etcd", () => {
  it('starts again on other ports when one found free is taken before etcd binds it', async () => {
    const dir = await tempDir();
    const held = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => held.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => held.close(resolve)));
    const taken = (held.address() as AddressInfo).port;
    let calls = 0;
    const etcd = await startLocalEtcd(dir, { ports: () => (calls++ === 0 ? Promise.resolve(taken) : freePort()) });
    cleanups.push(() => etcd.stop());
    expect(etcd.endpoint).not.toContain(`:${taken}`);
    expect(await readFile(join(dir, 'etcd.log'), 'utf8')).toContain('address already in use');
    const store = await EtcdStore.connect([etcd.endpoint], '/local', { tls: etcd.tls });
    await store.commit({ put: [{ key: 'k', value: 'v' }] });
    await store.close();
  });

  it('listens with TLS, wants a client certificate of its own CA, and reuses its certificates', async () => {
    const dir = await tempDir();
    const etcd = await start(dir);
    expect(etcd.endpoint).toMatch(/^https:\/\/localhost:\d+$/);
    const pki = localPkiFiles(dir);
    expect(await mode(pki.dir)).toBe(0o700);
    for (const file of [pki.ca, pki.serverCert, pki.serverKey, pki.clientCert, pki.clientKey]) expect(await mode(file)).toBe(0o600);
    expect((await readFile(join(dir, 'endpoint'), 'utf8')).trim()).toBe(etcd.endpoint);

    const store = await EtcdStore.connect([etcd.endpoint], '/local', { tls: etcd.tls });
    await store.commit({ put: [{ key: 'kept', value: 'yes' }] });
    await store.close();
    // The agent's client (etcd's JSON gateway over https) with the same certificates.
    const gateway = await EtcdHttpStore.connect([etcd.endpoint], '/local', { tls: etcd.tls });
    expect((await gateway.get('kept'))?.value).toBe('yes');
    await gateway.close();
    // Without a certificate, or with one of another CA, etcd does not answer either client.
    const other = await makePki(await tempDir(), 'other');
    const foreign = { ca: etcd.tls.ca, cert: await readFile(other.clientCert), key: await readFile(other.clientKey) };
    for (const client of [EtcdStore, EtcdHttpStore]) {
      await expect(client.connect([etcd.endpoint], '/local')).rejects.toBeInstanceOf(BerthError);
      await expect(client.connect([etcd.endpoint], '/local', { tls: foreign })).rejects.toMatchObject({ code: 'EETCDTLS' });
    }

    const ca = await readFile(pki.ca, 'utf8');
    await etcd.stop();
    const again = await start(dir);
    expect(await readFile(pki.ca, 'utf8')).toBe(ca);
    const reopened = await EtcdStore.connect([again.endpoint], '/local', { tls: again.tls });
    expect((await reopened.get('kept'))?.value).toBe('yes');
    await reopened.close();
  }, 90_000);

  it("starts with TLS on the data of an older berth's etcd, which spoke plain HTTP", async () => {
    const dir = await tempDir();
    // What berth up ran before its etcd had certificates, on the same layout.
    const binary = await findExecutable('etcd');
    if (binary === undefined) throw new Error('etcd not on PATH: run scripts/install-deps.sh');
    const [clientPort, peerPort] = await freePorts(2);
    const client = `http://127.0.0.1:${clientPort}`;
    const peer = `http://127.0.0.1:${peerPort}`;
    const old = spawn(binary, ['--name', 'berth', '--data-dir', join(dir, 'data'), '--listen-client-urls', client, '--advertise-client-urls', client,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `berth=${peer}`], { stdio: 'ignore' });
    cleanups.push(() => terminate(old, 5_000));
    const plain = await waitFor(() => EtcdStore.connect([client], '/old'), { timeoutMs: 30_000, what: 'the old plain etcd' });
    await plain.commit({ put: [{ key: 'from-before', value: 'v1' }] });
    await plain.close();
    await terminate(old, 5_000);
    // An older berth killed without a word leaves its plain endpoint behind.
    await writeFile(join(dir, 'endpoint'), `${client}\n`);

    const etcd = await start(dir);
    expect(etcd.endpoint).toMatch(/^https:/);
    expect((await readFile(join(dir, 'endpoint'), 'utf8')).trim()).toBe(etcd.endpoint);
    const store = await EtcdStore.connect([etcd.endpoint], '/old', { tls: etcd.tls });
    expect((await store.get('from-before'))?.value).toBe('v1');
    await store.close();
  }, 90_000);

  it('berth get finds its certificates through --data-dir, and refuses a client key open to others', async () => {
    const dataDir = await tempDir();
    const etcd = await start(join(dataDir, 'etcd'));
    // A data dir that names only its etcd (no API server): berth get reads etcd, over TLS.
    for (const args of [['--data-dir', dataDir], ['--etcd', etcd.endpoint, '--data-dir', dataDir]]) {
      const got = await runBerth(['get', 'pods', ...args]);
      expect(got.stderr).toBe('No resources found.\n');
      expect(got.code).toBe(0);
    }
    // Pointed at it with no certificates: the hint names the flag.
    const bare = await runBerth(['get', 'pods', '--etcd', etcd.endpoint, '--data-dir', join(dataDir, 'elsewhere')]);
    expect(bare.code).toBe(1);
    expect(bare.stderr).toMatch(/--etcd-ca/);
    const key = localPkiFiles(join(dataDir, 'etcd')).clientKey;
    await chmod(key, 0o644);
    const open = await runBerth(['get', 'pods', '--data-dir', dataDir]);
    expect(open.code).toBe(1);
    expect(open.stderr).toContain(`run chmod 600 ${key}`);
  }, 90_000);
});
