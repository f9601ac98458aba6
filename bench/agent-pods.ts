// Pods for the agent benches: bindings of one node written as the scheduler writes them, and a wait
// for their statuses.
import type { ContainerSpec } from '../src/manifest/types.js';
import { bindingKey, decode, encode, statusPrefix, type Store } from '../src/store/index.js';
import type { BindingRecord, PodStatusRecord } from '../src/store/records.js';
import { waitFor } from '../test/support/wait.js';

/** A container that sleeps: the least a pod can be. */
export function sleeper(image: string): ContainerSpec {
  return { name: 'app', image, command: [], args: ['sleep', '3600'], env: [], ports: [], resources: { requests: {}, limits: {} } };
}

/** A busybox httpd, with an httpGet readiness probe every 10 s (Kubernetes' default period) when `probed`. */
export function web(image: string, probed: boolean): ContainerSpec {
  return {
    name: 'web',
    image,
    command: ['sh', '-c', 'mkdir -p /www && echo ok > /www/ready && exec httpd -f -p 8080 -h /www'],
    args: [],
    env: [],
    ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }],
    resources: { requests: {}, limits: {} },
    ...(probed
      ? { readinessProbe: { httpGet: { path: '/ready', port: 'http', scheme: 'HTTP' as const, httpHeaders: [] }, initialDelaySeconds: 0, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 } }
      : {}),
  };
}

/** Bind `count` pods of `container` to `node` (namespace bench, pods `<prefix>-<i>`), 20 per txn. */
export async function bindPods(store: Store, node: string, count: number, container: ContainerSpec, hash: string, prefix = 'pod'): Promise<void> {
  for (let i = 0; i < count; i += 20) {
    const put = Array.from({ length: Math.min(20, count - i) }, (_, k) => {
      const pod = `${prefix}-${i + k}`;
      const b: BindingRecord = { type: 'binding', node, namespace: 'bench', pod, templateHash: hash, template: { labels: {}, containers: [container], nodeSelector: {}, restartPolicy: 'Always' }, commit: hash };
      return { key: bindingKey(node, 'bench', pod), value: encode(b) };
    });
    await store.commit({ put });
  }
}

/** The statuses `node`'s agent wrote for template `hash`. */
async function statuses(store: Store, node: string, hash: string): Promise<PodStatusRecord[]> {
  const list = await store.list(statusPrefix(node));
  return list.entries.map((e) => decode('podStatus', e.key, e.value)).filter((s) => s.templateHash === hash);
}

/** Wait until `count` pods of `hash` on `node` are Running (or, with `ready`, Ready). */
export async function waitPods(store: Store, node: string, hash: string, count: number, opts: { ready?: boolean; intervalMs?: number } = {}): Promise<void> {
  await waitFor(
    async () => {
      const list = await statuses(store, node, hash);
      const ok = list.filter((s) => (opts.ready ? s.conditions.some((c) => c.type === 'Ready' && c.status === 'True') : s.phase === 'Running'));
      return ok.length === count;
    },
    { timeoutMs: 600_000, intervalMs: opts.intervalMs ?? 1000, what: `${count} pods ${opts.ready ? 'ready' : 'running'} (${hash})` },
  );
}
