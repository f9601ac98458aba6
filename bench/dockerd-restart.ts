// dockerd_restart_converge_ms: a dockerd of the bench's own (--iptables=false, --live-restore) restarted
// under a running agent with PODS pods, and while it is down the processes of KILLED pods' containers
// die (SIGKILL from the host) → ms from dockerd answering again until every pod runs again: the agent
// must reopen its Docker connection and event stream (with back-off) and start the dead containers
// again in place; the others, which survived, must stay as they are (checked: same ids, never made
// again). Peer, in the same run: the floor, the same restart with the agent stopped and the dead
// containers started by hand the moment dockerd answers.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startAgent, type Agent } from '../src/agent/agent.js';
import { DockerRuntime } from '../src/agent/docker.js';
import type { Container } from '../src/agent/runtime.js';
import { silentLogger } from '../src/log.js';
import { EtcdStore, bindingKey, encode, type Store } from '../src/store/index.js';
import { dockerRequest, startPrivateDockerd } from '../test/support/docker.js';
import { ensureBusyboxImage, sandboxImage } from '../test/support/image.js';
import { waitFor } from '../test/support/wait.js';
import { binding, spec } from '../test/unit/agent/fixtures.js';

const PODS = 12;
/** Pods whose container dies at each restart: another pair each time, so no restart back-off builds up. */
const KILLED = 2;
const NODE = 'bench-dockerd';

/** Per round: the agent's converge after a restart and the floor's, in ms. */
export interface DockerdRestartFigures {
  agentMs: number[];
  floorMs: number[];
}

/** Run `rounds` restarts with the agent and as many with the floor, on a dockerd and etcd prefix of their own. */
export async function measureDockerdRestart(etcdEndpoint: string, rounds: number, say: (line: string) => void): Promise<DockerdRestartFigures> {
  const docker = await startPrivateDockerd();
  const prefix = `/bench-dockerd-${process.pid}`;
  let store: Store | undefined;
  let agent: Agent | undefined;
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-bench-dockerd-'));
  try {
    const image = await ensureBusyboxImage(docker.host);
    await ensureBusyboxImage(docker.host, sandboxImage, ['sleep', '2147483647']);
    const s = await EtcdStore.connect([etcdEndpoint], prefix);
    store = s;
    const runtime = new DockerRuntime({ docker: docker.host });
    const start = (): Promise<Agent> => startAgent({ store: s, runtime, node: NODE, log: silentLogger(), dataDir, stopGraceSeconds: 1 });
    agent = await start();
    for (let i = 0; i < PODS; i++) {
      const b = { ...binding(`web-${i}`, { containers: [spec('app', { image })] }), node: NODE };
      await s.commit({ put: [{ key: bindingKey(NODE, 'default', b.pod), value: encode(b) }] });
    }
    const running = async (): Promise<Container[] | undefined> => {
      const up = (await runtime.list({ 'berth.node': NODE })).filter((c) => c.state === 'running');
      return up.length === 2 * PODS ? up : undefined;
    };
    await waitFor(running, { timeoutMs: 180_000, intervalMs: 100, what: `${PODS} pods running` });

    /** Restart dockerd, killing KILLED pods' containers while it is down; resolves when it answers, with the containers killed. */
    let restarts = 0;
    const restartKilling = async (): Promise<{ answered: number; killed: string[]; before: string[] }> => {
      const before = (await running()) ?? [];
      const first = (restarts++ * KILLED) % PODS;
      const pods = new Set(Array.from({ length: KILLED }, (_, i) => `web-${first + i}`));
      const victims = before.filter((c) => c.labels['berth.sandbox'] !== 'true' && pods.has(c.labels['berth.pod'] ?? ''));
      const pids = await Promise.all(victims.map(async (c) => (JSON.parse((await dockerRequest(docker.host, 'GET', `/containers/${c.id}/json`)).body) as { State: { Pid: number } }).State.Pid));
      await docker.restart(async () => {
        for (const pid of pids) process.kill(pid, 'SIGKILL');
      });
      return { answered: Date.now(), killed: victims.map((c) => c.id), before: before.map((c) => c.id).sort() };
    };
    /** Every pod runs again, with exactly the containers it had (none made again). */
    const again = async (before: string[]): Promise<boolean> => {
      const up = await running();
      if (up === undefined) return false;
      const ids = up.map((c) => c.id).sort();
      if (ids.join() !== before.join()) throw new Error(`containers were made again: ${ids.filter((id) => !before.includes(id)).length} new`);
      return true;
    };

    const figures: DockerdRestartFigures = { agentMs: [], floorMs: [] };
    for (let round = 1; round <= rounds; round++) {
      const withAgent = await restartKilling();
      await waitFor(() => again(withAgent.before), { timeoutMs: 120_000, intervalMs: 20, what: `${PODS} pods running again (agent)` });
      figures.agentMs.push(Date.now() - withAgent.answered);

      // The floor: no agent; the dead containers started by hand as soon as dockerd answers.
      await agent.stop();
      agent = undefined;
      const byHand = await restartKilling();
      await Promise.all(byHand.killed.map((id) => runtime.start(id)));
      await waitFor(() => again(byHand.before), { timeoutMs: 120_000, intervalMs: 20, what: `${PODS} pods running again (by hand)` });
      figures.floorMs.push(Date.now() - byHand.answered);
      say(`resilience: dockerd restart round ${round} of ${rounds}: ${KILLED} of ${PODS} pods' containers died meanwhile; every pod running again ${figures.agentMs.at(-1) ?? 0} ms after dockerd answered (by hand: ${figures.floorMs.at(-1) ?? 0} ms)`);
      agent = await start();
    }
    return figures;
  } finally {
    await agent?.stop().catch(() => undefined);
    if (store !== undefined) {
      const { entries } = await store.list('');
      for (const e of entries) await store.commit({ del: [e.key] });
      await store.close();
    }
    await docker.stop();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}
