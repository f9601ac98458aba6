import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { listContainers, type Listed } from '../support/containers.js';
import { berthUpTestbed } from '../support/berth-up.js';

// ConfigMaps end to end (berth up): a pod's environment reads a ConfigMap of the same commit, and a
// change of what it reads rolls the pods onto the new values, as its content is part of the pod's hash.
describe('ConfigMaps', () => {
  const bed = berthUpTestbed('config');
  const { dockerHost, node, docker } = bed;

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
            - {name: IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
            - {name: CFG_level, value: "env wins over envFrom: $(CFG_level)"}
`;

  const files = `apiVersion: apps/v1
kind: Deployment
metadata: {name: files, namespace: cfg}
spec:
  selector: {matchLabels: {app: files}}
  template:
    metadata: {labels: {app: files}}
    spec:
      containers:
        - name: files
          image: ${inject('testImage')}
          command: ["sleep", "3600"]
          volumeMounts: [{name: settings, mountPath: /etc/settings}]
      volumes: [{name: settings, configMap: {name: settings}}]
`;
  /** The environment and /tmp/args of the one running container, once there is exactly one with GREETING = `greeting`. */
  const runningWith = async (greeting: string): Promise<{ c: Listed; env: Record<string, string>; args: string } | undefined> => {
    const [c, ...more] = await bed.running('app');
    if (c === undefined || more.length > 0) return undefined;
    const printed = await docker('exec', c.id, 'env').catch(() => '');
    const env = Object.fromEntries(printed.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    if (env.GREETING !== greeting) return undefined;
    return { c, env, args: (await docker('exec', c.id, 'cat', '/tmp/args').catch(() => '')).trim() };
  };

  it('passes env and envFrom from a ConfigMap and pod fields, rolls the pod that reads it when it changes, and updates the files of the pod that mounts it in place', async () => {
    const work = await bed.repo();
    await work.write('settings.yaml', configMap('hello'));
    await work.write('app.yaml', app);
    await work.write('files.yaml', files);
    await work.commit('an app reading its settings, and one mounting them');
    const up = bed.up(work);
    const until = <T>(check: () => Promise<T | undefined>, what: string): Promise<T> => up.until(check, what, { intervalMs: 300 });

    const first = await until(() => runningWith('hello'), 'one running container with GREETING=hello');
    expect(first.env).toMatchObject({ GREETING: 'hello', CFG_greeting: 'hello', CFG_level: 'env wins over envFrom: debug', POD: first.c.labels['berth.pod'], NODE: node });
    expect(first.args).toBe('hello $(not expanded)');
    // status.podIP is the pod's address: a pod of one container holds it itself (no sandbox), the static
    // address the agent chose (its label), known before the container was made.
    const all = await listContainers(dockerHost, 'berth.pod', first.c.labels['berth.pod'] ?? '', { sandboxes: true });
    expect(all.map((c) => c.id)).toEqual([first.c.id]);
    const ip = (await docker('inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', first.c.id)).trim();
    expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    expect(first.c.labels['berth.pod-ip']).toBe(ip);
    expect(first.env.IP).toBe(ip);

    const [mounting] = await until(async () => {
      const cs = await bed.running('files');
      return cs.length === 1 && (await docker('exec', cs[0]?.id ?? '', 'cat', '/etc/settings/greeting').catch(() => '')) === 'hello' ? cs : undefined;
    }, 'the files pod with /etc/settings/greeting');
    // The files live under berth up's --data-dir, per node, namespace, pod and volume.
    const onHost = path.join(bed.dataDir, 'pods', node, 'cfg', mounting?.labels['berth.pod'] ?? '', 'settings', 'greeting');
    expect(await fs.readFile(onHost, 'utf8')).toBe('hello');

    await work.write('settings.yaml', configMap('goodbye'));
    await work.commit('new settings');
    const second = await until(() => runningWith('goodbye'), 'the pod rolled onto GREETING=goodbye');
    expect(second.c.labels['berth.hash']).not.toBe(first.c.labels['berth.hash']);
    expect(second.c.labels['berth.pod']).not.toBe(first.c.labels['berth.pod']);
    expect(second.env.CFG_greeting).toBe('goodbye');
    expect(second.args).toBe('goodbye $(not expanded)');
    // The pod that only mounts the ConfigMap is not rolled: the same container sees the new file.
    await until(async () => ((await docker('exec', mounting?.id ?? '', 'cat', '/etc/settings/greeting').catch(() => '')) === 'goodbye' ? true : undefined), 'the mounted file updated in place');
    expect((await bed.running('files')).map((c) => c.id)).toEqual([mounting?.id]);
  }, 180_000);
});
