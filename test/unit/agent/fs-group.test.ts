import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fsGroupMode, setVolumeOwnership } from '../../../src/agent/fs-group.js';
import { dockerMount } from '../../../src/agent/docker-shapes.js';

let tmp = '';
beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-fsgroup-unit-'));
});
afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('fsGroupMode', () => {
  // kubelet's SetVolumeOwnership: files | 0660 (0440 read-only), folders also | 0110 and setgid.
  it.each([
    ['a file of 0644', 0o644, false, false, 0o664],
    ['a file of 0400 in a read-only volume', 0o400, false, true, 0o440],
    ['a file of 0600', 0o600, false, false, 0o660],
    ['a folder of 0777', 0o777, true, false, 0o2777],
    ['a folder of 0755 in a read-only volume', 0o755, true, true, 0o2755],
    ['a folder of 0700', 0o700, true, false, 0o2770],
  ])('%s', (_, mode, isDir, readOnly, want) => {
    expect(fsGroupMode(mode, isDir, readOnly)).toBe(want);
  });
});

describe('setVolumeOwnership', () => {
  it('gives every file and folder the group, folders setgid, and leaves what a link points at alone', async () => {
    const root = path.join(tmp, 'vol');
    await fs.mkdir(path.join(root, 'sub'), { recursive: true });
    await fs.chmod(root, 0o777);
    await fs.chmod(path.join(root, 'sub'), 0o755);
    await fs.writeFile(path.join(root, 'sub', 'f'), 'x', { mode: 0o600 });
    await fs.chmod(path.join(root, 'sub', 'f'), 0o600);
    const outside = path.join(tmp, 'outside');
    await fs.writeFile(outside, 'y', { mode: 0o600 });
    await fs.chmod(outside, 0o600);
    await fs.symlink(outside, path.join(root, 'link'));

    expect(await setVolumeOwnership(root, 2000, false)).toBeUndefined();
    const of = async (p: string): Promise<[number, string]> => {
      const st = await fs.lstat(p);
      return [st.gid, (st.mode & 0o7777).toString(8)];
    };
    expect(await of(root)).toEqual([2000, '2777']);
    expect(await of(path.join(root, 'sub'))).toEqual([2000, '2775']);
    expect(await of(path.join(root, 'sub', 'f'))).toEqual([2000, '660']);
    expect((await fs.lstat(path.join(root, 'link'))).gid).toBe(2000);
    // The link is not followed: the file it points at keeps its group and mode.
    expect(await of(outside)).toEqual([(await fs.stat(tmp)).gid, '600']);
  });
});

describe('dockerMount', () => {
  it.each([
    ['a tmpfs of a size', { sizeBytes: 1024 }, { type: 'tmpfs', device: 'tmpfs', o: 'size=1024' }],
    ['a tmpfs of a pod with an fsGroup: its group, setgid and group-writable', { sizeBytes: 1024, gid: 2000 }, { type: 'tmpfs', device: 'tmpfs', o: 'size=1024,gid=2000,mode=3777' }],
    ['a tmpfs of no size', {}, { type: 'tmpfs', device: 'tmpfs' }],
  ])('%s', (_, extra, options) => {
    const m = dockerMount({ type: 'tmpfs', name: 'v', target: '/m', readOnly: false, labels: { a: 'b' }, ...extra });
    expect(m.VolumeOptions?.DriverConfig?.Options).toEqual(options);
  });
});
