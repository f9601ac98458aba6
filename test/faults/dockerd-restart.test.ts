// dockerd restarted under a running agent, on a dockerd of the test's own (--iptables=false,
// --live-restore; the shared engine is never touched), one pod's container dying while it is down:
// the agent reconnects with back-off, every pod runs again (the dead container started again in
// place), and no container is made again. (bench resilience: dockerd_restart_converge_ms.)
import { afterEach, describe, expect, inject, it } from 'vitest';
import { startAgent } from '../../src/agent/agent.js';
import { DockerRuntime } from '../../src/agent/docker.js';
import { silentLogger } from '../../src/log.js';
import { EtcdStore, bindingKey, encode, statusKey, decode, type Store } from '../../src/store/index.js';
import { dockerRequest, startPrivateDockerd } from '../support/docker.js';
import { ensureBusyboxImage, sandboxImage } from '../support/image.js';
import { uniqueName } from '../support/names.js';
import { waitFor } from '../support/wait.js';
import { binding } from '../unit/agent/fixtures.js';
import { recordFaultRow } from './support/table.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

describe('dockerd restarted under the agent', () => {
  it('the agent reconnects; its pods run again with the same containers', async (context) => {
    const docker = await startPrivateDockerd();
    cleanups.push(() => docker.stop());
    const image = await ensureBusyboxImage(docker.host);
    await ensureBusyboxImage(docker.host, sandboxImage, ['sleep', '2147483647']);
    const name = uniqueName('dockerd');
    const store: Store = await EtcdStore.connect([inject('etcdEndpoint')], `/${name}`);
    cleanups.push(async () => {
      const { entries } = await store.list('');
      for (const e of entries) await store.commit({ del: [e.key] });
      await store.close();
    });
    const runtime = new DockerRuntime({ docker: docker.host });
    const node = `${name}-n`;
    const agent = await startAgent({ store, runtime, node, log: silentLogger(), stopGraceSeconds: 1, resyncMs: 60_000 });
    cleanups.push(() => agent.stop());
    const pods = ['web-0', 'web-1', 'web-2'];
    for (const pod of pods) {
      const b = { ...binding(pod), node };
      b.template.containers = b.template.containers.map((c) => ({ ...c, image }));
      await store.commit({ put: [{ key: bindingKey(node, 'default', pod), value: encode(b) }] });
    }
    const ready = async (): Promise<boolean> => {
      for (const pod of pods) {
        const e = await store.get(statusKey(node, 'default', pod));
        if (e === undefined || decode('podStatus', e.key, e.value).conditions.find((c) => c.type === 'Ready')?.status !== 'True') return false;
      }
      return true;
    };
    const ids = async (): Promise<string[]> => (await runtime.list({ 'berth.node': node })).filter((c) => c.state === 'running').map((c) => c.id).sort();
    await waitFor(ready, { timeoutMs: 120_000, what: 'three pods ready' }).catch(async (err: unknown) => {
      const e = await store.get(statusKey(node, 'default', 'web-0'));
      throw new Error(`${String(err)}; web-0: ${e?.value ?? 'no status'}`);
    });
    const before = await ids();
    expect(before).toHaveLength(3); // three pods of one container: each holds its network itself, no sandbox

    // While dockerd is down, web-1's container dies behind its back (its process killed from the host).
    const dying = (await runtime.list({ 'berth.node': node, 'berth.pod': 'web-1' })).find((c) => c.labels['berth.sandbox'] !== 'true');
    if (dying === undefined) throw new Error('no web-1 container');
    const pid = (JSON.parse((await dockerRequest(docker.host, 'GET', `/containers/${dying.id}/json`)).body) as { State: { Pid: number } }).State.Pid;
    await docker.restart(async () => {
      process.kill(pid, 'SIGKILL');
    });
    const answered = Date.now();
    // The others survived (live restore): the agent takes them up again as they are, and starts the dead one again in place.
    let convergeMs: number | undefined;
    try {
      await waitFor(async () => (await ids()).length === 3 && (await ready()), { timeoutMs: 60_000, what: 'every pod running again' });
      convergeMs = Date.now() - answered;
    } finally {
      recordFaultRow(context, { scenario: 'dockerd restarted (live restore), a container killed while it was down', trials: 1, faults: 2, failures: convergeMs === undefined ? 1 : 0, convergeMs: convergeMs === undefined ? [] : [convergeMs] });
    }
    expect(await ids()).toEqual(before);
    // The agent hears Docker's events again: a container killed now is healed.
    const victim = (await runtime.list({ 'berth.node': node, 'berth.pod': 'web-0' })).find((c) => c.labels['berth.sandbox'] !== 'true');
    if (victim === undefined) throw new Error('no web-0 container');
    await runtime.stop(victim.id, 0);
    await waitFor(async () => (await runtime.list({ 'berth.node': node, 'berth.pod': 'web-0' })).some((c) => c.id === victim.id && c.state === 'running'), {
      timeoutMs: 60_000, what: 'the killed container started again',
    });
  }, 300_000);
});
