// DockerRuntime keeps a container's inspect between lists while nothing says it changed
// (src/agent/inspect-cache.ts). A change from outside that leaves the container's list entry as it was
// (running, same creation, no address, no port) is told by Docker's events alone: these cases fail if the
// cache does not listen to them.
import { afterAll, afterEach, describe, expect, inject, it } from 'vitest';
import { DockerRuntime } from '../../../src/agent/docker.js';
import type { Container, RunSpec } from '../../../src/agent/runtime.js';
import { dockerRequest } from '../../support/docker.js';
import { uniqueName } from '../../support/names.js';
import { waitFor } from '../../support/wait.js';

const image = inject('testImage');
const dockerHost = inject('dockerHost');

/** Docker's answer to a request from outside berth, which must succeed. */
async function outside(method: string, path: string): Promise<void> {
  const res = await dockerRequest(dockerHost, method, path);
  if (res.status >= 300) throw new Error(`docker ${method} ${path}: ${res.status} ${res.body}`);
}

const CASES: [string, string, (id: string, runtime: DockerRuntime) => Promise<void>, (before: Container, now: Container) => boolean][] = [
  ['restarted', 'sleep 3600', (id) => outside('POST', `/containers/${id}/restart?t=0`), (before, now) => now.state === 'running' && now.startedAt !== before.startedAt],
  [
    'killed and started again',
    'sleep 3600',
    async (id) => {
      await outside('POST', `/containers/${id}/kill`);
      await outside('POST', `/containers/${id}/start`);
    },
    (before, now) => now.state === 'running' && now.startedAt !== before.startedAt,
  ],
  [
    'OOM-killed and started again',
    // Its first run waits for /tmp/go, then goes over its memory limit; the next one sleeps.
    'if [ -f /tmp/oomed ]; then exec sleep 3600; fi; while [ ! -f /tmp/go ]; do sleep 0.1; done; touch /tmp/oomed; exec tail /dev/zero',
    async (id, runtime) => {
      await runtime.exec(id, ['touch', '/tmp/go'], 10_000);
      await waitFor(async () => {
        const res = await dockerRequest(dockerHost, 'GET', `/containers/${id}/json`);
        const state = (JSON.parse(res.body) as { State?: { Status?: string; OOMKilled?: boolean } }).State;
        return state?.Status === 'exited' && state.OOMKilled === true;
      }, { timeoutMs: 30_000, what: 'the OOM kill' });
      await outside('POST', `/containers/${id}/start`);
    },
    (before, now) => now.state === 'running' && now.startedAt !== before.startedAt,
  ],
];

describe('DockerRuntime: inspects kept between lists', () => {
  const runtime = new DockerRuntime({ docker: dockerHost });
  const test = uniqueName('inspects');
  const labels = { 'berth.test': test };
  const events = runtime.events(labels, () => undefined);

  afterEach(async () => {
    for (const c of await runtime.list(labels)) await runtime.remove(c.id);
  });
  afterAll(async () => {
    await events.close();
  });

  it.each(CASES)('lists a container %s from outside as it is now', async (name, script, change, changed) => {
    const spec: RunSpec = {
      name: `${test}-${name.replace(/\W+/g, '-')}`,
      image,
      command: ['sh', '-c', script],
      args: [],
      env: [],
      labels: { ...labels, 'berth.case': name },
      ports: [],
      // No address, no port: nothing in its list entry changes with a restart.
      network: 'none',
      limits: { memory: 16 * 1024 * 1024 },
    };
    const id = await runtime.create(spec);
    await runtime.start(id);
    const mine = async (): Promise<Container | undefined> => (await runtime.list({ ...labels, 'berth.case': name })).find((c) => c.id === id);
    // Listed until its inspect is kept: the event stream has settled.
    const before = await waitFor(async () => {
      const c = await mine();
      return c?.state === 'running' && runtime.inspects.size > 0 && c;
    }, { timeoutMs: 30_000, what: 'the inspect kept' });
    expect((await mine())?.startedAt).toBe(before.startedAt);

    await change(id, runtime);
    const now = await waitFor(async () => {
      const c = await mine();
      return c !== undefined && changed(before, c) && c;
    }, { timeoutMs: 30_000, what: `the container listed as ${name}` });
    expect(now.id).toBe(id);
  });
});
