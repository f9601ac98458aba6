import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { runBerth, spawnBerth, waitWhileUp, type BerthProcess } from '../support/berth.js';
import { berthUpTestbed } from '../support/berth-up.js';
import { freePorts } from '../support/ports.js';
import { exited } from '../support/process.js';
import { localPkiFiles } from '../../src/store/index.js';

const env = { ...process.env, DOCKER_HOST: inject('dockerHost') };
const configMap = (value: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {value: "${value}"}\n`;

interface SourceView {
  source: string;
  commitSha?: string;
}

const sources = async (base: string): Promise<SourceView[]> => {
  const res = await fetch(`${base}/api/v1/sources`);
  if (!res.ok) return [];
  return ((await res.json()) as { items: SourceView[] }).items;
};

/** Send SIGTERM and measure how long the process takes to exit. */
const stopTimed = async (proc: BerthProcess): Promise<number> => {
  const began = Date.now();
  const gone = exited(proc.child);
  proc.child.kill('SIGTERM');
  await gone;
  return Date.now() - began;
};

describe('the API server inside `berth up`, and `berth api` beside it', () => {
  const bed = berthUpTestbed('api');
  let api: BerthProcess | undefined;
  afterAll(async () => {
    await api?.stop();
  });

  it('serves the sources, and a sync requested through it looks at a remote branch polled only hourly', async () => {
    const { dataDir } = bed;
    const repo = await bed.repo();
    await repo.write('app.yaml', configMap('one'));
    const first = await repo.commit('first');
    await repo.push();

    const [upPort, apiPort] = await freePorts(2);
    const upUrl = `http://127.0.0.1:${upPort}`;
    const up = bed.up(repo.url(inject('gitBaseUrl')), ['--interval', '1h', '--status', 'none', '--listen', `127.0.0.1:${upPort}`]);
    await up.until(async () => (await sources(upUrl)).find((s) => s.commitSha === first), 'the first commit in force, through the API');
    const readyz = await up.until(async () => {
      const res = await fetch(`${upUrl}/readyz`);
      return res.status === 200 ? res.json() : undefined;
    }, '/readyz 200');
    expect(readyz).toEqual({ ready: true, etcd: 'ok', components: { sync: true, controller: true, scheduler: true, agent: true } });

    const tokenFile = path.join(dataDir, 'api-token');
    expect((await fs.stat(tokenFile)).mode & 0o777).toBe(0o600);
    const token = (await fs.readFile(tokenFile, 'utf8')).trim();
    expect(up.output.toString()).not.toContain(token);

    // A second, separate API server on the same etcd, with a token of its own.
    const etcd = (await fs.readFile(path.join(dataDir, 'etcd', 'endpoint'), 'utf8')).trim();
    const otherToken = path.join(dataDir, 'other', 'token');
    // berth up's etcd speaks TLS: another process on the machine names its certificates.
    const pki = localPkiFiles(path.join(dataDir, 'etcd'));
    const other = spawnBerth(['api', '--etcd', etcd, '--etcd-ca', pki.ca, '--etcd-cert', pki.clientCert, '--etcd-key', pki.clientKey, '--listen', `127.0.0.1:${apiPort}`, '--token-file', otherToken]);
    api = other;
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    await waitWhileUp(other, async () => (await sources(apiUrl)).find((s) => s.commitSha === first), 'the first commit, through `berth api`');
    expect((await fs.stat(otherToken)).mode & 0o777).toBe(0o600);

    await repo.write('app.yaml', configMap('two'));
    const second = await repo.commit('second');
    await repo.push();
    // The token of `berth up` is not the token of this other server: nothing is done.
    const refused = await fetch(`${apiUrl}/api/v1/sources/default/sync`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(refused.status).toBe(401);
    const res = await fetch(`${apiUrl}/api/v1/sources/default/sync`, {
      method: 'POST', headers: { authorization: `Bearer ${(await fs.readFile(otherToken, 'utf8')).trim()}` },
    });
    expect(res.status).toBe(202);
    // With a 1 h interval, only the request makes sync look at the remote branch again.
    await up.until(async () => (await sources(upUrl)).find((s) => s.commitSha === second), 'the second commit in force after the sync request', { timeoutMs: 30_000 });

    // Both stop within seconds of SIGTERM (a stream open on each).
    const streams = [await fetch(`${upUrl}/api/v1/sources?watch=1`), await fetch(`${apiUrl}/api/v1/events?watch=1`)];
    expect(streams.map((s) => s.status)).toEqual([200, 200]);
    expect(await stopTimed(other)).toBeLessThan(10_000);
    expect(await stopTimed(up)).toBeLessThan(10_000);
    expect(other.child.exitCode).toBe(0);
    expect(up.child.exitCode).toBe(0);
  });
});

describe('the API server\'s flags', () => {
  it.each([
    ['berth up, a --listen without a port', (): string[] => ['up', '--repo', '.', '--listen', '127.0.0.1', '--etcd', 'http://127.0.0.1:9'], /^berth: --listen must be host:port/],
    ['berth api, a --listen without a port', (): string[] => ['api', '--listen', 'localhost', '--etcd', 'http://127.0.0.1:9'], /^berth: --listen must be host:port/],
  ])('%s: one line, exit 2 (usage)', async (_name, args, line) => {
    const res = await runBerth(args(), { env });
    expect(res.code).toBe(2);
    const lines = res.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));
    expect(lines).toEqual([expect.stringMatching(line)]);
  });

  it('berth api on a port in use: one line naming it, exit 1, no token left behind elsewhere', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-api-flags-'));
    const [port] = await freePorts(1);
    const { createServer } = await import('node:net');
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
    try {
      const res = await runBerth(['api', '--etcd', inject('etcdEndpoint'), '--listen', `127.0.0.1:${port}`, '--data-dir', dir], { env });
      expect(res.code).toBe(1);
      const lines = res.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));
      expect(lines).toEqual([expect.stringMatching(new RegExp(`^berth: the API server cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE.*; pick another --listen$`))]);
      expect((await fs.stat(path.join(dir, 'api-token'))).mode & 0o777).toBe(0o600);
    } finally {
      holder.close();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('berth api --help: no Docker, and the token flags', async () => {
    const res = await runBerth(['api', '--help']);
    expect(res.code).toBe(0);
    expect(res.stdout).not.toContain('--docker');
    expect(res.stdout).toContain('--listen <host:port>');
    expect(res.stdout).toContain('--token-file <file>');
    expect(res.stdout).toContain('--webhook-secret-file <file>');
  });
});
