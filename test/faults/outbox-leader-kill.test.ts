// Exactly once per status line under leader kills: two `berth sync` processes follow one source
// (notes pushed to the remote and statuses on a forge); while the leader is in the middle of
// delivering a batch of statuses, it is killed with SIGKILL and started again over its own data dir.
// Afterwards every status is in the commit's git note once, on the forge once, and under notes/ once.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { EtcdStore, commitSequenced, decode, encode, leaderKey, notesPrefix, outboxKey, outboxPrefix, type OutboxRecord } from '../../src/store/index.js';
import { spawnBerth, type BerthProcess } from '../support/berth.js';
import { startFakeForge, type FakeForge } from '../support/forge.js';
import { uniqueName } from '../support/names.js';
import { createRepo } from '../support/repo.js';
import { waitFor } from '../support/wait.js';
import { faultRandom } from './support/seed.js';
import { recordFaultRow } from './support/table.js';

const KILLS = 3;
const PER_ROUND = 40;

describe('the status outbox under leader kills', () => {
  const procs: BerthProcess[] = [];
  let forge: FakeForge | undefined;
  let dir = '';
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await forge?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  it('delivers every status line exactly once to git notes, the forge and notes/', async (context) => {
    const random = faultRandom('outbox-leader-kill');
    const id = uniqueName('outbox');
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-outbox-'));
    await fs.mkdir(path.join(inject('gitRoot'), id));
    const repo = await createRepo(path.join(inject('gitRoot'), id), 'deploy');
    await repo.write('cm.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: outbox}\ndata: {a: "1"}\n');
    const commit = await repo.commit('one ConfigMap');
    await repo.push();
    forge = await startFakeForge();
    const f = forge;
    const tokenFile = path.join(dir, 'token');
    await fs.writeFile(tokenFile, 'forge-token\n', { mode: 0o600 });
    const prefix = `/${id}`;
    const sync = (n: number): BerthProcess => {
      const p = spawnBerth([
        'sync', '--repo', `${inject('gitBaseUrl')}/${id}/deploy.git`, '--interval', '200ms', '--status', 'git-notes', '--status', 'github',
        '--forge-url', `${f.url}/api/v3`, '--forge-token-file', tokenFile, '--data-dir', path.join(dir, `sync-${n}`), '--etcd', inject('etcdEndpoint'), '--prefix', prefix,
      ]);
      procs.push(p);
      return p;
    };
    const running = [sync(0), sync(1)];
    const store = await EtcdStore.connect([inject('etcdEndpoint')], prefix);
    try {
      const posted = (): OutboxRecord[] => f.calls.filter((c) => c.method === 'POST').map((c) => c.body as OutboxRecord);
      const output = (): string => procs.map((p) => p.output.toString()).join('\n---\n');
      await waitFor(() => posted().some((b) => b.context === 'berth/sync'), { timeoutMs: 60_000, what: `berth/sync on the forge\n${output()}` });
      const sent: string[] = [];
      let kills = 0;
      for (let round = 0; round < KILLS; round++) {
        const before = posted().length;
        for (let i = 0; i < PER_ROUND; i++) {
          const description = `line ${round}.${i}`;
          sent.push(description);
          const record: OutboxRecord = { type: 'outbox', source: 'default', commit, context: 'berth/health', state: 'pending', description, time: new Date().toISOString() };
          await commitSequenced(store, { at: (n) => [{ key: outboxKey('default', n), value: encode(record) }] }, 'a test status');
        }
        // Killed in the middle of the batch on the forge: its git note already pushed, the outbox not yet emptied.
        const at = random.int(1, PER_ROUND - 1);
        await waitFor(() => posted().length - before >= at, { timeoutMs: 60_000, intervalMs: 5, what: `${at} statuses of round ${round} on the forge\n${output()}` });
        const held = await store.get(leaderKey('sync/default'));
        const pid = held && Number(decode('leader', held.key, held.value).holder.split('/')[1]);
        const leader = running.findIndex((p) => p.child.pid === pid);
        const killed = running[leader];
        if (killed === undefined) throw new Error(`the leader ${String(pid)} is none of the syncs started`);
        killed.child.kill('SIGKILL');
        kills++;
        // Started again over the same data dir (its mirror as the kill left it), as a supervisor would.
        running[leader] = sync(procs.indexOf(killed));
      }
      const killedAt = Date.now();
      await waitFor(async () => (await store.list(outboxPrefix('default'))).entries.length === 0, { timeoutMs: 90_000, what: `the outbox drained\n${output()}` });
      const convergedMs = Date.now() - killedAt;

      const note = await repo.git(`--git-dir=${repo.bareDir}`, 'notes', '--ref=berth', 'show', commit);
      const kept = (await store.list(notesPrefix('default', commit))).entries.map((e) => decode('outbox', e.key, e.value).description);
      const count = (list: readonly string[], d: string): number => list.filter((x) => x === d).length;
      const noteLines = note.split('\n').filter((l) => l.includes(' berth/health pending ')).map((l) => l.replace(/^.* berth\/health pending /, ''));
      const onForge = posted().filter((b) => b.context === 'berth/health').map((b) => b.description);
      const wrong = sent.flatMap((d) => [['git note', count(noteLines, d)], ['forge', count(onForge, d)], ['notes/', count(kept, d)]].filter(([, n]) => n !== 1).map(([where, n]) => `${d}: ${String(n)}× in ${String(where)}`));
      const syncLines = [count(note.split('\n').map((l) => (l.includes(' berth/sync success ') ? 'sync' : '')), 'sync'), count(posted().map((b) => b.context), 'berth/sync')];
      recordFaultRow(context, { scenario: 'kill -9 the leading sync mid-delivery (of two)', trials: KILLS, faults: kills, failures: wrong.length + syncLines.filter((n) => n !== 1).length, convergeMs: [convergedMs], seed: random.seed });
      expect(wrong).toEqual([]);
      expect(syncLines).toEqual([1, 1]);
    } finally {
      await store.close();
    }
  }, 300_000);
});
