import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configMapFiles, memoryVolumeName, mountsOf, PodVolumes, resolveSubPath, secretFiles } from '../../../src/agent/volumes.js';
import { silentLogger } from '../../../src/log.js';
import type { ConfigMapVolume } from '../../../src/manifest/volumes.js';
import { binding, spec } from './fixtures.js';

let tmp = '';
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-volumes-unit-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('configMapFiles', () => {
  const data: Record<string, Record<string, string>> = { cfg: { b: '2', a: '1' }, dots: { '..x': 'no' } };
  const lookup = (n: string): Record<string, string> | undefined => data[n];
  it.each<[string, ConfigMapVolume, unknown]>([
    ['every key, sorted, mode 0644', { name: 'cfg' }, { files: [{ path: 'a', content: '1', mode: 0o644 }, { path: 'b', content: '2', mode: 0o644 }] }],
    ['defaultMode', { name: 'cfg', defaultMode: 0o400 }, { files: [{ path: 'a', content: '1', mode: 0o400 }, { path: 'b', content: '2', mode: 0o400 }] }],
    ['items, each its mode or the default', { name: 'cfg', defaultMode: 0o440, items: [{ key: 'b', path: 'x/b.txt', mode: 0o600 }, { key: 'a', path: 'a.txt' }] }, { files: [{ path: 'x/b.txt', content: '2', mode: 0o600 }, { path: 'a.txt', content: '1', mode: 0o440 }] }],
    ['a missing key', { name: 'cfg', items: [{ key: 'z', path: 'z' }] }, { error: 'configmap "cfg" has no key "z"' }],
    ['an optional missing key', { name: 'cfg', optional: true, items: [{ key: 'z', path: 'z' }, { key: 'a', path: 'a' }] }, { files: [{ path: 'a', content: '1', mode: 0o644 }] }],
    ['a missing ConfigMap', { name: 'gone' }, { error: 'configmap "gone" not found' }],
    ['an optional missing ConfigMap', { name: 'gone', optional: true }, { files: [] }],
    ['an item path out of the volume (a hand-written binding)', { name: 'cfg', items: [{ key: 'a', path: '../../etc/x' }] }, { error: 'item path "../../etc/x" must not contain \'..\': a path must stay inside the volume' }],
    ['a key that would be a writer\'s name', { name: 'dots' }, { error: 'configmap key "..x" cannot be a file name (it starts with \'..\')' }],
  ])('%s', (_, v, expected) => {
    expect(configMapFiles(v, lookup)).toEqual(expected);
  });
});

describe('secretFiles', () => {
  const bytes = (s: string): Uint8Array => Buffer.from(s);
  const lookup = (n: string): { values: ReadonlyMap<string, Uint8Array> } | { error: string } | undefined =>
    n === 'db' ? { values: new Map([['password', bytes('hunter2')], ['user', bytes('app')]]) } : n === 'sealed' ? { error: 'db.yaml: its MAC does not match its values' } : undefined;
  it.each<[string, Parameters<typeof secretFiles>[0], unknown]>([
    ['every key, as bytes', { secretName: 'db' }, { files: [{ path: 'password', content: bytes('hunter2'), mode: 0o644 }, { path: 'user', content: bytes('app'), mode: 0o644 }] }],
    ['items and defaultMode', { secretName: 'db', defaultMode: 0o400, items: [{ key: 'password', path: 'pw' }] }, { files: [{ path: 'pw', content: bytes('hunter2'), mode: 0o400 }] }],
    ['a missing key', { secretName: 'db', items: [{ key: 'z', path: 'z' }] }, { error: 'secret "db" has no key "z"' }],
    ['a missing Secret', { secretName: 'gone' }, { error: 'secret "gone" not found' }],
    ['an optional missing Secret', { secretName: 'gone', optional: true }, { files: [] }],
    ['a Secret this node cannot open, naming why and no value', { secretName: 'sealed' }, { error: 'cannot decrypt secret "sealed": db.yaml: its MAC does not match its values' }],
  ])('%s', (_, v, expected) => {
    expect(secretFiles(v, lookup)).toEqual(expected);
  });
});

describe('mountsOf', () => {
  const b = { ...binding('web'), template: { ...binding('web').template, volumes: [{ name: 'c', configMap: { name: 'cfg' } }, { name: 'e', emptyDir: {} }, { name: 'm', emptyDir: { medium: 'Memory' as const, sizeLimit: 1024 } }] } };
  it('binds ConfigMaps read-only, emptyDirs as asked, and names a Memory emptyDir for the pod', () => {
    const app = spec('app', {
      volumeMounts: [{ name: 'c', mountPath: '/etc/c', readOnly: false }, { name: 'e', mountPath: '/e', readOnly: true }, { name: 'e', mountPath: '/s', subPath: 'x' }, { name: 'm', mountPath: '/m' }],
    });
    expect(mountsOf(b, app, 'n1', '/data/pods/n1/default/web', new Map([['e/x', '/real/e/x']]))).toEqual([
      { type: 'bind', source: '/data/pods/n1/default/web/c', target: '/etc/c', readOnly: true },
      { type: 'bind', source: '/data/pods/n1/default/web/e', target: '/e', readOnly: true },
      { type: 'bind', source: '/real/e/x', target: '/s', readOnly: false },
      { type: 'tmpfs', name: memoryVolumeName('n1', 'default', 'web', 'm'), target: '/m', readOnly: false, sizeBytes: 1024, labels: { 'berth.node': 'n1', 'berth.namespace': 'default', 'berth.pod': 'web' } },
    ]);
    expect(memoryVolumeName('n/1', 'default', 'web', 'm')).toBe('berth_n-1_default_web_m');
  });
});

describe('resolveSubPath', () => {
  it('makes a missing folder, and refuses a link a container put in the volume, even one that stays inside', async () => {
    const vol = path.join(tmp, 'vol');
    await fs.mkdir(vol);
    const made = await resolveSubPath(vol, 'a/b', true);
    expect(made).toBe(path.join(await fs.realpath(vol), 'a', 'b'));
    await fs.symlink('/etc', path.join(vol, 'out'));
    await fs.symlink('a', path.join(vol, 'in'));
    expect(await resolveSubPath(vol, 'out', true)).toEqual({ error: 'subPath "out" passes through a symbolic link inside the volume; berth does not follow it' });
    expect(await resolveSubPath(vol, 'in/b', true)).toEqual({ error: 'subPath "in/b" passes through a symbolic link inside the volume; berth does not follow it' });
    // Where links are the volume's own (a ConfigMap's), they are followed, but never out of it.
    expect(await resolveSubPath(vol, 'out', false)).toEqual({ error: 'subPath "out" leads out of the volume' });
    expect(await resolveSubPath(vol, 'nope', false)).toEqual({ error: 'subPath "nope" does not exist in the volume' });
    expect(await resolveSubPath(vol, '../..', true)).toEqual({ error: 'subPath "../.." must not contain \'..\': a path must stay inside the volume' });
  });
});

describe('PodVolumes', () => {
  it('makes nothing for a binding whose names could lead out of the data dir', async () => {
    const data = path.join(tmp, 'hostile');
    const b = { ...binding('web', { namespace: '..' }), template: { ...binding('web').template, volumes: [{ name: 'e', emptyDir: {} }] } };
    const prepared = await new PodVolumes(data, 'n1', silentLogger()).prepare([b], () => () => undefined);
    expect(prepared.get('../web')?.mounts(spec('app'))).toEqual({ error: expect.stringMatching(/^cannot make the pod's volumes: "\.\." is not a valid DNS-1123 label/) as unknown });
    expect(await fs.readdir(data).catch(() => [])).toEqual([]);
  });

  it('makes the subPaths an init container mounts, as those of the containers', async () => {
    const data = path.join(tmp, 'init');
    const b = { ...binding('web'), template: { ...binding('web').template, volumes: [{ name: 'e', emptyDir: {} }], initContainers: [spec('seed', { volumeMounts: [{ name: 'e', mountPath: '/seed', subPath: 'a/b' }] })] } };
    const prepared = await new PodVolumes(data, 'n1', silentLogger()).prepare([b], () => () => undefined);
    const at = await fs.realpath(path.join(data, 'pods', 'n1', 'default', 'web', 'e', 'a', 'b'));
    expect(prepared.get('default/web')?.mounts(spec('seed', { volumeMounts: [{ name: 'e', mountPath: '/seed', subPath: 'a/b' }] }))).toEqual([{ type: 'bind', source: at, target: '/seed', readOnly: false }]);
  });

  it('writes a ConfigMap as kubelet does (..data swapped to a fresh folder, a link per name) and rewrites it in place', async () => {
    const data = path.join(tmp, 'agent');
    const volumes = new PodVolumes(data, 'n1', silentLogger());
    const b = { ...binding('web'), template: { ...binding('web').template, volumes: [{ name: 'c', configMap: { name: 'cfg' } }] } };
    let content: Record<string, string> = { a: '1', b: '2' };
    await volumes.prepare([b], () => () => content);
    const dir = path.join(data, 'pods', 'n1', 'default', 'web', 'c');
    const layout = async (): Promise<string[]> => (await fs.readdir(dir)).map((e) => (e.startsWith('..') && e !== '..data' ? '..<time>' : e)).sort();
    expect(await layout()).toEqual(['..<time>', '..data', 'a', 'b']);
    expect(await fs.readlink(path.join(dir, 'a'))).toBe(path.join('..data', 'a'));
    const first = await fs.readlink(path.join(dir, '..data'));

    content = { a: 'one' };
    await volumes.prepare([b], () => () => content);
    expect(await layout()).toEqual(['..<time>', '..data', 'a']);
    expect(await fs.readlink(path.join(dir, '..data'))).not.toBe(first);
    expect(await fs.readFile(path.join(dir, 'a'), 'utf8')).toBe('one');

    await volumes.clean(new Set(['default/web']), []);
    expect(await fs.readFile(path.join(dir, 'a'), 'utf8')).toBe('one');
    await volumes.clean(new Set(), []);
    expect(await fs.stat(path.join(data, 'pods', 'n1', 'default', 'web')).catch(() => undefined)).toBeUndefined();
  });

  it('writes a Secret volume as a ConfigMap one and rewrites it in place when the Secret changes, keeping no value to compare', async () => {
    const data = path.join(tmp, 'agent-secret');
    const volumes = new PodVolumes(data, 'n1', silentLogger());
    const b = { ...binding('web'), template: { ...binding('web').template, volumes: [{ name: 's', secret: { secretName: 'db', defaultMode: 0o400 } }] } };
    let value = 'hunter2';
    const secrets = () => () => ({ values: new Map([['password', Buffer.from(value)]]) });
    await volumes.prepare([b], () => () => undefined, secrets);
    const file = path.join(data, 'pods', 'n1', 'default', 'web', 's', 'password');
    expect(await fs.readFile(file, 'utf8')).toBe('hunter2');
    expect((await fs.stat(file)).mode & 0o777).toBe(0o400);
    value = 'hunter3';
    await volumes.prepare([b], () => () => undefined, secrets);
    expect(await fs.readFile(file, 'utf8')).toBe('hunter3');
    expect(JSON.stringify([...(volumes as unknown as { written: Map<string, string> }).written])).not.toMatch(/hunter/);
  });
});
