// Node lifecycle on real etcd and Docker: an agent process killed with SIGKILL → its node NotReady
// → after --node-grace its pods run on the other node; the agent of that node back → it removes
// its stale containers (fencing) and the node is Ready again.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { startAgent } from '../../../src/agent/agent.js';
import { DockerRuntime } from '../../../src/agent/docker.js';
import { startController } from '../../../src/controller/index.js';
import { silentLogger } from '../../../src/log.js';
import { parseFiles } from '../../../src/manifest/index.js';
import { startScheduler } from '../../../src/scheduler/index.js';
import { EtcdStore, LOST_NODES, PODS, decode, lostNodeKey, nodeKey, type PodRecord, type Store } from '../../../src/store/index.js';
import { applyCommit } from '../../../src/sync/index.js';
import { spawnBerth, waitWhileUp } from '../../support/berth.js';
import { deploymentYaml } from '../../support/manifests.js';
import { uniqueName } from '../../support/names.js';
import { waitFor } from '../../support/wait.js';

const dockerHost = inject('dockerHost');
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

describe('a node whose agent dies', () => {
  it('goes NotReady; after the grace its pods run on the other node; back, its agent removes its stale containers first', async () => {
    const name = uniqueName('nodefail');
    const [a, b] = [`${name}-a`, `${name}-b`];
    const store: Store = await EtcdStore.connect([inject('etcdEndpoint')], `/${name}`);
    const runtime = new DockerRuntime({ docker: dockerHost });
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-nodefail-'));
    cleanups.push(async () => {
      for (const n of [a, b]) for (const c of await runtime.list({ 'berth.node': n })) await runtime.remove(c.id);
      const { entries } = await store.list('');
      for (const e of entries) await store.commit({ del: [e.key] });
      await store.close();
      await fs.rm(dataDir, { recursive: true, force: true });
    });
    const log = silentLogger();
    const controller = await startController({ store, log, nodeGraceMs: 2_000 });
    cleanups.push(() => controller.stop());
    const scheduler = await startScheduler({ store, log });
    cleanups.push(() => scheduler.stop());
    // Node a's agent is a process of its own, to be killed; node b's runs here.
    const agentA = spawnBerth(['agent', '--node', a, '--docker', dockerHost, '--etcd', inject('etcdEndpoint'), '--prefix', `/${name}`, '--data-dir', dataDir,
      '--node-lease-ttl', '2s', '--node-lease-renew', '500ms', '--log-level', 'debug']);
    cleanups.push(() => agentA.stop());
    const agentB = await startAgent({ store, runtime, node: b, log, stopGraceSeconds: 1, dataDir });
    cleanups.push(() => agentB.stop());

    await waitWhileUp(agentA, async () => (await store.get(nodeKey(a))) !== undefined, `node ${a} registered`, { timeoutMs: 60_000 });
    const { objects, errors } = parseFiles([{ path: 'web.yaml', text: deploymentYaml({ name: 'web', namespace: 'default', replicas: 2, image: inject('testImage'), command: ['sleep', '100000'] }) }]);
    expect(errors).toEqual([]);
    await applyCommit(store, 'main', { commit: 'c1', author: 'test', message: 'web', time: new Date().toISOString() }, objects, new Date());

    const running = async (node: string): Promise<string[]> =>
      (await runtime.list({ 'berth.node': node, 'berth.container': 'web' })).filter((c) => c.state === 'running').map((c) => c.labels['berth.pod'] ?? '').sort();
    const pods = async (): Promise<PodRecord[]> => (await store.list(PODS)).entries.map((e) => decode('pod', e.key, e.value));
    // The scheduler spreads the replicas: one on each node.
    const [onA] = await waitWhileUp(agentA, async () => {
      const [ra, rb] = [await running(a), await running(b)];
      return ra.length === 1 && rb.length === 1 ? ra : undefined;
    }, 'one web pod running on each node', {
      timeoutMs: 120_000,
      context: async () => `pods: ${JSON.stringify((await pods()).map((p) => [p.name, p.node]))}; containers: ${JSON.stringify((await runtime.list({ 'berth.node': a })).concat(await runtime.list({ 'berth.node': b })).map((c) => [c.name, c.state]))}`,
    });

    agentA.child.kill('SIGKILL');
    const lost = await waitFor(async () => {
      const e = await store.get(lostNodeKey(a));
      return e && decode('nodeLost', e.key, e.value);
    }, { timeoutMs: 30_000, what: `node ${a} marked NotReady` });
    expect(lost.name).toBe(a);
    // Within the grace nothing moves; after it both replicas run on b, and the pod that was on a is bound to b.
    await waitFor(async () => {
      const all = await pods();
      return all.length === 2 && all.every((p) => p.node === b) && (await running(b)).length === 2;
    }, { timeoutMs: 60_000, what: 'both web pods running on node b' });
    expect(await running(b)).toContain(onA);
    expect(decode('nodeLost', lostNodeKey(a), (await store.get(lostNodeKey(a)))?.value ?? '').evictedAt).toBeDefined();
    // The killed agent left its containers running: stale, and of a pod that now runs on b.
    expect(await running(a)).toEqual([onA]);

    // Node a's agent comes back: it removes the stale containers (sandbox too), and a is Ready again.
    const back = await startAgent({ store, runtime, node: a, log, stopGraceSeconds: 1, dataDir });
    cleanups.push(() => back.stop());
    await waitFor(async () => (await runtime.list({ 'berth.node': a })).length === 0, { timeoutMs: 60_000, what: `node ${a}'s stale containers removed` });
    await waitFor(async () => (await store.list(LOST_NODES)).entries.length === 0, { timeoutMs: 30_000, what: `node ${a} Ready again` });
    expect((await pods()).map((p) => p.node)).toEqual([b, b]);
    expect((await running(b)).length).toBe(2);
  }, 240_000);
});
