import { afterAll, afterEach, beforeAll, inject } from 'vitest';
import type { Agent, AgentOptions } from '../../src/agent/agent.js';
import { startAgent } from '../../src/agent/agent.js';
import { dockerRequest } from './docker.js';
import { DockerRuntime } from '../../src/agent/docker.js';
import type { Container } from '../../src/agent/runtime.js';
import { silentLogger } from '../../src/log.js';
import { EtcdHttpStore } from '../../src/store/etcd-http.js';
import type { Store } from '../../src/store/store.js';
import type { BindingRecord, PodStatusRecord } from '../../src/store/records.js';
import { decode, encode } from '../../src/store/records.js';
import { bindingKey, statusKey } from '../../src/store/keys.js';
import { uniqueName } from './names.js';

/** Agents on the real Docker engine against the real etcd, under a key prefix of one test file's own. */
export interface AgentTestbed {
  readonly runtime: DockerRuntime;
  /** The busybox test image. */
  readonly image: string;
  /** The pod network of this file's agents (made by the first that needs it, removed after the file). */
  readonly podNetwork: string;
  /** This file's store (connected in beforeAll): the agent's own client, on etcd's JSON gateway. */
  readonly store: Store;
  /** Start an agent of `node`; it is stopped, and the node's containers removed, after the test. */
  start(node: string, opts?: Partial<Omit<AgentOptions, 'store' | 'runtime' | 'node' | 'log'>>): Promise<Agent>;
  /** Stop an agent now (its containers stay until the test ends, as a stopped agent leaves them). */
  stop(agent: Agent): Promise<void>;
  /** Put a binding, as the scheduler would. */
  bind(b: BindingRecord): Promise<void>;
  /** The pods' own containers on `node` carrying `labels` too (their sandboxes left out), any state. */
  members(node: string, labels?: Record<string, string>): Promise<Container[]>;
  /** The pod sandboxes on `node`. */
  sandboxes(node: string): Promise<Container[]>;
  /** The pod status the node's agent wrote, if any. */
  status(node: string, pod: string, namespace?: string): Promise<PodStatusRecord | undefined>;
}

/**
 * Registers the hooks of an agent test file: one store under `/<name>-…`, and after each test every
 * agent it started stopped and every container and volume of its nodes removed (an agent leaves its containers
 * running on stop, as kubelet does). Call it once at the top of the file.
 */
export function agentTestbed(name: string): AgentTestbed {
  const runtime = new DockerRuntime({ docker: inject('dockerHost') });
  let store: Store | undefined;
  let agents: Agent[] = [];
  const nodes = new Set<string>();

  // A pod network of the file's own, made by its first agent: whether its pods run without sandboxes
  // must not depend on a network of the shared name that another run (of older code) made.
  const podNetwork = uniqueName(`${name}-pods`);
  beforeAll(async () => {
    store = await EtcdHttpStore.connect([inject('etcdEndpoint')], `/${uniqueName(name)}`);
  });
  afterAll(async () => {
    await store?.close();
    await dockerRequest(inject('dockerHost'), 'DELETE', `/networks/${podNetwork}`).catch(() => undefined);
  });
  afterEach(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    agents = [];
    for (const node of nodes) for (const c of await runtime.list({ 'berth.node': node })) await runtime.remove(c.id);
    // A test that failed before its pod was gone leaves the pod's Memory emptyDirs (Docker tmpfs volumes) behind.
    for (const node of nodes) for (const v of await runtime.listVolumes({ 'berth.node': node })) await runtime.removeVolume(v.name);
    nodes.clear();
  });

  const connected = (): Store => {
    if (!store) throw new Error('the testbed store is connected in beforeAll: use it inside a test or hook');
    return store;
  };
  return {
    runtime,
    image: inject('testImage'),
    podNetwork,
    get store() {
      return connected();
    },
    start: async (node, opts = {}) => {
      nodes.add(node);
      const agent = await startAgent({ store: connected(), runtime, node, log: silentLogger(), resyncMs: 60_000, podNetwork, ...opts });
      agents.push(agent);
      return agent;
    },
    stop: async (agent) => {
      agents = agents.filter((a) => a !== agent);
      await agent.stop();
    },
    bind: async (b) => {
      await connected().commit({ put: [{ key: bindingKey(b.node, b.namespace, b.pod), value: encode(b) }] });
    },
    members: async (node, labels = {}) => (await runtime.list({ 'berth.node': node, ...labels })).filter((c) => c.labels['berth.sandbox'] !== 'true'),
    sandboxes: async (node) => runtime.list({ 'berth.node': node, 'berth.sandbox': 'true' }),
    status: async (node, pod, namespace = 'default') => {
      const e = await connected().get(statusKey(node, namespace, pod));
      return e && decode('podStatus', e.key, e.value);
    },
  };
}
