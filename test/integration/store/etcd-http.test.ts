// What the agent's etcd client (etcd's JSON gateway over node:http) does beyond the Store contract
// (contract.test.ts): several endpoints, a watch whose etcd goes away, and answers that are not etcd's.
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { InvalidInputError, UnavailableError } from '../../../src/errors.js';
import { EtcdHttpStore } from '../../../src/store/etcd-http.js';
import type { Store } from '../../../src/store/store.js';
import { startEtcd } from '../../support/etcd.js';
import { uniqueName } from '../../support/names.js';
import { freePorts } from '../../support/ports.js';
import { waitFor } from '../../support/wait.js';

const opened: Store[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  for (const c of cleanups.reverse()) await c();
});

async function open(endpoints: string[]): Promise<Store> {
  const store = await EtcdHttpStore.connect(endpoints, `/${uniqueName('etcd-http')}`);
  opened.push(store);
  return store;
}

describe('the JSON gateway client', () => {
  it('dials the next endpoint when one refuses, whichever comes first', async () => {
    const [port] = await freePorts(1);
    const refused = `http://127.0.0.1:${String(port)}`;
    for (const endpoints of [[refused, inject('etcdEndpoint')], [inject('etcdEndpoint'), refused]]) {
      const store = await open(endpoints);
      const { revision } = await store.commit({ put: [{ key: 'k', value: 'v' }] });
      expect(await store.get('k')).toMatchObject({ value: 'v', modRevision: revision });
    }
  });

  it('tells a watch whose etcd went away, as unavailable', async () => {
    const etcd = await startEtcd();
    cleanups.push(() => etcd.stop());
    const store = await open([etcd.endpoint]);
    const errors: Error[] = [];
    const seen: string[] = [];
    const from = (await store.revision()) + 1;
    const watch = store.watch('w/', from, (e) => seen.push(e.key), (err) => errors.push(err));
    await store.commit({ put: [{ key: 'w/a', value: '1' }] });
    await waitFor(() => seen.includes('w/a'), { timeoutMs: 10_000, what: 'the put seen by the watch' });
    await etcd.stop();
    await waitFor(() => errors.length > 0, { timeoutMs: 20_000, what: 'the watch told that etcd went away' });
    expect(errors[0]).toBeInstanceOf(UnavailableError);
    expect(errors).toHaveLength(1);
    await watch.close();
  });

  it('refuses, naming the endpoint, what answers but is not etcd', async () => {
    const server = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html>not etcd</html>'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
    const endpoint = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}`;
    const err: unknown = await EtcdHttpStore.connect([endpoint], '/x').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as UnavailableError).toLine()).toContain(endpoint);
  });

  it('names the flag when etcd serves no JSON gateway (--enable-grpc-gateway=false)', async () => {
    const etcd = await startEtcd({ args: ['--enable-grpc-gateway=false'] });
    cleanups.push(() => etcd.stop());
    const err: unknown = await EtcdHttpStore.connect([etcd.endpoint], '/x').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).toLine()).toMatch(/does not serve its JSON gateway.*--enable-grpc-gateway/);
  });

  it('sends a call again, once, on a new connection when its kept-alive one was reset before any answer', async () => {
    // A proxy that answers one request per connection and resets the connection at the next: what a
    // load balancer that drops idle connections does to a client that reuses one.
    const target = new URL(inject('etcdEndpoint'));
    let connections = 0;
    let resets = 0;
    const proxy = net.createServer((client) => {
      connections++;
      const upstream = net.connect(Number(target.port), target.hostname);
      let answered = false;
      upstream.on('data', (d) => {
        answered = true;
        client.write(d);
      });
      client.on('data', (d) => {
        if (!answered) return void upstream.write(d);
        resets++;
        client.resetAndDestroy();
        upstream.destroy();
      });
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => proxy.close(() => resolve())));
    const store = await open([`http://127.0.0.1:${String((proxy.address() as AddressInfo).port)}`]);
    const { revision } = await store.commit({ put: [{ key: 'k', value: 'v' }] });
    expect(await store.get('k')).toMatchObject({ value: 'v', modRevision: revision });
    expect(resets).toBeGreaterThan(0);
    expect(connections).toBeGreaterThan(resets);
  });

  it('refuses an endpoint that is not a URL, naming it', async () => {
    const err: unknown = await EtcdHttpStore.connect(['http://[not a host'], '/x').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).toLine()).toMatch(/"http:\/\/\[not a host" is not a URL.*--etcd/);
  });
});
