import { createServer } from 'node:net';
import { describe, expect, inject, it } from 'vitest';
import { listContainers } from '../support/containers.js';
import { berthUpTestbed } from '../support/berth-up.js';
import { uniqueName } from '../support/names.js';

/** A port of the NodePort range nothing listens on right now. */
async function freeNodePort(): Promise<number> {
  for (;;) {
    const port = 30000 + Math.floor(Math.random() * 2768);
    const free = await new Promise<boolean>((resolve) => {
      const s = createServer().once('error', () => resolve(false)).listen(port, '0.0.0.0', () => s.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

// Services end to end (berth up): a commit's Deployment and NodePort Service, reached from a pod by
// the Service's name and from the host at the node port, through a stub of --service-image.
describe('Services under berth up', () => {
  const bed = berthUpTestbed('services');
  const { dockerHost, node, docker } = bed;
  const network = uniqueName('podnet');
  bed.cleanup(() => docker('network', 'rm', network).catch(() => ''));

  it('reaches a Service by name from a pod and at its nodePort from the host', async () => {
    const nodePort = await freeNodePort();
    const work = await bed.repo();
    await work.write('app.yaml', `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: ${inject('testImage')}
        command: [sh, -c, 'mkdir -p /w && echo hello-web > /w/index.html && exec httpd -f -p 8080 -h /w']
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {tcpSocket: {port: http}, periodSeconds: 1}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: client}
spec:
  selector: {matchLabels: {app: client}}
  template:
    metadata: {labels: {app: client}}
    spec:
      containers:
      - {name: client, image: ${inject('testImage')}, command: [sleep, '3600']}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: http, nodePort: ${nodePort}}]
`);
    await work.commit('web and its Service');
    const up = bed.up(work, ['--pod-network', network, '--service-image', 'berth-test/service-proxy:1']);
    const until = <T>(check: () => Promise<T | undefined>, what: string): Promise<T> => up.until(check, what, { timeoutMs: 120_000, intervalMs: 500 });

    const [stub] = await until(async () => {
      const s = (await listContainers(dockerHost, 'berth.service-node', node)).filter((c) => c.state === 'running');
      return s.length === 1 ? s : undefined;
    }, 'the stub of web running');
    expect(stub?.image).toBe('berth-test/service-proxy:1');
    expect(stub?.labels['berth.service']).toBe('default/web');

    const client = await until(async () => (await bed.running('client'))[0], 'the client running');
    const fromPod = await until(async () => {
      const out = await docker('exec', client.id, 'sh', '-c', "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | timeout 2 nc web.default.svc.cluster.local 80 | tail -n 1").catch(() => '');
      return out.includes('hello-web') ? out : undefined;
    }, 'web answering the client by name');
    expect(fromPod.trim()).toBe('hello-web');

    const fromHost = await until(async () => {
      const res = await fetch(`http://127.0.0.1:${nodePort}/`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined);
      return res?.ok === true ? res.text() : undefined;
    }, `web at node port ${nodePort}`);
    expect(fromHost.trim()).toBe('hello-web');
  }, 240_000); // berth up's start, the stub image built on first use and the pods, each step bounded by `until`
});
