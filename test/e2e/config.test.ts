import { describe, expect, inject, it } from 'vitest';
import { waitWhileUp } from '../support/berth.js';
import { listContainers, type Listed } from '../support/containers.js';
import { berthUpTestbed } from '../support/berth-up.js';
import { run } from '../support/process.js';

// ConfigMaps end to end (berth up): a pod's environment reads a ConfigMap of the same commit, and a
// change of what it reads rolls the pods onto the new values, as its content is part of the pod's hash.
describe('ConfigMaps', () => {
  const bed = berthUpTestbed('config');
  const { dockerHost, node } = bed;
  const docker = (...args: string[]): Promise<string> => run('docker', args, { env: { ...process.env, DOCKER_HOST: dockerHost } }).then((r) => r.stdout);

  const configMap = (greeting: string): string => `apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: cfg}
data:
  greeting: ${greeting}
  level: debug
`;
  const app = `apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: cfg}
spec:
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
        - name: app
          image: ${inject('testImage')}
          command: ["sh", "-c", "echo '$(GREETING) $$(not expanded)' > /tmp/args; exec sleep 3600"]
          envFrom: [{configMapRef: {name: settings}, prefix: CFG_}]
          env:
            - {name: GREETING, valueFrom: {configMapKeyRef: {name: settings, key: greeting}}}
            - {name: POD, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
            - {name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
            - {name: CFG_level, value: "env wins over envFrom: $(CFG_level)"}
`;

  /** The environment and /tmp/args of the one running container, once there is exactly one with GREETING = `greeting`. */
  const runningWith = async (greeting: string): Promise<{ c: Listed; env: Record<string, string>; args: string } | undefined> => {
    const running = (await listContainers(dockerHost, 'berth.node', node)).filter((c) => c.state === 'running');
    if (running.length !== 1 || running[0] === undefined) return undefined;
    const c = running[0];
    const printed = await docker('exec', c.id, 'env').catch(() => '');
    const env = Object.fromEntries(printed.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    if (env.GREETING !== greeting) return undefined;
    return { c, env, args: (await docker('exec', c.id, 'cat', '/tmp/args').catch(() => '')).trim() };
  };

  it('passes env and envFrom from a ConfigMap and pod fields, and rolls the pod when the ConfigMap changes', async () => {
    const work = await bed.repo();
    await work.write('settings.yaml', configMap('hello'));
    await work.write('app.yaml', app);
    await work.commit('an app reading its settings');
    const proc = bed.up(work);
    const until = <T>(check: () => Promise<T | undefined>, what: string): Promise<T> => waitWhileUp(proc, check, what, { timeoutMs: 90_000, intervalMs: 300 });

    const first = await until(() => runningWith('hello'), 'one running container with GREETING=hello');
    expect(first.env).toMatchObject({ GREETING: 'hello', CFG_greeting: 'hello', CFG_level: 'env wins over envFrom: debug', POD: first.c.labels['berth.pod'], NODE: node });
    expect(first.args).toBe('hello $(not expanded)');

    await work.write('settings.yaml', configMap('goodbye'));
    await work.commit('new settings');
    const second = await until(() => runningWith('goodbye'), 'the pod rolled onto GREETING=goodbye');
    expect(second.c.labels['berth.hash']).not.toBe(first.c.labels['berth.hash']);
    expect(second.c.labels['berth.pod']).not.toBe(first.c.labels['berth.pod']);
    expect(second.env.CFG_greeting).toBe('goodbye');
    expect(second.args).toBe('goodbye $(not expanded)');
  }, 180_000);
});
