import { describe, expect, inject, it } from 'vitest';
import { berthUpTestbed } from '../support/berth-up.js';
import { freeHostPort } from '../support/ports.js';
import { run } from '../support/process.js';
import { listContainers, type Listed } from '../support/containers.js';

const dockerHost = inject('dockerHost');
const image = inject('testImage');
const env = { ...process.env, DOCKER_HOST: dockerHost };

const containers = (node: string): Promise<Listed[]> => listContainers(dockerHost, 'berth.node', node);
const ofDeployment = (cs: Listed[], deployment: string): Listed[] => cs.filter((c) => c.labels['berth.pod']?.startsWith(`${deployment}-`));
const running = async (node: string, deployment: string): Promise<number> =>
  ofDeployment(await containers(node), deployment).filter((c) => c.state === 'running').length;

function worker(replicas: number, message: string, workerImage = image): string {
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
          image: ${workerImage}
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
  const bed = berthUpTestbed('e2e');
  const { node } = bed;
  bed.cleanup(() => bed.docker('rmi', `berth-test/busybox:${node}`).catch(() => undefined));

  it('converges each pushed commit', async () => {
    const repo = await bed.repo();
    const hostPort = await freeHostPort();
    await repo.write('deploy/worker.yaml', worker(2, 'v1'));
    await repo.write('deploy/web.yaml', web(hostPort));
    await repo.write('README.md', 'not a manifest\n');
    await repo.commit('two workers and a web server');
    await repo.push();

    // No --etcd: berth up starts and stops its own etcd under --data-dir.
    const proc = bed.up(repo.url(inject('gitBaseUrl')), ['--branch', 'main', '--path', 'deploy', '--host-ip', '127.0.0.1', '--interval', '200ms', '--log-level', 'debug']);
    const until = <T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string): Promise<T> => proc.until(check, what);

    await until(async () => (await running(node, 'worker')) === 2, '2 workers running');
    await until(async () => (await running(node, 'web')) === 1, 'the web server running');
    const page = await until(async () => {
      const res = await fetch(`http://127.0.0.1:${hostPort}/`);
      return res.ok ? res.text() : undefined;
    }, 'the web server answering on its hostPort');
    expect(page.trim()).toBe('hello from berth');
    for (const c of await containers(node)) {
      expect(c.labels).toMatchObject({ 'berth.node': node, 'berth.namespace': 'e2e', 'berth.hash': expect.stringMatching(/^[0-9a-f]{10}$/) });
    }

    await repo.write('deploy/worker.yaml', worker(3, 'v1'));
    await repo.commit('scale workers to 3');
    await repo.push();
    await until(async () => (await running(node, 'worker')) === 3, '3 workers running');

    const oldHash = ofDeployment(await containers(node), 'worker')[0]?.labels['berth.hash'];
    await repo.write('deploy/worker.yaml', worker(3, 'v2'));
    await repo.commit('change the workers command');
    await repo.push();
    await until(async () => {
      const cs = ofDeployment(await containers(node), 'worker');
      return cs.length === 3 && cs.every((c) => c.state === 'running' && c.labels['berth.hash'] !== oldHash);
    }, '3 workers of the new command, old ones gone');

    // A new image: the same busybox under a tag of this test's own.
    const retagged = `berth-test/busybox:${node}`;
    await run('docker', ['tag', image, retagged], { env });
    const byImage = async (): Promise<string[]> => ofDeployment(await containers(node), 'worker').filter((c) => c.state === 'running').map((c) => c.image);
    await repo.write('deploy/worker.yaml', worker(3, 'v2', retagged));
    await repo.commit('move the workers to a new image');
    await repo.push();
    await until(async () => {
      const images = await byImage();
      return images.length === 3 && images.every((i) => i === retagged);
    }, '3 workers on the new image');

    await repo.write('deploy/worker.yaml', 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: worker}\nspec:\n  replicas: many\n');
    const bad = await repo.commit('a broken commit');
    await repo.push();
    await until(() => proc.output.toString().includes(`rejected commit ${bad.slice(0, 7)}`), 'the broken commit rejected');
    expect(proc.output.toString()).toMatch(/deploy\/worker\.yaml:\d+:\d+: /);
    expect(await running(node, 'worker')).toBe(3);

    await repo.remove('deploy/worker.yaml');
    await repo.commit('remove the workers');
    await repo.push();
    await until(async () => ofDeployment(await containers(node), 'worker').length === 0, 'workers removed');
    expect(await running(node, 'web')).toBe(1);
  }, 300_000);
});
