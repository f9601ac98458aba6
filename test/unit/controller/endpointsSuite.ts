import { describe, expect, it } from 'vitest';
import { startEndpointsController } from '../../../src/controller/index.js';
import { hashObject, type Service, type ServiceObject } from '../../../src/manifest/index.js';
import { silentLogger } from '../../../src/log.js';
import { ENDPOINTS, decode, encode, endpointsKey, nodeKey, statusKey, type EndpointsRecord, type PodRecord, type PodStatusRecord, type Store, type Txn } from '../../../src/store/index.js';
import { waitFor } from '../../support/wait.js';
import { node, pod } from '../scheduler/fixtures.js';
import { captureLog, putNodes, putPods, storePerTest } from '../scheduler/harness.js';
import { applyCommit } from './fixtures.js';
import { statusOf } from './healthFixtures.js';

function service(name: string, spec: Partial<Service> = {}): ServiceObject {
  const meaning = {
    kind: 'Service' as const, namespace: 'default', name, labels: {},
    spec: { type: 'ClusterIP' as const, headless: false, selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' as const }], sessionAffinity: 'None' as const, ...spec },
  };
  return { ...meaning, path: `${name}.yaml`, line: 1, hash: hashObject(meaning) };
}

function webPod(name: string): PodRecord {
  const p = pod(name, { node: 'n1' });
  const [c] = p.template.containers;
  if (c) c.ports = [{ containerPort: 8080, protocol: 'TCP' }];
  return p;
}

/** The status the agent writes for `p`: ready or not, at `podIP`, 8080 published on `hostPort`. */
function status(p: PodRecord, podIP: string, hostPort: number, ready = true): PodStatusRecord {
  const s = statusOf(p, ready ? {} : { ready: { status: 'False', reason: 'ReadinessProbeFailed' } });
  return { ...s, podIP, hostIP: '192.0.2.1', hostPorts: [{ containerPort: 8080, protocol: 'TCP', hostPort }] };
}

async function putStatus(store: Store, s: PodStatusRecord): Promise<void> {
  await store.commit({ put: [{ key: statusKey(s.node, s.namespace, s.pod), value: encode(s) }] });
}

async function record(store: Store, name: string): Promise<{ record: EndpointsRecord; modRevision: number } | undefined> {
  const e = await store.get(endpointsKey('default', name));
  return e && { record: decode('endpoints', e.key, e.value), modRevision: e.modRevision };
}

/**
 * The endpoints loop against a store from `open` (a fresh, empty keyspace each call): run on
 * MemoryStore by the unit tests and on etcd by the integration tests.
 */
export function describeEndpointsLoop(label: string, open: () => Promise<Store>): void {
  describe(label, () => {
    const { defer, fresh } = storePerTest(open);
    /** The test's store, and how many txns the controller wrote endpoints records in. */
    const setup = async (log = silentLogger()): Promise<Store & { writes: () => number }> => {
      const store = await fresh();
      await putNodes(store, [node('n1')]);
      let writes = 0;
      const counting = new Proxy(store, {
        get(target, prop) {
          if (prop === 'commit') {
            return (txn: Txn) => {
              if (txn.put?.some((p) => p.key.startsWith(ENDPOINTS))) writes++;
              return target.commit(txn);
            };
          }
          const value: unknown = Reflect.get(target, prop, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const c = await startEndpointsController({ store: counting, log, resyncMs: 60_000 });
      defer(() => c.stop());
      return Object.assign(store, { writes: () => writes });
    };
    const endpointsOf = (store: Store, name: string, pods: string[]) =>
      waitFor(
        async () => {
          const r = await record(store, name);
          return r !== undefined && r.record.endpoints.map((e) => e.pod).join() === pods.join() ? r : undefined;
        },
        { what: `endpoints of ${name}: ${pods.join(', ') || '(none)'}` },
      );

    it('follows the readiness of the selected pods, and writes only when the endpoints change', async () => {
      const store = await setup();
      const [a, b] = [webPod('web-a'), webPod('web-b')];
      await putPods(store, [a, b]);
      await putStatus(store, status(a, '10.88.0.2', 32001));
      await putStatus(store, status(b, '10.88.0.3', 32002, false));
      await applyCommit(store, 'main', 'c1', [service('web')]);

      const first = await endpointsOf(store, 'web', ['web-a']);
      expect(first.record.endpoints).toEqual([{ pod: 'web-a', node: 'n1', podIP: '10.88.0.2', hostIP: '192.0.2.1', ports: [{ name: 'http', containerPort: 8080, hostPort: 32001 }] }]);

      await putStatus(store, status(b, '10.88.0.3', 32002));
      await endpointsOf(store, 'web', ['web-a', 'web-b']);
      await putStatus(store, status(a, '10.88.0.2', 32001, false));
      await endpointsOf(store, 'web', ['web-b']);
      const before = store.writes();

      // Writes that change nothing for the Service (a later observation, a node re-registered)
      // write nothing; the change after them (seen after them: the watch keeps order) writes once.
      await putStatus(store, { ...status(b, '10.88.0.3', 32002), observedAt: '2025-06-02T00:00:00.000Z' });
      await putNodes(store, [node('n1')]);
      await putStatus(store, status(a, '10.88.0.2', 32001));
      await endpointsOf(store, 'web', ['web-a', 'web-b']);
      expect(store.writes() - before).toBe(1);
    });

    it('works per Service: a pod or status change plans only the Services that select the pod, and one no Service selects plans nothing', async () => {
      const { log, lines } = captureLog();
      const store = await setup(log);
      const app = (p: PodRecord, name: string): PodRecord => ({ ...p, template: { ...p.template, labels: { app: name } } });
      const [web, api, batch] = [webPod('web-a'), app(webPod('api-a'), 'api'), app(webPod('batch-a'), 'batch')];
      await putPods(store, [web, api]);
      await applyCommit(store, 'main', 'c1', [service('web'), service('api', { selector: { app: 'api' } })]);
      await endpointsOf(store, 'web', []);
      await endpointsOf(store, 'api', []);
      const passes = (): unknown[] => lines.filter((l) => l.msg === 'pass' && l.component === 'endpoints');
      const seen = passes().length;

      // Each change below is seen in order (the watch keeps it): the last one's record proves the others were heard.
      await putStatus(store, status(web, '10.88.0.2', 32001));
      await endpointsOf(store, 'web', ['web-a']);
      await putPods(store, [batch]);
      await putStatus(store, status(batch, '10.88.0.9', 32009));
      await putStatus(store, status(api, '10.88.0.3', 32002));
      await endpointsOf(store, 'api', ['api-a']);
      expect(passes().slice(seen)).toEqual(passes().slice(seen).map(() => expect.objectContaining({ all: false, keys: 1 })));
      expect(passes().length - seen).toBe(2);
    });

    it("takes the pods of a node whose lease is gone (NotReady) out of the endpoints, and puts them back when it returns", async () => {
      const store = await setup();
      const a = webPod('web-a');
      const c = { ...webPod('web-c'), node: 'n2' };
      const register = async (): Promise<{ revoke(): Promise<void> }> => {
        const lease = await store.lease(60);
        await store.commit({ put: [{ key: nodeKey('n2'), value: encode(node('n2')), lease }] });
        return lease;
      };
      let lease = await register();
      await putPods(store, [a, c]);
      await putStatus(store, status(a, '10.88.0.2', 32001));
      await putStatus(store, status(c, '10.88.0.4', 32003));
      await applyCommit(store, 'main', 'c1', [service('web')]);
      await endpointsOf(store, 'web', ['web-a', 'web-c']);

      // The lease ends (as when it expires): n2's pod leaves the endpoints, though its last status still says Ready.
      await lease.revoke();
      await endpointsOf(store, 'web', ['web-a']);
      lease = await register();
      await endpointsOf(store, 'web', ['web-a', 'web-c']);
      await lease.revoke();
    });

    it('allocates a nodePort once and keeps it across commits; deletes the record when the Service goes', async () => {
      const store = await setup();
      await applyCommit(store, 'main', 'c1', [service('api', { type: 'NodePort', ports: [{ port: 80, targetPort: 8080, protocol: 'TCP', nodePort: 30000 }] }), service('web', { type: 'NodePort' })]);
      const first = await waitFor(async () => (await record(store, 'web'))?.record.ports[0]?.nodePort, { what: 'an allocated nodePort' });
      expect(first).toBe(30001);

      await applyCommit(store, 'main', 'c2', [service('web', { type: 'NodePort', selector: { app: 'other' } })]);
      await waitFor(async () => (await store.get(endpointsKey('default', 'api'))) === undefined, { what: 'the endpoints of api deleted' });
      expect((await record(store, 'web'))?.record.ports[0]?.nodePort).toBe(30001);
      expect((await store.list(ENDPOINTS)).entries.map((e) => e.key)).toEqual(['endpoints/default/web']);
    });
  });
}
