import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureLocalPki } from '../../../src/store/index.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});
async function etcdDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-pki-'));
  dirs.push(dir);
  return dir;
}
const DAY = 24 * 3600_000;

describe('the certificates of berth up\'s own etcd', () => {
  it('signs the server and client pairs with its CA, for 127.0.0.1 and localhost', async () => {
    const { pki, made } = await ensureLocalPki(await etcdDir());
    expect(made).toBe(true);
    const [ca, server, client] = await Promise.all([pki.ca, pki.serverCert, pki.clientCert].map(async (f) => forge.pki.certificateFromPem(await readFile(f, 'utf8'))));
    if (ca === undefined || server === undefined || client === undefined) throw new Error('certificates missing');
    expect(ca.verify(server)).toBe(true);
    expect(ca.verify(client)).toBe(true);
    const names = (server.getExtension('subjectAltName') as { altNames: { ip?: string; value?: string }[] }).altNames.map((n) => n.ip ?? n.value);
    expect(names).toEqual(['127.0.0.1', 'localhost']);
    expect(client.getExtension('extKeyUsage')).toMatchObject({ clientAuth: true });
  });

  it.each([
    ['a start a year later reuses them', 365, false],
    ['a start within 30 days of their end makes them again', 3650 - 20, true],
    ['a start after their end makes them again', 3651, true],
  ])('%s', async (_what, days, remade) => {
    const dir = await etcdDir();
    const first = await ensureLocalPki(dir, new Date());
    const ca = await readFile(first.pki.ca, 'utf8');
    const later = await ensureLocalPki(dir, new Date(Date.now() + days * DAY));
    expect(later.made).toBe(remade);
    expect((await readFile(later.pki.ca, 'utf8')) === ca).toBe(!remade);
  });

  it('makes them again when one is missing, and refuses a key open to others', async () => {
    const dir = await etcdDir();
    const { pki } = await ensureLocalPki(dir);
    await rm(pki.serverCert);
    expect((await ensureLocalPki(dir)).made).toBe(true);
    await chmod(pki.clientKey, 0o640);
    await expect(ensureLocalPki(dir)).rejects.toMatchObject({ code: 'EETCDTLS', hint: `run chmod 600 ${pki.clientKey}` });
  });
});
