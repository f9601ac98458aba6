import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { spawnBerth, type BerthProcess } from '../support/berth.js';
import { freePort } from '../support/ports.js';
import { isRunning, run } from '../support/process.js';
import { createRepo } from '../support/repo.js';
import { uniqueName } from '../support/names.js';
import { GiveUp, waitFor } from '../support/wait.js';

const dockerHost = inject('dockerHost');
const image = inject('testImage');
const env = { ...process.env, DOCKER_HOST: dockerHost };

/** name → state of this node's containers. */
async function containers(node: string): Promise<{ name: string; state: string; labels: string }[]> {
  const { stdout } = await run('docker', ['ps', '-a', '--filter', `label=berth.node=${node}`, '--format', '{{.Names}}\t{{.State}}\t{{.Labels}}'], { env });
  return stdout.split('\n').filter(Boolean).map((l) => {
    const [name = '', state = '', labels = ''] = l.split('\t');
    return { name, state, labels };
  });
}

const running = async (node: string, deployment: string): Promise<number> =>
  (await containers(node)).filter((c) => c.state === 'running' && c.labels.includes(`berth.pod=${deployment}-`)).length;

function worker(replicas: number, message: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: worker
  namespace: e2e
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: worker}
  template:
    metadata:
      labels: {app: worker}
    spec:
      containers:
        - name: main
          image: ${image}
          command: ["sh", "-c"]
          args: ["echo ${message}; exec sleep 3600"]
`;
}

function web(hostPort: number): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: e2e
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: httpd
          image: ${image}
          command: ["sh", "-c", "mkdir -p /www && echo \\"$GREETING\\" > /www/index.html && exec httpd -f -p 8080 -h /www"]
          env:
            - {name: GREETING, value: hello from berth}
          ports:
            - {containerPort: 8080, hostPort: ${hostPort}}
`;
}

describe('push → running → scale → remove, over real git, etcd and Docker', () => {
  const node = uniqueName('e2e');
  let berth: BerthProcess | undefined;
  let dataDir = '';

  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-e2e-'));
  });

  afterAll(async () => {
    await berth?.stop();
    const ids = (await run('docker', ['ps', '-aq', '--filter', `label=berth.node=${node}`], { env })).stdout.split('\n').filter(Boolean);
    if (ids.length > 0) await run('docker', ['rm', '-f', ...ids], { env });
    await fs.rm(dataDir, { recursive: true, force: true });
  });

  it('converges each pushed commit', async () => {
    const repo = await createRepo(inject('gitRoot'), uniqueName('repo'));
    const hostPort = await freePort();
    await repo.write('deploy/worker.yaml', worker(2, 'v1'));
    await repo.write('deploy/web.yaml', web(hostPort));
    await repo.write('README.md', 'not a manifest\n');
    await repo.commit('two workers and a web server');
    await repo.push();

    // No --etcd: berth up starts and stops its own etcd under --data-dir.
    berth = spawnBerth(
      ['up', '--repo', repo.url(inject('gitBaseUrl')), '--branch', 'main', '--path', 'deploy', '--node', node,
        '--host-ip', '127.0.0.1', '--interval', '200ms', '--data-dir', dataDir, '--log-level', 'debug'],
      env,
    );
    const proc = berth;
    // On a timeout, show what berth said (read then, not now).
    const until = async <T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string): Promise<T> => {
      try {
        return await waitFor(async () => {
          if (!isRunning(proc.child)) throw new GiveUp('berth exited');
          return check();
        }, { what, timeoutMs: 60_000 });
      } catch (err) {
        throw new Error(`${err instanceof Error ? err.message : String(err)}\nberth output:\n${proc.output.toString()}`, { cause: err });
      }
    };

    await until(async () => (await running(node, 'worker')) === 2, '2 workers running');
    await until(async () => (await running(node, 'web')) === 1, 'the web server running');
    const page = await until(async () => {
      const res = await fetch(`http://127.0.0.1:${hostPort}/`);
      return res.ok ? res.text() : undefined;
    }, 'the web server answering on its hostPort');
    expect(page.trim()).toBe('hello from berth');
    for (const c of await containers(node)) {
      expect(c.labels).toMatch(/berth\.node=/);
      expect(c.labels).toMatch(/berth\.hash=/);
    }

    await repo.write('deploy/worker.yaml', worker(3, 'v1'));
    await repo.commit('scale workers to 3');
    await repo.push();
    await until(async () => (await running(node, 'worker')) === 3, '3 workers running');

    await repo.write('deploy/worker.yaml', worker(3, 'v2'));
    await repo.commit('change the workers command');
    await repo.push();
    await until(async () => {
      const cs = (await containers(node)).filter((c) => c.labels.includes('berth.pod=worker-'));
      return cs.length === 3 && cs.every((c) => c.state === 'running') && new Set(cs.map((c) => /berth\.hash=([0-9a-f]+)/.exec(c.labels)?.[1])).size === 1;
    }, '3 workers of the new command, old ones gone');

    await repo.write('deploy/worker.yaml', 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: worker}\nspec:\n  replicas: many\n');
    const bad = await repo.commit('a broken commit');
    await repo.push();
    await until(() => proc.output.toString().includes(`rejected commit ${bad.slice(0, 7)}`), 'the broken commit rejected');
    expect(proc.output.toString()).toMatch(/deploy\/worker\.yaml:\d+:\d+: /);
    expect(await running(node, 'worker')).toBe(3);

    await repo.remove('deploy/worker.yaml');
    await repo.commit('remove the workers');
    await repo.push();
    await until(async () => (await containers(node)).filter((c) => c.labels.includes('berth.pod=worker-')).length === 0, 'workers removed');
    expect(await running(node, 'web')).toBe(1);
  }, 300_000);
});
