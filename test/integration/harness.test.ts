// The shared test harness works: etcd, Docker with a published port, and the git server.
import Docker from 'dockerode';
import { Etcd3 } from 'etcd3';
import * as git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { parseDockerHost } from '../support/docker.js';
import { freePort } from '../support/ports.js';
import { run } from '../support/process.js';
import { createRepo, type TestRepo } from '../support/repo.js';
import { uniqueName } from '../support/names.js';
import { waitFor } from '../support/wait.js';

describe('etcd', () => {
  it('stores and reads back a key under the test prefix', async () => {
    const client = new Etcd3({ hosts: inject('etcdEndpoint') });
    const prefix = `/${uniqueName('harness')}/`;
    try {
      await client.put(`${prefix}greeting`).value('hello');
      expect(await client.get(`${prefix}greeting`).string()).toBe('hello');
      await client.delete().prefix(prefix);
      expect(await client.getAll().prefix(prefix).keys()).toEqual([]);
    } finally {
      client.close();
    }
  });
});

describe('docker', () => {
  const docker = new Docker(parseDockerHost(inject('dockerHost')));
  const label = uniqueName('harness');

  afterAll(async () => {
    const mine = await docker.listContainers({ all: true, filters: { label: [`berth.test=${label}`] } });
    await Promise.all(mine.map((c) => docker.getContainer(c.Id).remove({ force: true })));
  });

  it('runs busybox httpd reachable through a hostPort on 127.0.0.1', async () => {
    const hostPort = await freePort();
    const container = await docker.createContainer({
      Image: inject('testImage'),
      Cmd: ['sh', '-c', `mkdir -p /www && echo ${label} > /www/index.html && exec httpd -f -p 8080 -h /www`],
      Labels: { 'berth.test': label },
      ExposedPorts: { '8080/tcp': {} },
      HostConfig: { PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: String(hostPort) }] } },
    });
    await container.start();

    const body = await waitFor(
      async () => {
        const response = await fetch(`http://127.0.0.1:${hostPort}/`, { signal: AbortSignal.timeout(1000) });
        return response.ok ? response.text() : undefined;
      },
      { timeoutMs: 15_000, what: `httpd on 127.0.0.1:${hostPort}` },
    );
    expect(body.trim()).toBe(label);
  });
});

describe('git server', () => {
  const repos: TestRepo[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(repos.map((repo) => repo.dispose()));
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('serves a pushed repo to isomorphic-git: clone, fetch of a later push, and push back', async () => {
    const repo = await createRepo(inject('gitRoot'), uniqueName('harness'));
    repos.push(repo);
    const url = repo.url(inject('gitBaseUrl'));
    await repo.write('apps/web.yaml', 'kind: Deployment\n');
    const first = await repo.commit('first');
    await repo.push();

    const dir = await mkdtemp(join(tmpdir(), 'berth-harness-clone-'));
    dirs.push(dir);
    await git.clone({ fs, http, dir, url, ref: 'main', singleBranch: true, noCheckout: true });
    expect(await git.resolveRef({ fs, dir, ref: 'refs/remotes/origin/main' })).toBe(first);

    await repo.write('apps/api.yaml', 'kind: Deployment\nmetadata: {name: api}\n');
    const second = await repo.commit('second');
    await repo.push();
    const fetched = await git.fetch({ fs, http, dir, url, ref: 'main', singleBranch: true });
    expect(fetched.fetchHead).toBe(second);
    const { blob } = await git.readBlob({ fs, dir, oid: second, filepath: 'apps/api.yaml' });
    expect(Buffer.from(blob).toString('utf8')).toContain('name: api');

    // Receive-pack works too (sync pushes git notes back this way).
    await git.writeRef({ fs, dir, ref: 'refs/heads/pushed', value: second });
    const pushed = await git.push({ fs, http, dir, url, ref: 'pushed', remoteRef: 'refs/heads/pushed' });
    expect(pushed.ok).toBe(true);
    const { stdout } = await run('git', ['--git-dir', repo.bareDir, 'rev-parse', 'refs/heads/pushed']);
    expect(stdout.trim()).toBe(second);
  });
});
