// Pod volumes on a real Docker engine: an emptyDir shared by the containers of a pod, a Memory
// emptyDir as a tmpfs of its size, readOnly and subPath honoured, ConfigMap files updated in place
// without a restart when the ConfigMap changes, and every volume removed with its pod.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Store } from '../../../src/store/store.js';
import type { BindingRecord } from '../../../src/store/records.js';
import { encode } from '../../../src/store/records.js';
import { bindingKey, desiredKey, sourceKey } from '../../../src/store/keys.js';
import type { ContainerSpec, PodTemplate } from '../../../src/manifest/types.js';
import type { Container } from '../../../src/agent/runtime.js';
import type { AllowRule } from '../../../src/agent/policy.js';
import { isSandbox } from '../../../src/agent/sandbox.js';
import { agentTestbed } from '../../support/agent-testbed.js';
import { uniqueName } from '../../support/names.js';
import { waitFor } from '../../support/wait.js';

const image = inject('testImage');
const bed = agentTestbed('volumes');
const runtime = bed.runtime;
let store: Store;
let dataDir = '';
beforeAll(async () => {
  store = bed.store;
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-volumes-'));
});
afterAll(async () => {
  await fs.rm(dataDir, { recursive: true, force: true });
});

async function agentFor(allow: AllowRule[] = []): Promise<string> {
  const node = uniqueName('node');
  await bed.start(node, { stopGraceSeconds: 1, dataDir, allow: new Set(allow) });
  return node;
}

const shell = (name: string, script: string, volumeMounts: ContainerSpec['volumeMounts']): ContainerSpec => ({
  name, image, command: ['sh', '-c', script], args: [], env: [], ports: [], resources: { requests: {}, limits: {} }, ...(volumeMounts ? { volumeMounts } : {}),
});

async function bind(node: string, pod: string, containers: ContainerSpec[], volumes: PodTemplate['volumes'], over: Partial<PodTemplate> = {}): Promise<BindingRecord> {
  const b: BindingRecord = { type: 'binding', node, namespace: 'default', pod, source: 'vol', templateHash: 'h1', template: { labels: {}, containers, nodeSelector: {}, restartPolicy: 'Always', ...(volumes ? { volumes } : {}), ...over }, commit: 'c1' };
  await store.commit({ put: [{ key: bindingKey(node, 'default', pod), value: encode(b) }] });
  return b;
}

/** Commit a ConfigMap of source `vol` and seal it, as sync would. */
async function sealConfigMap(name: string, data: Record<string, string>): Promise<void> {
  const object = { kind: 'ConfigMap' as const, namespace: 'default', name, labels: {}, path: 'cfg.yaml', line: 1, hash: JSON.stringify(data), spec: { data } };
  const { revision } = await store.commit({ put: [{ key: desiredKey('vol', `ConfigMap/default/${name}`), value: encode({ type: 'desired', object, commit: 'c' }) }] });
  const seal = { type: 'seal' as const, source: 'vol', commit: `c${revision}`, revision, time: new Date().toISOString(), author: 'a', message: 'm', counts: { objects: 1, created: 0, updated: 1, deleted: 0 } };
  await store.commit({ put: [{ key: sourceKey('vol'), value: encode(seal) }] });
}

async function running(node: string, n: number): Promise<Map<string, Container>> {
  return waitFor(async () => {
    const cs = (await runtime.list({ 'berth.node': node })).filter((c) => c.state === 'running' && !isSandbox(c));
    return cs.length === n && new Map(cs.map((c) => [c.labels['berth.container'] ?? '', c]));
  }, { timeoutMs: 30_000, what: `${n} running containers` });
}

async function sh(c: Container | undefined, script: string): Promise<{ exitCode: number; output: string }> {
  return runtime.exec(c?.id ?? '', ['sh', '-c', script], 5000);
}

describe('pod volumes on Docker', () => {
  it('shares an emptyDir between the containers of a pod, honours readOnly and subPath, and removes it with the pod', async () => {
    const node = await agentFor();
    const b = await bind(node, 'shared', [
      shell('writer', 'echo hello > /data/greeting; echo deep > /sub/f; exec sleep 3600', [{ name: 'scratch', mountPath: '/data' }, { name: 'scratch', mountPath: '/sub', subPath: 'a/b' }]),
      shell('reader', 'exec sleep 3600', [{ name: 'scratch', mountPath: '/seen', readOnly: true }]),
    ], [{ name: 'scratch', emptyDir: {} }]);
    const cs = await running(node, 2);
    const reader = cs.get('reader');
    await waitFor(async () => (await sh(reader, 'cat /seen/greeting')).output === 'hello', { timeoutMs: 10_000, what: 'the reader sees the writer\'s file' });
    expect((await sh(reader, 'cat /seen/a/b/f')).output).toBe('deep');
    const denied = await sh(reader, 'touch /seen/x');
    expect(denied.exitCode).not.toBe(0);
    expect(denied.output).toMatch(/Read-only file system/);

    const dir = path.join(dataDir, 'pods', node, 'default', 'shared');
    expect((await fs.stat(path.join(dir, 'scratch'))).mode & 0o777).toBe(0o777);
    await store.commit({ del: [bindingKey(b.node, b.namespace, b.pod)] });
    await waitFor(async () => (await fs.stat(dir).catch(() => undefined)) === undefined, { timeoutMs: 30_000, what: 'the pod\'s volume folder removed' });
  });

  it('makes a Memory emptyDir a tmpfs of its sizeLimit, shared by the pod, and removes it with the pod', async () => {
    const node = await agentFor();
    const b = await bind(node, 'mem', [
      shell('a', 'echo in-memory > /mem/x; exec sleep 3600', [{ name: 'm', mountPath: '/mem' }]),
      shell('b', 'exec sleep 3600', [{ name: 'm', mountPath: '/also' }]),
    ], [{ name: 'm', emptyDir: { medium: 'Memory', sizeLimit: 64 * 1024 * 1024 } }]);
    const cs = await running(node, 2);
    const mount = (await sh(cs.get('a'), 'grep " /mem " /proc/mounts')).output;
    expect(mount).toMatch(/^\S+ \/mem tmpfs /);
    expect(mount).toMatch(/size=65536k/);
    await waitFor(async () => (await sh(cs.get('b'), 'cat /also/x')).output === 'in-memory', { timeoutMs: 10_000, what: 'b sees a\'s file' });
    expect((await runtime.listVolumes({ 'berth.node': node })).map((v) => v.name)).toEqual([`berth_${node}_default_mem_m`]);

    await store.commit({ del: [bindingKey(b.node, b.namespace, b.pod)] });
    await waitFor(async () => (await runtime.listVolumes({ 'berth.node': node })).length === 0, { timeoutMs: 30_000, what: 'the tmpfs volume removed' });
  });

  it('updates the files of a mounted ConfigMap in place, without restarting the container', async () => {
    const cm = uniqueName('cm');
    await sealConfigMap(cm, { greeting: 'hello', 'app.conf': 'level=debug' });
    const node = await agentFor();
    await bind(node, 'files', [
      shell('app', 'exec sleep 3600', [{ name: 'cfg', mountPath: '/etc/cfg' }, { name: 'items', mountPath: '/etc/items' }, { name: 'cfg', mountPath: '/etc/app.conf', subPath: 'app.conf' }]),
    ], [
      { name: 'cfg', configMap: { name: cm } },
      { name: 'items', configMap: { name: cm, items: [{ key: 'greeting', path: 'nested/hi.txt', mode: 0o600 }], defaultMode: 0o640 } },
    ]);
    const app = (await running(node, 1)).get('app');
    expect((await sh(app, 'cat /etc/cfg/greeting')).output).toBe('hello');
    expect((await sh(app, 'cat /etc/app.conf')).output).toBe('level=debug');
    expect((await sh(app, 'cat /etc/items/nested/hi.txt; echo; stat -L -c %a /etc/items/nested/hi.txt /etc/cfg/greeting')).output.split('\n')).toEqual(['hello', '600', '644']);
    expect((await sh(app, 'ls /etc/items')).output).toBe('nested');
    const denied = await sh(app, 'echo x > /etc/cfg/new');
    expect(denied.exitCode).not.toBe(0);

    await sealConfigMap(cm, { greeting: 'goodbye', 'app.conf': 'level=info' });
    await waitFor(async () => (await sh(app, 'cat /etc/cfg/greeting')).output === 'goodbye', { timeoutMs: 30_000, what: 'the file updated in place' });
    expect((await sh(app, 'cat /etc/items/nested/hi.txt')).output).toBe('goodbye');
    // As in Kubernetes, a subPath mount keeps the file it was made with.
    expect((await sh(app, 'cat /etc/app.conf')).output).toBe('level=debug');
    const after = (await runtime.list({ 'berth.node': node })).filter((c) => c.state === 'running' && !isSandbox(c));
    expect(after.map((c) => [c.id, c.startedAt])).toEqual([[app?.id, app?.startedAt]]);
    expect((await bed.status(node, 'files'))?.containers[0]?.restarts).toBe(0);
  });

  it('gives the pod\'s volumes its fsGroup, as kubelet does: group-owned, setgid folders, a ConfigMap readable by the group only, whatever fsGroupChangePolicy says', async () => {
    const cm = uniqueName('cm');
    await sealConfigMap(cm, { secret: 'for-the-group' });
    const node = await agentFor();
    await bind(node, 'grouped', [
      shell('app', 'exec sleep 3600', [{ name: 'scratch', mountPath: '/data' }, { name: 'mem', mountPath: '/mem' }, { name: 'cfg', mountPath: '/cfg' }]),
    ], [
      { name: 'scratch', emptyDir: {} },
      { name: 'mem', emptyDir: { medium: 'Memory' } },
      // 0400: owned by root, so only the group's read bit (kubelet's 0440) lets user 1000 read it.
      { name: 'cfg', configMap: { name: cm, defaultMode: 0o400 } },
      // OnRootMismatch changes nothing on these ephemeral volumes, as in Kubernetes (their plugins ignore the policy).
    ], { securityContext: { runAsUser: 1000, fsGroup: 2000, fsGroupChangePolicy: 'OnRootMismatch' } });
    const app = (await running(node, 1)).get('app');
    expect((await sh(app, 'id -u; stat -c "%g %a" /data /mem; stat -L -c "%g %a" /cfg/secret')).output.split('\n')).toEqual(['1000', '2000 2777', '2000 3777', '2000 440']);
    expect((await sh(app, 'cat /cfg/secret')).output).toBe('for-the-group');
    // A file the container makes in a setgid folder gets the folder's group.
    expect((await sh(app, 'mkdir /data/sub && touch /data/sub/f /mem/f && stat -c "%u %g" /data/sub/f /mem/f')).output.split('\n')).toEqual(['1000 2000', '1000 2000']);
    // The volume's root already has the group, yet a ConfigMap's new file gets it too: kubelet's ConfigMap plugin
    // gives its files the fsGroup on every write, as `Always`, whatever the policy.
    await sealConfigMap(cm, { secret: 'for-the-group', added: 'later' });
    await waitFor(async () => (await sh(app, 'stat -L -c "%g %a" /cfg/added')).output === '2000 440', { timeoutMs: 30_000, what: 'the new file with the fsGroup' });
  });

  it('mounts a hostPath only on a node whose operator allows it (--allow hostPath), making a DirectoryOrCreate there', async () => {
    const host = path.join(dataDir, uniqueName('host'), 'logs');
    const containers = [shell('app', 'echo from-pod > /host/written; exec sleep 3600', [{ name: 'h', mountPath: '/host' }, { name: 'h', mountPath: '/ro', readOnly: true }])];
    const volumes: PodTemplate['volumes'] = [{ name: 'h', hostPath: { path: host, type: 'DirectoryOrCreate' } }];

    const strict = await agentFor();
    await bind(strict, 'hp', containers, volumes);
    const s = await waitFor(async () => {
      const st = await bed.status(strict, 'hp');
      return st?.containers[0]?.reason === 'Forbidden' && st;
    }, { timeoutMs: 20_000, what: 'the pod refused' });
    expect(s.containers[0]?.message).toBe(`volumes[h].hostPath needs what only the operator of node ${strict} may allow (hostPath); it runs them with berth agent --allow hostPath`);
    expect(await fs.stat(host).catch(() => undefined)).toBeUndefined();

    const open = await agentFor(['hostPath']);
    await bind(open, 'hp', containers, volumes);
    const app = (await running(open, 1)).get('app');
    await waitFor(async () => (await fs.readFile(path.join(host, 'written'), 'utf8').catch(() => '')) === 'from-pod\n', { timeoutMs: 10_000, what: 'the pod\'s file on the host' });
    expect((await sh(app, 'cat /ro/written')).output).toBe('from-pod');
    expect((await sh(app, 'touch /ro/x')).exitCode).not.toBe(0);
  });

  it('holds a container whose ConfigMap volume cannot be made, naming why', async () => {
    const node = await agentFor();
    await bind(node, 'nocm', [shell('app', 'exec sleep 3600', [{ name: 'cfg', mountPath: '/etc/cfg' }])], [{ name: 'cfg', configMap: { name: uniqueName('missing') } }]);
    const s = await waitFor(async () => {
      const st = await bed.status(node, 'nocm');
      return st?.containers[0]?.reason === 'CreateContainerConfigError' && st;
    }, { timeoutMs: 20_000, what: 'CreateContainerConfigError' });
    expect(s.containers[0]?.message).toMatch(/^configmap "missing-[^"]+" not found; /);
  });
});
