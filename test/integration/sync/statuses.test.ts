import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { UnavailableError } from '../../../src/errors.js';
import { silentLogger, type Logger } from '../../../src/log.js';
import {
  EVENTS, EtcdStore, NOTES, decode, desiredPrefix, encode, historyPrefix, outboxKey, outboxPrefix, syncErrorKey, type HistoryRecord, type OutboxRecord, type Store,
} from '../../../src/store/index.js';
import { GitSource, appliedStatus, startSync, type Sync, type SyncOptions } from '../../../src/sync/index.js';
import { uniqueName } from '../../support/names.js';
import { createRepo, type TestRepo } from '../../support/repo.js';
import { waitFor } from '../../support/wait.js';
import { deployment, deploymentWith } from '../../unit/manifest/manifests.js';
import { captureLog } from '../../unit/scheduler/harness.js';

const SOURCE = 'main';
// Long enough that only the ref watch, a kick or a retry can explain a prompt note.
const POLL_MS = 60_000;
const PROMPTLY = { timeoutMs: 15_000 };
const TIME = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z';

const named = (name: string): string => deploymentWith('  name: web\n', `  name: ${name}\n`);

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** One test's world: its own repository, etcd key prefix and data dir, all removed afterwards. */
interface World {
  repo: TestRepo;
  store: Store;
  start(o?: Partial<SyncOptions> & { repo?: string; path?: string }): Promise<Sync>;
  outbox(): Promise<OutboxRecord[]>;
  history(): Promise<HistoryRecord[]>;
  /** The note of `commit` in the work tree's repository (local sources). */
  localNote(commit: string): Promise<string>;
  /** The note of `commit` in the bare repository the git server serves (remote sources, or pushed by hand). */
  serverNote(commit: string): Promise<string>;
}

async function world(): Promise<World> {
  const repo = await createRepo(inject('gitRoot'), uniqueName('notes'));
  cleanups.push(() => repo.dispose());
  const store = await EtcdStore.connect([inject('etcdEndpoint')], `/${uniqueName('notes')}`);
  cleanups.push(async () => {
    const { entries } = await store.list('');
    for (const e of entries) await store.commit({ del: [e.key] });
    await store.close();
  });
  const dataDir = await mkdtemp(join(tmpdir(), 'berth-notes-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  return {
    repo,
    store,
    start: async ({ repo: where, path, ...o } = {}) => {
      const git = new GitSource({ repo: where ?? repo.workDir, branch: 'main', path: path ?? '.', dataDir });
      const log: Logger = o.log ?? silentLogger();
      const sync = await startSync({ store, log, git, source: SOURCE, intervalMs: POLL_MS, ...o });
      cleanups.push(() => sync.stop());
      return sync;
    },
    history: async () => (await store.list(historyPrefix(SOURCE))).entries.map((e) => decode('history', e.key, e.value)),
    outbox: async () => (await store.list(outboxPrefix(SOURCE))).entries.map((e) => decode('outbox', e.key, e.value)),
    localNote: (commit) => repo.git('notes', '--ref=berth', 'show', commit),
    serverNote: (commit) => repo.git(`--git-dir=${repo.bareDir}`, 'notes', '--ref=berth', 'show', commit),
  };
}

/** Wait until the note read by `read` has `lines` lines, and return them. */
async function noteLines(read: () => Promise<string>, lines: number, what: string, timeoutMs = PROMPTLY.timeoutMs): Promise<string[]> {
  return waitFor(async () => {
    const note = (await read()).split('\n');
    return note.length >= lines ? note : undefined;
  }, { timeoutMs, what });
}

/**
 * An HTTP proxy in front of the test git server, on a port that stays the same across stop and
 * start (a git server going down and coming back). `before` may hold a request back (to let another
 * writer act first) or answer 'drop' to cut it off.
 */
interface Proxy {
  url(repo: TestRepo, auth?: string): string;
  readonly up: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

async function startProxy(before?: (req: IncomingMessage) => Promise<'drop' | undefined>): Promise<Proxy> {
  const target = new URL(inject('gitBaseUrl'));
  let server: Server | undefined;
  let port = 0;
  const sockets = new Set<Socket>();
  const proxy: Proxy = {
    url: (repo, auth) => repo.url(`http://${auth ? `${auth}@` : ''}127.0.0.1:${port}`),
    get up() {
      return server !== undefined;
    },
    start: async () => {
      const s = createServer((req, res) => {
        void (async () => {
          if ((await before?.(req)) === 'drop') {
            req.socket.destroy();
            return;
          }
          const upstream = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (up) => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
          });
          upstream.on('error', () => res.destroy());
          req.pipe(upstream);
        })();
      });
      s.on('connection', (socket) => {
        sockets.add(socket);
        socket.once('close', () => sockets.delete(socket));
      });
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(port, '127.0.0.1', () => resolve());
      });
      port = (s.address() as AddressInfo).port;
      server = s;
    },
    stop: async () => {
      const s = server;
      server = undefined;
      if (!s) return;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
  await proxy.start();
  cleanups.push(() => proxy.stop());
  return proxy;
}

const isReceivePack = (req: IncomingMessage): boolean => (req.url ?? '').includes('git-receive-pack');

describe.each([
  ['a local work tree', (w: World) => w.repo.workDir, (w: World) => w.localNote],
  ['a local bare repository', (w: World) => w.repo.bareDir, (w: World) => w.serverNote],
])('berth/sync statuses as git notes on %s', (_kind, where, noteOf) => {
  it('appends `berth/sync success` to an applied commit and `berth/sync failure` with file:line:col to a rejected one', async () => {
    const w = await world();
    await w.repo.write('apps/web.yaml', named('web'));
    const good = await w.repo.commit('good');
    await w.repo.push();
    await w.start({ repo: where(w) });

    const [line] = await noteLines(() => noteOf(w)(good), 1, 'the note of the applied commit');
    expect(line).toMatch(new RegExp(`^${TIME} berth/sync success applied: 1 object, 1 created, 0 updated, 0 deleted$`));

    await w.repo.write('apps/web.yaml', deployment('        bogus: 1'));
    await w.repo.write('apps/api.yaml', deploymentWith('image: nginx:1.27', 'image: 42').replace('name: web\n', 'name: api\n'));
    const broken = await w.repo.commit('broken');
    await w.repo.push();

    const [failure] = await noteLines(() => noteOf(w)(broken), 1, 'the note of the rejected commit');
    expect(failure).toMatch(new RegExp(`^${TIME} berth/sync failure rejected: 2 errors; first: apps/api\\.yaml:16:16: spec\\.template\\.spec\\.containers\\[0\\]\\.image: must be a string`));
    expect(failure?.length).toBeLessThanOrEqual(25 + 'berth/sync failure '.length + 140);
    // The applied commit's note is as it was, and the outbox is empty once delivered.
    expect(await noteOf(w)(good)).toBe(line);
    await waitFor(async () => (await w.outbox()).length === 0, { ...PROMPTLY, what: 'an empty outbox' });
  });
});

describe('berth/sync statuses as git notes on a local repository', () => {
  it('says once, on the commit that brings a serviceAccountName, that berth mounts no token', async () => {
    const w = await world();
    await w.repo.write('web.yaml', named('web').replace('    spec:\n', '    spec:\n      serviceAccountName: web\n'));
    const first = await w.repo.commit('with a service account');
    await w.start();
    const [line] = await noteLines(() => w.localNote(first), 1, 'the note');
    expect(line).toMatch(new RegExp(`^${TIME} berth/sync success applied: 1 object, 1 created, 0 updated, 0 deleted; service accounts kept; berth mounts no service account token$`));
    // A later commit that leaves that Deployment alone says nothing of it.
    await w.repo.write('api.yaml', named('api'));
    const second = await w.repo.commit('another deployment');
    const [next] = await noteLines(() => w.localNote(second), 1, 'the second note');
    expect(next).toMatch(new RegExp(`^${TIME} berth/sync success applied: 2 objects, 1 created, 0 updated, 0 deleted$`));
  });

  it('adds no second line when an entry is delivered again (a crash between the note and the outbox delete)', async () => {
    const w = await world();
    await w.repo.write('web.yaml', named('web'));
    const head = await w.repo.commit('first');
    const sync = await w.start();
    const [line] = await noteLines(() => w.localNote(head), 1, 'the note');
    await waitFor(async () => (await w.outbox()).length === 0, { ...PROMPTLY, what: 'an empty outbox' });

    // The very entry the apply wrote: the history record carries the same time and counts.
    const [history] = await w.history();
    if (!history?.counts) throw new Error('no applied history record');
    const again = appliedStatus(SOURCE, head, history.counts, new Date(history.time));
    await w.store.commit({ put: [{ key: outboxKey(SOURCE, (await w.store.revision()) + 1), value: encode(again) }] });
    sync.kick();

    await waitFor(async () => (await w.outbox()).length === 0, { ...PROMPTLY, what: 'the redelivered entry to be taken' });
    await sync.idle();
    expect(await w.localNote(head)).toBe(line);
  });

  it('delivers after a restart what a stopped sync could not deliver', async () => {
    const w = await world();
    await w.repo.write('web.yaml', named('web'));
    const head = await w.repo.commit('first');
    const down = { report: () => Promise.reject(new UnavailableError('EDOWN', 'reporter down')) };
    const first = await w.start({ reporter: down });
    await waitFor(async () => (await w.history()).length === 1, { ...PROMPTLY, what: 'the apply' });
    await first.idle();
    await first.stop();
    expect((await w.outbox()).map((r) => [r.commit, r.state])).toEqual([[head, 'success']]);
    await expect(w.localNote(head)).rejects.toThrow();

    await w.start();
    await noteLines(() => w.localNote(head), 1, 'the note after the restart');
    await waitFor(async () => (await w.outbox()).length === 0, { ...PROMPTLY, what: 'an empty outbox' });
  });

  it('keeps what another writer noted on the commit', async () => {
    const w = await world();
    await w.repo.write('web.yaml', named('web'));
    const head = await w.repo.commit('first');
    await w.repo.git('notes', '--ref=berth', 'add', '-m', 'reviewed by Ada', head);
    await w.start();
    const lines = await noteLines(() => w.localNote(head), 2, 'the appended note');
    expect(lines[0]).toBe('reviewed by Ada');
    expect(lines[1]).toMatch(/ berth\/sync success applied: 1 object/);
  });
});

describe('berth/sync statuses as git notes on a smart-HTTP remote', () => {
  it('pushes the notes ref back to the server, one note per commit', async () => {
    const w = await world();
    await w.repo.write('web.yaml', named('web'));
    const first = await w.repo.commit('first');
    await w.repo.push();
    const sync = await w.start({ repo: w.repo.url(inject('gitBaseUrl')) });
    const [one] = await noteLines(() => w.serverNote(first), 1, 'the first note on the server');
    expect(one).toMatch(new RegExp(`^${TIME} berth/sync success applied: 1 object, 1 created, 0 updated, 0 deleted$`));

    await w.repo.write('api.yaml', named('api'));
    const second = await w.repo.commit('second');
    await w.repo.push();
    sync.kick();
    const [two] = await noteLines(() => w.serverNote(second), 1, 'the second note on the server');
    expect(two).toMatch(/ berth\/sync success applied: 2 objects, 1 created, 0 updated, 0 deleted$/);
    expect(await w.serverNote(first)).toBe(one);
    await waitFor(async () => (await w.outbox()).length === 0, { ...PROMPTLY, what: 'an empty outbox' });
  });

  it('keeps the status in the outbox while the server is down and delivers it once it is back, never logging the URL credentials', async () => {
    const w = await world();
    await w.repo.write('web.yaml', named('web'));
    const head = await w.repo.commit('first');
    await w.repo.push();
    // The server goes down at the first push of the notes: after the apply, before the delivery.
    let downOnce = false;
    const proxy = await startProxy(async (req) => {
      if (downOnce || !isReceivePack(req)) return undefined;
      downOnce = true;
      void proxy.stop();
      return 'drop';
    });
    const { log, lines } = captureLog();
    await w.start({ repo: proxy.url(w.repo, 'berth:s3cret-token'), log });

    await waitFor(() => !proxy.up, { ...PROMPTLY, what: 'the server to go down' });
    await waitFor(() => lines.some((l) => l.component === 'outbox' && l.msg === 'reconcile failed; retrying with backoff'), { ...PROMPTLY, what: 'a failed delivery' });
    expect((await w.outbox()).map((r) => [r.commit, r.context, r.state])).toEqual([[head, 'berth/sync', 'success']]);
    await expect(w.serverNote(head)).rejects.toThrow();

    await proxy.start();
    const [line] = await noteLines(() => w.serverNote(head), 1, 'the note once the server is back', 30_000);
    expect(line).toMatch(/ berth\/sync success applied: 1 object, 1 created, 0 updated, 0 deleted$/);
    await waitFor(async () => (await w.outbox()).length === 0, { ...PROMPTLY, what: 'an empty outbox' });
    expect(JSON.stringify(lines)).not.toContain('s3cret-token');
    expect(JSON.stringify(lines)).toContain('[redacted]@127.0.0.1');
  });

  it('keeps the status in the outbox while the server refuses the push, and delivers it once allowed', async () => {
    const w = await world();
    await w.repo.write('web.yaml', named('web'));
    const head = await w.repo.commit('first');
    await w.repo.push();
    const hook = join(w.repo.bareDir, 'hooks', 'pre-receive');
    await writeFile(hook, '#!/bin/sh\necho "notes are read-only here" >&2\nexit 1\n', { mode: 0o755 });
    const { log, lines } = captureLog();
    const sync = await w.start({ repo: w.repo.url(inject('gitBaseUrl')), log });

    const failed = await waitFor(() => lines.find((l) => l.component === 'outbox' && l.msg === 'reconcile failed; retrying with backoff'), { ...PROMPTLY, what: 'a refused delivery' });
    expect(failed.err).toMatch(/^cannot push refs\/notes\/berth to http:\/\/127\.0\.0\.1:\d+\/notes-[a-z0-9-]+\.git: the server refused it: refs\/notes\/berth: pre-receive hook declined; check that the Git server is up and that berth may push to it/);
    expect((await w.outbox()).map((r) => [r.commit, r.state])).toEqual([[head, 'success']]);
    await expect(w.serverNote(head)).rejects.toThrow();

    await rm(hook);
    sync.kick();
    await noteLines(() => w.serverNote(head), 1, 'the note once pushes are allowed');
    await waitFor(async () => (await w.outbox()).length === 0, { ...PROMPTLY, what: 'an empty outbox' });
  });

  it.each([
    ['before berth reads the remote notes ref for its push (berth sees a non-fast-forward)', (req: IncomingMessage) => req.method === 'GET'],
    ['after berth read it, before its pack lands (the server refuses the stale update)', (req: IncomingMessage) => req.method === 'POST'],
  ])('retries on top of another writer’s notes pushed %s', async (_when, at) => {
    const w = await world();
    await w.repo.write('web.yaml', named('web'));
    const head = await w.repo.commit('first');
    await w.repo.push();
    let raced = false;
    const proxy = await startProxy(async (req) => {
      if (raced || !isReceivePack(req) || !at(req)) return undefined;
      raced = true;
      await w.repo.git('notes', '--ref=berth', 'add', '-m', 'reviewed by the other writer', head);
      await w.repo.git('push', '--quiet', 'origin', 'refs/notes/berth');
      return undefined;
    });
    await w.start({ repo: proxy.url(w.repo) });

    const lines = await noteLines(() => w.serverNote(head), 2, 'both notes on the server');
    expect(raced).toBe(true);
    expect(lines[0]).toBe('reviewed by the other writer');
    expect(lines[1]).toMatch(/ berth\/sync success applied: 1 object/);
    await waitFor(async () => (await w.outbox()).length === 0, { ...PROMPTLY, what: 'an empty outbox' });
  });
});

describe('what sync cannot apply or reach', () => {
  it('rejects once a commit that deletes its --path folder: history, `berth/sync failure`, an event; what runs stays', async () => {
    const w = await world();
    await w.repo.write('apps/web.yaml', named('web'));
    const good = await w.repo.commit('good');
    const sync = await w.start({ path: 'apps' });
    await waitFor(async () => (await w.history()).some((h) => h.commit === good && h.outcome === 'applied'), { ...PROMPTLY, what: 'the applied record' });
    const desired = async (): Promise<string[]> => (await w.store.list(desiredPrefix(SOURCE))).entries.map((e) => `${e.key}@${e.modRevision}`);
    const before = await desired();

    await w.repo.remove('apps');
    await w.repo.write('README', 'moved elsewhere\n');
    const gone = await w.repo.commit('remove apps/');
    const rejected = await waitFor(async () => (await w.history()).find((h) => h.commit === gone), { ...PROMPTLY, what: 'the rejected record' });
    expect(rejected).toMatchObject({ outcome: 'rejected', errors: [expect.stringMatching(/^path 'apps' does not exist in commit [0-9a-f]{7} of /)] });
    const [line] = await noteLines(() => w.localNote(gone), 1, 'the note of the rejected commit');
    expect(line).toMatch(new RegExp(`^${TIME} berth/sync failure rejected: 1 error; first: path 'apps' does not exist in commit`));
    const events = (await w.store.list(EVENTS)).entries.map((e) => decode('event', e.key, e.value)).filter((e) => e.object === `source/${SOURCE}`);
    expect(events).toEqual([expect.objectContaining({ component: 'sync', reason: 'Rejected', message: expect.stringMatching(new RegExp(`^commit ${gone.slice(0, 7)}: path 'apps' does not exist`)) })]);
    // Recorded once: more passes over the same head write nothing.
    for (let i = 0; i < 3; i++) {
      sync.kick();
      await sync.idle();
    }
    expect((await w.history()).map((h) => [h.commit, h.outcome])).toEqual([[good, 'applied'], [gone, 'rejected']]);
    expect(await desired()).toEqual(before);

    await w.repo.write('apps/web.yaml', named('web'));
    const back = await w.repo.commit('apps/ back');
    await waitFor(async () => (await w.history()).some((h) => h.commit === back && h.outcome === 'applied'), { ...PROMPTLY, what: 'the commit that restores apps/ applied' });
  });

  it('shows the source as `error` at once when its branch is deleted (only a person can fix that), and clears it when the branch is back', async () => {
    const w = await world();
    await w.repo.write('web.yaml', named('web'));
    const first = await w.repo.commit('first');
    await w.repo.push();
    const { log, lines } = captureLog();
    // Ten minutes before an outage would show: what shows sooner is the input error.
    const sync = await w.start({ repo: w.repo.url(inject('gitBaseUrl')), log, intervalMs: 100, troubleAfterMs: 600_000 });
    await waitFor(async () => (await w.history()).some((h) => h.commit === first), { ...PROMPTLY, what: 'the first commit applied' });

    await w.repo.git(`--git-dir=${w.repo.bareDir}`, 'update-ref', '-d', 'refs/heads/main');
    const shown = await waitFor(async () => {
      const e = await w.store.get(syncErrorKey(SOURCE));
      return e && decode('syncError', e.key, e.value);
    }, { ...PROMPTLY, what: 'the source shown as error' });
    expect(shown).toMatchObject({ code: 'ENOBRANCH', message: expect.stringContaining("branch 'main' not found") });
    for (let i = 0; i < 3; i++) {
      sync.kick();
      await sync.idle();
    }
    expect(lines.filter((l) => l.component === 'sync' && l.msg === 'input rejected; waiting for it to change')).toHaveLength(1);

    await w.repo.push();
    await waitFor(async () => (await w.store.get(syncErrorKey(SOURCE))) === undefined, { ...PROMPTLY, what: 'the error cleared' });
  });

  it('shows the source as `error` once the repository stays unreachable for a while, logged once, and clears it when it is back', async () => {
    const w = await world();
    await w.repo.write('web.yaml', named('web'));
    const first = await w.repo.commit('first');
    await w.repo.push();
    const proxy = await startProxy();
    const { log, lines } = captureLog();
    await w.start({ repo: proxy.url(w.repo), log, intervalMs: 100, troubleAfterMs: 1_000 });
    await waitFor(async () => (await w.history()).some((h) => h.commit === first), { ...PROMPTLY, what: 'the first commit applied' });

    await proxy.stop();
    const shown = await waitFor(async () => {
      const e = await w.store.get(syncErrorKey(SOURCE));
      return e && decode('syncError', e.key, e.value);
    }, { ...PROMPTLY, what: 'the source shown as error' });
    expect(shown).toMatchObject({ source: SOURCE, code: expect.stringMatching(/^E(REPOUNREACHABLE|FETCH)$/), message: expect.stringContaining('127.0.0.1') });
    await proxy.start();
    await waitFor(async () => (await w.store.get(syncErrorKey(SOURCE))) === undefined, { ...PROMPTLY, what: 'the error cleared' });
    // One warning for the whole outage, not one per retry (at 100 ms, there were many).
    const warned = lines.filter((l) => l.component === 'sync' && (l.level as number) >= 40);
    expect(warned.map((l) => l.msg)).toEqual(['reconcile keeps failing; retrying with backoff']);
    expect(lines.filter((l) => l.component === 'sync' && l.msg === 'reconcile failed; retrying with backoff').length).toBeGreaterThan(2);
  });
});

describe('--history-limit', () => {
  it('keeps the newest history records and their statuses, and always the commit in force', async () => {
    const w = await world();
    const notedCommits = async (): Promise<string[]> => [...new Set((await w.store.list(NOTES)).entries.map((e) => e.key.split('/')[2] ?? ''))].sort();
    const commit = async (file: string, message: string): Promise<string> => {
      await w.repo.write('apps/web.yaml', file);
      return w.repo.commit(message);
    };
    const seen = async (sha: string, what: string): Promise<void> => {
      await waitFor(async () => (await w.outbox()).length === 0 && (await notedCommits()).includes(sha) && (await w.history()).some((h) => h.commit === sha), { ...PROMPTLY, what });
    };
    const a = await commit(named('a'), 'a');
    await w.start({ historyLimit: 2 });
    await seen(a, 'a applied and noted');
    const b = await commit(named('b'), 'b');
    await seen(b, 'b applied and noted');
    const c = await commit(named('c'), 'c');
    await seen(c, 'c applied and noted');
    expect((await w.history()).map((h) => h.commit)).toEqual([b, c]);
    expect(await notedCommits()).toEqual([b, c].sort());
    expect(await notedCommits()).not.toContain(a);

    // Two refused commits: c stays in force, so its record and statuses stay though it is the oldest.
    const d = await commit(deployment('        bogus: 1'), 'd');
    await seen(d, 'd refused');
    const e = await commit(deployment('        bogus: 2'), 'e');
    await seen(e, 'e refused');
    expect((await w.history()).map((h) => h.commit)).toEqual([c, d, e]);
    expect(await notedCommits()).toEqual([c, d, e].sort());
  });
});
