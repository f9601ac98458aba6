import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { silentLogger, type Logger } from '../../../src/log.js';
import {
  EVENTS, EtcdStore, decode, desiredPrefix, encode, historyPrefix, notesPrefix, sourceKey,
  type DesiredRecord, type Entry, type HistoryRecord, type SealRecord, type Store,
} from '../../../src/store/index.js';
import { GitSource, discardReporter, startSync, type Sync, type SyncOptions } from '../../../src/sync/index.js';
import { resume, suspendAt, suspend } from '../../../src/api/control.js';
import { indexedOids, packsOf } from '../../../src/sync/repack.js';
import { uniqueName } from '../../support/names.js';
import { createRepo, type TestRepo } from '../../support/repo.js';
import { waitFor } from '../../support/wait.js';
import { SERVICE, deployment, deploymentWith } from '../../unit/manifest/manifests.js';
import { captureLog } from '../../unit/scheduler/harness.js';

const SOURCE = 'main';
// Long enough that only the ref watch (or a kick) can explain a prompt apply.
const POLL_MS = 60_000;
const PROMPTLY = { timeoutMs: 15_000 };


const named = (name: string): string => deploymentWith('  name: web\n', `  name: ${name}\n`);

/** One test's world: its own repository, etcd key prefix and data dir, all removed afterwards. */
interface World {
  repo: TestRepo;
  store: Store;
  dataDir: string;
  /** Start a sync of the repository (local work tree unless `repo` says otherwise). */
  start(o?: Partial<SyncOptions> & { repo?: string; path?: string; maxPacks?: number }): Promise<Sync>;
  seal(): Promise<SealRecord | undefined>;
  history(): Promise<HistoryRecord[]>;
  desired(): Promise<Entry[]>;
  /** Wait for the seal of `commit`. */
  sealed(commit: string): Promise<SealRecord>;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function world(): Promise<World> {
  const repo = await createRepo(inject('gitRoot'), uniqueName('sync'));
  cleanups.push(() => repo.dispose());
  const store = await EtcdStore.connect([inject('etcdEndpoint')], `/${uniqueName('sync')}`);
  cleanups.push(async () => {
    const { entries } = await store.list('');
    for (const e of entries) await store.commit({ del: [e.key] });
    await store.close();
  });
  const dataDir = await mkdtemp(join(tmpdir(), 'berth-sync-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const seal = async (): Promise<SealRecord | undefined> => {
    const e = await store.get(sourceKey(SOURCE));
    return e && decode('seal', e.key, e.value);
  };
  return {
    repo,
    store,
    dataDir,
    start: async ({ repo: where, path, maxPacks, ...o } = {}) => {
      const git = new GitSource({ repo: where ?? repo.workDir, branch: 'main', path: path ?? '.', dataDir, ...(maxPacks === undefined ? {} : { maxPacks }) });
      const log: Logger = o.log ?? silentLogger();
      const sync = await startSync({ store, log, git, source: SOURCE, intervalMs: POLL_MS, ...o });
      cleanups.push(() => sync.stop());
      return sync;
    },
    seal,
    history: async () => (await store.list(historyPrefix(SOURCE))).entries.map((e) => decode('history', e.key, e.value)),
    desired: async () => (await store.list(desiredPrefix(SOURCE))).entries,
    sealed: (commit) => waitFor(async () => {
      const s = await seal();
      return s?.commit === commit ? s : undefined;
    }, { ...PROMPTLY, what: `the seal of ${commit.slice(0, 7)}` }),
  };
}

const records = (entries: Entry[]): DesiredRecord[] => entries.map((e) => decode('desired', e.key, e.value));
const keysOf = (entries: Entry[]): string[] => entries.map((e) => e.key.slice(desiredPrefix(SOURCE).length));

describe('startSync on a local repository', () => {
  it('seals the head commit with its objects and an applied history record', async () => {
    const w = await world();
    await w.repo.write('apps/web.yaml', named('web'));
    await w.repo.write('apps/api.yaml', named('api'));
    await w.repo.write('README.md', '# hello\n');
    const head = await w.repo.commit('two deployments');

    await w.start({ path: 'apps' });

    const seal = await w.sealed(head);
    expect(seal).toMatchObject({ commit: head, author: 'Berth Test <test@berth.invalid>', message: 'two deployments', counts: { objects: 2, created: 2, updated: 0, deleted: 0 } });
    expect(keysOf(await w.desired())).toEqual(['Deployment/default/api', 'Deployment/default/web']);
    expect(keysOf((await w.store.list(desiredPrefix(SOURCE), { revision: seal.revision })).entries)).toEqual(['Deployment/default/api', 'Deployment/default/web']);
    expect(records(await w.desired()).map((r) => [r.object.path, r.commit])).toEqual([['apps/api.yaml', head], ['apps/web.yaml', head]]);
    expect((await w.history()).map((h) => [h.commit, h.outcome])).toEqual([[head, 'applied']]);
  });

  it('applies a new commit promptly through the ref watch, with a 60 s poll interval', async () => {
    const w = await world();
    await w.repo.write('web.yaml', named('web'));
    const first = await w.repo.commit('first');
    const sync = await w.start();
    await w.sealed(first);
    await sync.idle();

    await w.repo.write('api.yaml', named('api'));
    const second = await w.repo.commit('second');

    const seal = await w.sealed(second);
    expect(seal.counts).toEqual({ objects: 2, created: 1, updated: 0, deleted: 0 });
    expect(keysOf(await w.desired())).toEqual(['Deployment/default/api', 'Deployment/default/web']);
  });

  it('rejects a broken commit with file:line:col errors, changing neither desired state nor seal; a fixing commit applies', async () => {
    const w = await world();
    await w.repo.write('apps/web.yaml', named('web'));
    const good = await w.repo.commit('good');
    await w.start();
    const sealed = await w.sealed(good);
    const desiredBefore = await w.desired();
    const sealBefore = await w.store.get(sourceKey(SOURCE));

    await w.repo.write('apps/web.yaml', deployment('        bogus: 1'));
    await w.repo.write('apps/api.yaml', deploymentWith('image: nginx:1.27', 'image: 42').replace('name: web\n', 'name: api\n'));
    const broken = await w.repo.commit('broken');

    const rejected = await waitFor(async () => (await w.history()).find((h) => h.commit === broken), { ...PROMPTLY, what: 'the rejected record' });
    expect(rejected).toMatchObject({ outcome: 'rejected', message: 'broken', author: 'Berth Test <test@berth.invalid>' });
    expect(rejected.errors).toEqual([
      'apps/api.yaml:16:16: spec.template.spec.containers[0].image: must be a string, not the number 42; quote it: "42"',
      'apps/web.yaml:17:9: spec.template.spec.containers[0].bogus: unknown field (supported here: name, image, command, args, env, envFrom, volumeMounts, ports, resources, imagePullPolicy, readinessProbe, livenessProbe, startupProbe, lifecycle, securityContext)',
    ]);
    expect(await w.desired()).toEqual(desiredBefore);
    expect(await w.store.get(sourceKey(SOURCE))).toEqual(sealBefore);
    expect(await w.seal()).toEqual(sealed);

    await w.repo.write('apps/web.yaml', named('web').replace('nginx:1.27', 'nginx:1.28'));
    await w.repo.remove('apps/api.yaml');
    const fixed = await w.repo.commit('fixed');

    const seal = await w.sealed(fixed);
    expect(seal.counts).toEqual({ objects: 1, created: 0, updated: 1, deleted: 0 });
    expect(records(await w.desired()).map((r) => [r.object.name, r.commit])).toEqual([['web', fixed]]);
    expect((await w.history()).map((h) => [h.commit, h.outcome])).toEqual([[good, 'applied'], [broken, 'rejected'], [fixed, 'applied']]);
  });

  it('does not record a rejected head twice when restarted on it', async () => {
    const w = await world();
    await w.repo.write('web.yaml', deployment('        bogus: 1'));
    const broken = await w.repo.commit('broken');
    const first = await w.start();
    await waitFor(async () => (await w.history()).some((h) => h.commit === broken), { ...PROMPTLY, what: 'the rejected record' });
    await first.idle();
    await first.stop();
    const before = await w.history();

    const again = await w.start();
    // Each kick is a full look at the head; none of them may write.
    for (let i = 0; i < 3; i++) {
      again.kick();
      await again.idle();
    }

    expect(await w.history()).toEqual(before);
    expect(before.map((h) => [h.commit, h.outcome])).toEqual([[broken, 'rejected']]);
    expect(await w.seal()).toBeUndefined();
  });

  it.each([
    ['applies with skipKinds [Service] and stores nothing of the Services', ['Service'], 'applied'],
    ['applies without skipKinds and stores the Services too', [], 'stored'],
  ])('a commit with Services %s', async (_what, skipKinds, outcome) => {
    const w = await world();
    await w.repo.write('apps/web.yaml', named('web'));
    await w.repo.write('apps/svc.yaml', SERVICE);
    await w.repo.write('apps/both.yaml', `${named('api')}---\n${SERVICE.replace('name: web', 'name: api')}`);
    const head = await w.repo.commit('with services');
    const { log, lines } = captureLog();

    await w.start({ skipKinds, log });

    const record = await waitFor(async () => (await w.history()).find((h) => h.commit === head), { ...PROMPTLY, what: 'a history record' });
    expect(record.outcome).toBe('applied');
    expect((await w.seal())?.commit).toBe(head);
    if (outcome === 'applied') {
      const stored = await w.store.list('');
      expect(stored.entries.filter((e) => e.key.startsWith('desired/')).some((e) => /Service/.test(e.key) || /"kind":"Service"/.test(e.value))).toBe(false);
      expect(keysOf(await w.desired())).toEqual(['Deployment/default/api', 'Deployment/default/web']);
      // Nothing is skipped silently: the log names each skipped document.
      const skipped = lines.find((l) => l.msg === 'skipped 2 document(s) of skipped kinds');
      expect(skipped?.skipped).toEqual(['apps/both.yaml:18: Service api', 'apps/svc.yaml:1: Service web']);
    } else {
      expect(keysOf(await w.desired())).toEqual(['Deployment/default/api', 'Deployment/default/web', 'Service/default/api', 'Service/default/web']);
    }
  });
});

describe('a suspended source (the API\'s suspend, suspend --at and resume)', () => {
  it('applies no new commit while suspended; suspend --at applies the earlier commit and keeps it until resume; then the head applies', async () => {
    const w = await world();
    await w.repo.write('web.yaml', named('web'));
    const first = await w.repo.commit('first');
    const sync = await w.start({ reporter: discardReporter });
    await w.sealed(first);
    await w.repo.write('api.yaml', named('api'));
    const second = await w.repo.commit('second');
    await w.sealed(second);

    expect((await suspend(w.store, SOURCE, new Date())).changed).toBe(true);
    await w.repo.write('db.yaml', named('db'));
    const third = await w.repo.commit('third');
    sync.kick();
    await sync.idle();
    expect((await w.seal())?.commit).toBe(second);

    await suspendAt(w.store, SOURCE, first.slice(0, 8), new Date());
    const back = await w.sealed(first);
    expect(back.counts).toEqual({ objects: 1, created: 0, updated: 0, deleted: 1 });
    expect(keysOf(await w.desired())).toEqual(['Deployment/default/web']);
    expect((await w.history()).map((h) => [h.commit, h.outcome, h.pinned ?? false])).toEqual([
      [first, 'applied', false], [second, 'applied', false], [first, 'applied', true],
    ]);
    await sync.idle();
    const notes = (await w.store.list(notesPrefix(SOURCE, first))).entries.map((e) => decode('outbox', e.key, e.value).description);
    expect(notes).toEqual([expect.stringMatching(/^applied: /), expect.stringMatching(/; pinned: the source stays on this commit until `berth resume`$/)]);

    await w.repo.write('cache.yaml', named('cache'));
    const fourth = await w.repo.commit('fourth');
    sync.kick();
    await sync.idle();
    expect((await w.seal())?.commit).toBe(first);
    expect(third).not.toBe(fourth);

    await resume(w.store, SOURCE);
    const head = await w.sealed(fourth);
    expect(head.counts).toMatchObject({ objects: 4, created: 3 });
    expect((await w.history()).at(-1)).toMatchObject({ commit: fourth, outcome: 'applied' });
    expect((await w.history()).at(-1)?.pinned).toBeUndefined();
  });
});

describe('desired state changed behind sync’s back', () => {
  it.each([
    ['with the commit in force', false],
    ['after a newer commit was rejected', true],
  ])('puts back keys deleted, edited or added by hand %s, without a new history record', async (_when, rejectNewer) => {
    const w = await world();
    await w.repo.write('web.yaml', named('web'));
    await w.repo.write('api.yaml', named('api'));
    const good = await w.repo.commit('two deployments');
    const sync = await w.start();
    const before = await w.sealed(good);
    if (rejectNewer) {
      await w.repo.write('web.yaml', deployment('        bogus: 1'));
      const broken = await w.repo.commit('broken');
      await waitFor(async () => (await w.history()).some((h) => h.commit === broken), { ...PROMPTLY, what: 'the rejected record' });
    }
    await sync.idle();
    const sealedRecords = records(await w.desired());
    const history = await w.history();

    const [api, web] = await w.desired();
    if (!api || !web) throw new Error('expected two desired keys');
    const edited = { ...decode('desired', web.key, web.value) };
    edited.object = { ...edited.object, name: 'hijacked' };
    // What an operator with etcdctl might do: delete one, edit one, add one.
    await w.store.commit({ del: [api.key], put: [{ key: web.key, value: encode(edited) }, { key: `${desiredPrefix(SOURCE)}Deployment/default/extra`, value: web.value }] });

    // The poll is 60 s: the watch on desired/ brings the repair.
    // Resealed last: readers at the sealed revision see the whole repair.
    const after = await waitFor(async () => {
      const s = await w.seal();
      return s && s.revision > before.revision ? s : undefined;
    }, { ...PROMPTLY, what: 'the seal written again' });
    const now = await w.desired();
    expect(keysOf(now)).toEqual(['Deployment/default/api', 'Deployment/default/web']);
    expect(records(now)).toEqual(sealedRecords);
    expect(now.every((e) => e.modRevision <= after.revision)).toBe(true);
    expect(after).toMatchObject({ commit: good, counts: before.counts });
    expect(await w.history()).toEqual(history);
    const events = (await w.store.list(EVENTS)).entries.map((e) => decode('event', e.key, e.value)).filter((e) => e.reason === 'Repaired' && e.object === `source/${SOURCE}`);
    expect(events.map((e) => e.message)).toEqual([
      `desired state of commit ${good.slice(0, 7)} put back: Deployment/default/api, Deployment/default/web, Deployment/default/extra`,
    ]);
  });
});

describe('startSync on a smart-HTTP remote', () => {
  it('applies each pushed commit when kicked (as by a webhook)', async () => {
    const w = await world();
    await w.repo.write('web.yaml', named('web'));
    const first = await w.repo.commit('first');
    await w.repo.push();
    const sync = await w.start({ repo: w.repo.url(inject('gitBaseUrl')) });
    await w.sealed(first);

    await w.repo.remove('web.yaml');
    await w.repo.write('api.yaml', named('api'));
    const second = await w.repo.commit('second');
    await w.repo.push();
    sync.kick();

    const seal = await w.sealed(second);
    expect(seal.counts).toEqual({ objects: 1, created: 1, updated: 0, deleted: 1 });
    expect(keysOf(await w.desired())).toEqual(['Deployment/default/api']);
  });

  // The mirror holds one pack a fetch; past --max-packs (here 2) they are merged once the commit is sealed.
  it.each([
    { damaged: false, packs: 1, logged: [] },
    { damaged: true, packs: 3, logged: ['cannot repack the mirror; it works as it is, with more pack files, and is tried again at the next commit'] },
  ])('repacks the mirror after the seal; a repack that fails (a damaged pack: $damaged) is logged, and the commit is applied all the same', async ({ damaged, packs, logged }) => {
    const w = await world();
    const { log, lines } = captureLog();
    const push = async (name: string): Promise<string> => {
      await w.repo.write('web.yaml', named(name));
      const sha = await w.repo.commit(name);
      await w.repo.push();
      return sha;
    };
    const first = await push('one');
    const sync = await w.start({ repo: w.repo.url(inject('gitBaseUrl')), maxPacks: 2, log, reporter: discardReporter });
    await w.sealed(first);
    const second = await push('two');
    sync.kick();
    await w.sealed(second);
    const [name = ''] = await readdir(join(w.dataDir, 'repos'));
    const mirror = join(w.dataDir, 'repos', name);
    // The first fetch's pack holds only what no later pass reads but a repack does: the first commit's tree and file.
    if (damaged) await damageObject(mirror, await w.repo.git('rev-parse', `${first}:web.yaml`));

    const third = await push('three');
    sync.kick();
    await w.sealed(third);
    await sync.idle();
    expect(keysOf(await w.desired())).toEqual(['Deployment/default/three']);
    expect((await packsOf(mirror)).length).toBe(packs);
    expect(lines.filter((l) => l.level === 40).map((l) => l.msg)).toEqual(logged);
  });
});

/** Overwrites the compressed bytes of object `oid` in the pack of `gitdir` that holds it (its index, and the pack's checksum, left as they were). */
async function damageObject(gitdir: string, oid: string): Promise<void> {
  for (const pack of await packsOf(gitdir)) {
    const file = join(gitdir, 'objects', 'pack', pack);
    const idx = await readFile(file.replace(/\.pack$/, '.idx'));
    const oids = indexedOids(idx);
    const i = oids.indexOf(oid);
    if (i < 0) continue;
    // A version 2 index: header, fan-out, ids, CRCs, then 4-byte offsets.
    let at = idx.readUInt32BE(8 + 1024 + oids.length * 24 + i * 4);
    const data = await readFile(file);
    while ((data[at++] ?? 0) & 0x80); // the object's type and size, 7 bits a byte
    data.fill(0xff, at + 2, at + 8); // past zlib's 2-byte header
    await writeFile(file, data);
    return;
  }
  throw new Error(`${oid} is in no pack of ${gitdir}`);
}
