import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runBerth } from '../support/berth.js';
import { uniqueName } from '../support/names.js';
import { createRepo, type TestRepo } from '../support/repo.js';

// Every file berth reads a secret from is refused when its group or others may read it: one line
// naming the file and the fix, exit 1, and the secret in no output.
describe('secret files open to others are refused', () => {
  let dir = '';
  let open = '';
  let cert = '';
  let repo: TestRepo;

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-secret-files-'));
    open = path.join(dir, 'open-secret');
    await fs.writeFile(open, 's3cret\n', { mode: 0o640 });
    await fs.chmod(open, 0o640);
    cert = path.join(dir, 'cert.pem');
    await fs.writeFile(cert, 'not a secret');
    repo = await createRepo(inject('gitRoot'), uniqueName('secret-files'));
    await repo.write('app.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {a: b}\n');
    await repo.commit('one config map');
  });
  afterAll(() => fs.rm(dir, { recursive: true, force: true }));

  const etcd = (): string[] => ['--etcd', inject('etcdEndpoint'), '--prefix', `/${uniqueName('secret-files')}`];
  const dataDir = (): string[] => ['--data-dir', path.join(dir, uniqueName('data'))];

  it.each([
    { flag: '--token-file (berth api)', what: 'the token file', args: (): string[] => ['api', '--listen', '127.0.0.1:0', '--token-file', open, ...etcd(), ...dataDir()] },
    { flag: '--token-file (berth agent --listen)', what: 'the token file', args: (): string[] => ['agent', '--listen', '127.0.0.1:0', '--token-file', open, '--docker', inject('dockerHost'), ...etcd(), ...dataDir()] },
    { flag: '--token-file (berth get)', what: 'the token file', args: (): string[] => ['get', 'pods', '--server', 'http://127.0.0.1:9', '--token-file', open] },
    { flag: '--webhook-secret-file', what: 'the webhook secret file', args: (): string[] => ['up', '--repo', repo.workDir, '--webhook-secret-file', open, '--docker', inject('dockerHost'), '--node', uniqueName('n'), ...etcd(), ...dataDir()] },
    { flag: '--forge-token-file', what: 'token file', args: (): string[] => ['sync', '--repo', repo.workDir, '--status', 'github', '--forge-url', 'http://127.0.0.1:9', '--forge-token-file', open, ...etcd(), ...dataDir()] },
    { flag: '--repo-credentials-file', what: 'credentials file', args: (): string[] => ['sync', '--repo', 'http://127.0.0.1:9/x.git', '--repo-credentials-file', open, ...etcd(), ...dataDir()] },
    { flag: '--registry-auth-file', what: '--registry-auth-file', args: (): string[] => ['agent', '--registry-auth-file', open, '--docker', inject('dockerHost'), ...etcd(), ...dataDir()] },
    { flag: '--age-key-file (berth agent)', what: '--age-key-file', args: (): string[] => ['agent', '--age-key-file', open, '--docker', inject('dockerHost'), ...etcd(), ...dataDir()] },
    { flag: '--age-key-file (berth up)', what: '--age-key-file', args: (): string[] => ['up', '--repo', repo.workDir, '--age-key-file', open, '--docker', inject('dockerHost'), '--node', uniqueName('n'), ...etcd(), ...dataDir()] },
    { flag: '--etcd-password-file', what: '--etcd-password-file', args: (): string[] => ['controller', '--etcd-user', 'root', '--etcd-password-file', open, ...etcd()] },
    { flag: '--etcd-key', what: '--etcd-key', args: (): string[] => ['scheduler', '--etcd-ca', cert, '--etcd-cert', cert, '--etcd-key', open, ...etcd()] },
  ])('$flag', async ({ what, args }) => {
    const res = await runBerth(args(), { timeoutMs: 60_000 });
    const lines = res.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));
    expect(lines).toEqual([`berth: ${what} ${open} is open to others (mode 0640); run chmod 600 ${open}`]);
    expect(res.code).toBe(1);
    expect(res.stdout + res.stderr).not.toContain('s3cret');
  }, 90_000);

  it('--age-key-file holding no age identity is refused at start, naming the file and not its content', async () => {
    const file = path.join(dir, 'not-a-key');
    await fs.writeFile(file, 's3cret\n', { mode: 0o600 });
    const res = await runBerth(['agent', '--age-key-file', file, '--docker', inject('dockerHost'), ...etcd(), ...dataDir()], { timeoutMs: 60_000 });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`berth: --age-key-file ${file} holds no age identity (an AGE-SECRET-KEY-1… line)`);
    expect(res.stdout + res.stderr).not.toContain('s3cret');
  }, 90_000);
});
