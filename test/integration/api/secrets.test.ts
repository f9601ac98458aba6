import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startApi, type ApiServer } from '../../../src/api/server.js';
import { silentLogger } from '../../../src/log.js';
import { parseFiles } from '../../../src/manifest/index.js';
import { commitChunked } from '../../../src/store/chunked.js';
import { EtcdStore, type Store } from '../../../src/store/index.js';
import { applyCommit } from '../../unit/controller/fixtures.js';
import { uniqueName } from '../../support/names.js';
import { ageKeyPair, encryptSecret } from '../../support/sops.js';

// What the API answers about Secrets (GET /api/v1/desired, which `berth diff` reads): keys and
// ciphertext, never a value, even of a plain Secret an operator allowed.
describe('the API server and Secrets', () => {
  let store: Store;
  let api: ApiServer;
  const plainValue = `plain-${uniqueName('v')}`;
  const encryptedValue = `enc-${uniqueName('v')}`;

  beforeAll(async () => {
    store = await EtcdStore.connect([inject('etcdEndpoint')], `/${uniqueName('api-secrets')}`);
    const { recipient } = await ageKeyPair();
    const text = `apiVersion: v1\nkind: Secret\nmetadata: {name: plain}\nstringData:\n  password: ${plainValue}\n---\n${await encryptSecret({ name: 'sealed', stringData: { password: encryptedValue } }, [recipient])}`;
    const { objects, errors } = parseFiles([{ path: 'secrets.yaml', text }], { allowPlainSecrets: true });
    expect(errors).toEqual([]);
    await applyCommit(store, 'main', 'c1', objects);
    api = await startApi({ store, log: silentLogger(), listen: { host: '127.0.0.1', port: 0 }, token: 'test-token-0123456789' });
  });

  afterAll(async () => {
    await api?.stop();
    if (store !== undefined) await commitChunked(store, [], (await store.list('')).entries.map((e) => e.key));
    await store?.close();
  });

  it('GET /api/v1/desired shows keys and ciphertext, a plain value only as its length', async () => {
    const res = await fetch(`${api.url}/api/v1/desired?source=main`);
    const text = await res.text();
    expect(res.status).toBe(200);
    const objects = (JSON.parse(text) as { items: { object: { name: string; spec: { stringData: Record<string, string> } } }[] }).items.map((i) => i.object);
    expect(objects.find((o) => o.name === 'plain')?.spec.stringData).toEqual({ password: `(hidden: ${plainValue.length} bytes)` });
    expect(objects.find((o) => o.name === 'sealed')?.spec.stringData.password).toMatch(/^ENC\[AES256_GCM,data:/);
    expect(text).not.toContain(plainValue);
    expect(text).not.toContain(encryptedValue);
    expect(text).not.toContain('BEGIN AGE');
  });
});
