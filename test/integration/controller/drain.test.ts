// Cordon, drain and uncordon on real etcd and Docker, through the API server and the CLI: a drained
// node's pods run on the other node, and the Deployment never has fewer than replicas − maxUnavailable ready.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { startAgent } from '../../../src/agent/agent.js';
import { DockerRuntime } from '../../../src/agent/docker.js';
import { startApi } from '../../../src/api/server.js';
import { startController } from '../../../src/controller/index.js';
import { silentLogger } from '../../../src/log.js';
import { parseFiles } from '../../../src/manifest/index.js';
import { startScheduler } from '../../../src/scheduler/index.js';
import { EtcdStore, PODS, STATUS, decode, indexStatuses, isPodReady, type PodRecord, type Store } from '../../../src/store/index.js';
import { applyCommit } from '../../../src/sync/index.js';
import { runBerth } from '../../support/berth.js';
import { uniqueName } from '../../support/names.js';
import { waitFor } from '../../support/wait.js';

const TOKEN = 'drain-token-0123456789';
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

const WEB = (image: string): string => `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  strategy: {rollingUpdate: {maxUnavailable: 1}}
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - {name: web, image: ${image}, command: [sleep, '100000']}
`;

describe('berth cordon, drain, uncordon', () => {
  it('a cordoned node takes no new pod; a drained one is emptied, keeping 2 of 3 replicas ready throughout; uncordon undoes it', async () => {
    const name = uniqueName('drain');
    const [a, b] = [`${name}-a`, `${name}-b`];
    const store: Store = await EtcdStore.connect([inject('etcdEndpoint')], `/${name}`);
    const runtime = new DockerRuntime({ docker: inject('dockerHost') });
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-drain-'));
    const tokenFile = path.join(dir, 'token');
    await fs.writeFile(tokenFile, TOKEN, { mode: 0o600 });
    cleanups.push(async () => {
      for (const n of [a, b]) for (const c of await runtime.list({ 'berth.node': n })) await runtime.remove(c.id);
      const { entries } = await store.list('');
      for (const e of entries) await store.commit({ del: [e.key] });
      await store.close();
      await fs.rm(dir, { recursive: true, force: true });
    });
    const log = silentLogger();
    for (const start of [
      async () => (await startController({ store, log })).stop,
      async () => (await startScheduler({ store, log })).stop,
      async () => (await startAgent({ store, runtime, node: a, log, dataDir: dir })).stop,
      async () => (await startAgent({ store, runtime, node: b, log, dataDir: dir })).stop,
    ]) cleanups.push(await start());
    const api = await startApi({ store, log, listen: { host: '127.0.0.1', port: 0 }, token: TOKEN });
    cleanups.push(() => api.stop());
    const berth = (...args: string[]) => runBerth([...args, '--server', api.url, '--token-file', tokenFile], { timeoutMs: 120_000 });
    const nodeStatus = async (node: string): Promise<string | undefined> => {
      const res = await fetch(`${api.url}/api/v1/nodes?name=${node}`);
      return ((await res.json()) as { items: { status: string }[] }).items[0]?.status;
    };
    const pods = async (): Promise<PodRecord[]> => (await store.list(PODS)).entries.map((e) => decode('pod', e.key, e.value));
    const readyCount = async (): Promise<number> => {
      const index = indexStatuses((await store.list(STATUS)).entries.map((e) => decode('podStatus', e.key, e.value)));
      return (await pods()).filter((p) => isPodReady(p, index)).length;
    };

    // Node a is cordoned before the commit: all three replicas go to b.
    expect((await berth('cordon', a)).stdout).toBe(`node ${a} cordoned: no new pod is scheduled on it\n`);
    expect(await nodeStatus(a)).toBe('Ready,SchedulingDisabled');
    const { objects } = parseFiles([{ path: 'web.yaml', text: WEB(inject('testImage')) }]);
    await applyCommit(store, 'main', { commit: 'c1', author: 'test', message: 'web', time: new Date().toISOString() }, objects, new Date());
    await waitFor(async () => (await readyCount()) === 3, { timeoutMs: 120_000, what: 'three web pods ready' });
    expect((await pods()).map((p) => p.node)).toEqual([b, b, b]);

    // Swap: uncordon a, drain b. Watch readiness all along.
    expect((await berth('uncordon', a)).stdout).toBe(`node ${a} uncordoned: pods may be scheduled on it again\n`);
    expect(await nodeStatus(a)).toBe('Ready');
    let lowest = 3;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        lowest = Math.min(lowest, await readyCount());
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const drained = await berth('drain', b, '--timeout', '100s');
    watching = false;
    await watcher;
    expect(drained.stderr).toBe('');
    expect(drained.stdout).toMatch(new RegExp(`node ${b} drained: no pod is bound to it\\n$`));
    expect(drained.code).toBe(0);
    expect((await pods()).map((p) => p.node)).toEqual([a, a, a]);
    // maxUnavailable 1 of 3: never fewer than 2 ready while b was drained.
    expect(lowest).toBeGreaterThanOrEqual(2);
    expect(await nodeStatus(b)).toBe('Ready,SchedulingDisabled');

    const missing = await berth('drain', `${name}-nowhere`);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(new RegExp(`^berth: no node ${name}-nowhere; \`berth get nodes\` lists the nodes\\n`));
  }, 240_000);
});
