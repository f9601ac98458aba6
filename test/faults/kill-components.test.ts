// kill -9 of each component at random points: sync, controller, scheduler and agent run as separate
// `berth` processes over one etcd, as on separate machines. Each trial pushes a commit that changes
// every object (an apply, a rollout of the pods, statuses to deliver), kills one component with
// SIGKILL a random time after the push and starts it again at once. Trials come in rounds of four,
// one per component, each starting while the last one's work still runs; after each round the
// system must converge to the round's last commit: sealed, its pods the only ones running,
// berth/health success on it and in its git note, the outbox empty. A reader watches etcd the whole time and checks every seal it sees against the
// desired state at the sealed revision (never half a commit); at the end every status put into the
// outbox is in its commit's git note exactly once, and under notes/ exactly once.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { EtcdStore, decode, healthKey, noteKey, NOTES, outboxPrefix, readSeal } from '../../src/store/index.js';
import { formatStatusLine } from '../../src/sync/index.js';
import { spawnBerth, type BerthProcess } from '../support/berth.js';
import { listContainers, removeContainers } from '../support/containers.js';
import { uniqueName } from '../support/names.js';
import { createRepo, type TestRepo } from '../support/repo.js';
import { waitFor } from '../support/wait.js';
import { appYaml } from './support/app.js';
import { faultRandom } from './support/seed.js';
import { recordFaultRow } from './support/table.js';
import { watchCommits } from './support/watcher.js';

const COMPONENTS = ['sync', 'controller', 'scheduler', 'agent'] as const;
type Component = (typeof COMPONENTS)[number];
/** Trials per component: 13 × 4 = 52. */
const PER_COMPONENT = Number(process.env.BERTH_FAULT_TRIALS ?? 13);
/** The kill comes this long after its push, at most: the apply, the rollout and the statuses all happen within it. */
const MAX_DELAY_MS = 2_500;

/** Two replicas that change with every trial, and a ConfigMap that does too: every object of a commit is the commit's own. */
function manifests(trial: number, image: string): string {
  return `apiVersion: v1
kind: ConfigMap
metadata: {name: marker, namespace: faults}
data: {trial: "${trial}"}
---
${appYaml({ namespace: 'faults', image, replicas: 2, graceSeconds: 2, env: { TRIAL: String(trial) } })}`;
}

describe('kill -9 of each component at random points', () => {
  const procs = new Map<Component, BerthProcess>();
  const all: BerthProcess[] = [];
  const dockerHost = inject('dockerHost');
  const id = uniqueName('kill9');
  const node = `${id}-n`;
  let dir = '';
  let repo: TestRepo | undefined;
  afterAll(async () => {
    await Promise.all(all.map((p) => p.stop()));
    await removeContainers(dockerHost, 'berth.node', node);
    if (dir) await fs.rm(dir, { recursive: true, force: true });
    await repo?.dispose();
  });

  it(`converges to the last commit after each of ${PER_COMPONENT * COMPONENTS.length} kills; no reader sees half a commit; no status lost or doubled`, async (context) => {
    const random = faultRandom('kill-components');
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-kill9-'));
    const r = await createRepo(inject('gitRoot'), id);
    repo = r;
    const image = inject('testImage');
    const prefix = `/${id}`;
    const conn = ['--etcd', inject('etcdEndpoint'), '--prefix', prefix];
    const args: Record<Component, string[]> = {
      sync: ['sync', '--repo', r.url(inject('gitBaseUrl')), '--interval', '200ms', '--data-dir', path.join(dir, 'sync'), ...conn],
      controller: ['controller', ...conn],
      scheduler: ['scheduler', ...conn],
      agent: ['agent', '--node', node, '--host-ip', '127.0.0.1', '--docker', dockerHost, '--data-dir', path.join(dir, 'agent'), ...conn],
    };
    const start = (c: Component): void => {
      const p = spawnBerth(args[c]);
      procs.set(c, p);
      all.push(p);
    };
    const store = await EtcdStore.connect([inject('etcdEndpoint')], prefix);
    const watcher = await watchCommits(store, 'default', { everyObjectChanges: true });
    const output = (): string => COMPONENTS.map((c) => `--- ${c}\n${procs.get(c)?.output.toString() ?? ''}`).join('\n');
    const note = (commit: string): Promise<string> => r.git(`--git-dir=${r.bareDir}`, 'notes', '--ref=berth', 'show', commit).catch(() => '');
    const converged = async (commit: string): Promise<boolean> => {
      if ((await readSeal(store, 'default'))?.seal.commit !== commit) return false;
      const health = await store.get(healthKey('default'));
      const h = health && decode('health', health.key, health.value);
      if (h?.commit !== commit || h.state !== 'success') return false;
      if ((await store.list(outboxPrefix('default'))).entries.length > 0) return false;
      const apps = (await listContainers(dockerHost, 'berth.node', node)).filter((c) => c.labels['berth.container'] === 'app');
      if (apps.length !== 2 || apps.some((c) => c.state !== 'running' || c.labels['berth.commit'] !== commit)) return false;
      return (await note(commit)).includes(' berth/health success ');
    };

    try {
      for (const c of COMPONENTS) start(c);
      const commits: string[] = [];
      const push = async (trial: number): Promise<string> => {
        await r.write('app.yaml', manifests(trial, image));
        const sha = await r.commit(`trial ${trial}`);
        await r.push();
        commits.push(sha);
        return sha;
      };
      const first = await push(0);
      await waitFor(() => converged(first), { timeoutMs: 120_000, intervalMs: 250, what: `the first commit running\n${output()}` });

      // Rounds of four trials, one kill of each component in an order the seed decides; each trial
      // pushes a commit and kills its component a random time after, while the earlier trials' work
      // still runs; then the system must converge to the round's last commit.
      const convergeMs: number[] = [];
      let failures = 0;
      let faults = 0;
      let trials = 0;
      const trialLog: string[] = [];
      for (let round = 1; round <= PER_COMPONENT && failures === 0; round++) {
        const order = [...COMPONENTS];
        for (let i = order.length - 1; i > 0; i--) {
          const j = random.int(0, i);
          [order[i], order[j]] = [order[j] ?? 'sync', order[i] ?? 'sync'];
        }
        let sha = '';
        let killedAt = 0;
        for (const victim of order) {
          trials++;
          const delay = random.int(0, MAX_DELAY_MS);
          sha = await push(trials);
          await new Promise((resolve) => setTimeout(resolve, delay)); // the random point of the kill, not a wait for a state
          procs.get(victim)?.child.kill('SIGKILL');
          faults++;
          killedAt = Date.now();
          start(victim);
          trialLog.push(`trial ${trials} (round ${round}): ${victim} killed ${delay} ms after pushing ${sha.slice(0, 7)}`);
        }
        try {
          await waitFor(() => converged(sha), { timeoutMs: 180_000, intervalMs: 250, what: `round ${round} converged to ${sha.slice(0, 7)}` });
          convergeMs.push(Date.now() - killedAt);
        } catch (err) {
          failures++;
          trialLog.push(`  not converged: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
      await watcher.settled();

      // Every status put into the outbox reached its commit's note once, and notes/ once.
      const lost: string[] = [];
      const byCommit = new Map<string, string[]>();
      for (const [key, s] of watcher.statuses) {
        byCommit.set(s.commit, [...(byCommit.get(s.commit) ?? []), formatStatusLine(s)]);
        const seq = key.slice(key.lastIndexOf('/') + 1);
        if ((await store.get(noteKey('default', s.commit, seq))) === undefined) lost.push(`${key} not under notes/`);
      }
      for (const commit of commits) {
        const lines = (await note(commit)).split('\n').filter(Boolean);
        for (const want of byCommit.get(commit) ?? []) {
          const n = lines.filter((l) => l === want).length;
          if (n !== 1) lost.push(`${commit.slice(0, 7)}: ${n}× "${want}"`);
        }
        for (const line of lines) if (!(byCommit.get(commit) ?? []).includes(line)) lost.push(`${commit.slice(0, 7)}: a line no status made: "${line}"`);
      }
      const kept = (await store.list(NOTES)).entries.length;
      if (kept !== watcher.statuses.size) lost.push(`${kept} keys under notes/ for ${watcher.statuses.size} statuses`);

      recordFaultRow(context, {
        scenario: 'kill -9 sync, controller, scheduler or agent after a push',
        trials, faults, failures: failures + watcher.partial.length + lost.length, convergeMs, seed: random.seed,
      });
      process.stderr.write(`kill -9 trials (seed ${random.seed}), ${watcher.seals()} seals checked:\n${trialLog.join('\n')}\n`);
      expect(failures, output()).toBe(0);
      expect(trials).toBe(PER_COMPONENT * COMPONENTS.length);
      expect(watcher.partial).toEqual([]);
      expect(lost).toEqual([]);
      expect(watcher.seals()).toBeGreaterThan(PER_COMPONENT); // at least each round's last commit
    } finally {
      await watcher.close();
      await store.close();
    }
  }, 1_500_000);
});
