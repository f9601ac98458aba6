import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Logger } from '../../../src/log.js';
import {
  EtcdStore, decode, desiredKey, desiredPrefix, encode, historyPrefix, sealedFileKey, sealedFilesPrefix, sourceKey, type HistoryRecord, type Store,
} from '../../../src/store/index.js';
import { GitSource, startSync, type Sync } from '../../../src/sync/index.js';
import type { TreeSource } from '../../../src/sync/tree.js';
import { uniqueName } from '../../support/names.js';
import { createRepo, type TestRepo } from '../../support/repo.js';
import { waitFor } from '../../support/wait.js';
import { captureLog } from '../../unit/scheduler/harness.js';

// A sync restarted on a sealed commit rebuilds what it keeps of it (each file's blob id, objects,
// warnings and skipped documents) from etcd, reading no blob, and then decides each next commit as
// a sync that never stopped does. Records that are missing (an older berth), checked with other
// options, or not of the sealed commit are not trusted: the commit is read whole from Git instead.

const SOURCE = 'main';
const FILES = 30;
const SKIP = ['Ingress'];
const PROMPTLY = { timeoutMs: 30_000 };

const app = (i: number, replicas = 1): string =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app-${i}}\nspec:\n  replicas: ${replicas}\n  selector: {matchLabels: {app: a${i}}}\n  template:\n    metadata: {labels: {app: a${i}}}\n    spec:\n      containers:\n      - {name: a, image: 'busybox:1', command: [sleep, '1000']}\n`;
/** Two objects in one file: a ConfigMap (with a YAML 1.1 spelling: a warning) and a Deployment reading it. */
const pair = (level: string, comment = ''): string =>
  `${comment}apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {level: ${level}, verbose: yes}\n---\n` +
  `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: reader}\nspec:\n  selector: {matchLabels: {app: r}}\n  template:\n    metadata: {labels: {app: r}}\n    spec:\n      containers:\n      - name: a\n        image: busybox:1\n        env: [{name: LEVEL, valueFrom: {configMapKeyRef: {name: settings, key: level}}}]\n`;
const ingress = (name: string): string => `apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: ${name}}\nspec: {}\n`;

/** A source that counts requests to read blobs: every blob read (whole or changed files) asks tree() first. */
class CountingSource extends GitSource {
  blobReads = 0;
  private rooting = false;
  override tree(commit: string): TreeSource {
    if (!this.rooting) this.blobReads++;
    return super.tree(commit);
  }
  // root() reads trees only; its call of tree() is made before it returns its promise.
  override root(commit: string): Promise<string> {
    this.rooting = true;
    try {
      return super.root(commit);
    } finally {
      this.rooting = false;
    }
  }
}

let repo: TestRepo;
let dataDir: string;
const stores: Store[] = [];
const running: Sync[] = [];

const connect = async (): Promise<Store> => {
  const s = await EtcdStore.connect([inject('etcdEndpoint')], `/${uniqueName('restart')}`);
  stores.push(s);
  return s;
};
const source = async (): Promise<CountingSource> => new CountingSource({ repo: repo.workDir, branch: 'main', path: '.', dataDir: await mkdtemp(join(dataDir, 's-')) });
const sync = async (into: Store, git: GitSource, log: Logger, skipKinds = SKIP): Promise<Sync> => {
  const s = await startSync({ store: into, log, git, source: SOURCE, intervalMs: 60_000, skipKinds });
  running.push(s);
  return s;
};
const stop = async (s: Sync): Promise<void> => {
  running.splice(running.indexOf(s), 1);
  await s.stop();
};
const recordOf = (into: Store, commit: string): Promise<HistoryRecord> =>
  waitFor(async () => (await into.list(historyPrefix(SOURCE))).entries.map((e) => decode('history', e.key, e.value)).find((h) => h.commit === commit), { ...PROMPTLY, what: `the record of ${commit.slice(0, 7)}` });
const objects = async (into: Store): Promise<unknown[]> => (await into.list(desiredPrefix(SOURCE))).entries.map((e) => decode('desired', e.key, e.value).object);
/** What a sync said of a commit: how many files it read, its warnings and skipped documents. */
const said = (lines: { msg?: string; [k: string]: unknown }[], commit: string): unknown[] =>
  lines.filter((l) => l.commit === commit && (l.warnings !== undefined || l.skipped !== undefined || l.read !== undefined)).map((l) => ({ msg: l.msg, read: l.read, warnings: l.warnings, skipped: l.skipped }));
const kept = (lines: { msg?: string; [k: string]: unknown }[]): Promise<{ msg?: string; [k: string]: unknown }> =>
  waitFor(() => lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('kept the sealed commit')), { ...PROMPTLY, what: 'the kept state' });

/** A sync on a store of its own, started and stopped once the head sealed: what a restart finds. */
async function sealedStore(): Promise<Store> {
  const store = await connect();
  const first = await sync(store, await source(), captureLog().log);
  await recordOf(store, await repo.git('rev-parse', 'HEAD'));
  await stop(first);
  return store;
}

beforeAll(async () => {
  repo = await createRepo(inject('gitRoot'), uniqueName('restart'));
  dataDir = await mkdtemp(join(tmpdir(), 'berth-restart-'));
  for (let i = 0; i < FILES; i++) await repo.write(`apps/g${i % 4}/app-${i}.yaml`, app(i));
  await repo.write('config/pair.yaml', pair('debug'));
  await repo.write('web/ingress.yaml', ingress('web'));
  await repo.write('web/empty.yaml', '# nothing yet\n');
  await symlink('../apps/g0/app-0.yaml', join(repo.workDir, 'web/link.yaml'));
  await repo.commit('many files');
}, 60_000);

afterAll(async () => {
  for (const s of running) await s.stop();
  for (const s of stores) {
    for (const e of (await s.list('')).entries) await s.commit({ del: [e.key] });
    await s.close();
  }
  await repo.dispose();
  await rm(dataDir, { recursive: true, force: true });
});

describe('a sync restarted on a sealed commit', () => {
  let never: Store;
  let restarted: Store;
  const neverLog = captureLog();
  const restartLog = captureLog();
  let git: CountingSource;

  beforeAll(async () => {
    never = await connect();
    await sync(never, await source(), neverLog.log);
    restarted = await connect();
    const first = await sync(restarted, await source(), captureLog().log);
    const head = await repo.git('rev-parse', 'HEAD');
    await Promise.all([recordOf(never, head), recordOf(restarted, head)]);
    // Lines move, meanings do not: desired/ keeps the old lines, the running sync the new ones.
    await repo.write('config/pair.yaml', pair('debug', '# settings\n# and their reader\n'));
    const comment = await repo.commit('a comment');
    for (const s of running) s.kick();
    await Promise.all([recordOf(never, comment), recordOf(restarted, comment)]);
    await stop(first);
    git = await source();
    await sync(restarted, git, restartLog.log);
  }, 60_000);

  it('keeps the sealed commit as etcd has it, reading no blob', async () => {
    const line = await kept(restartLog.lines);
    expect(line).toMatchObject({ msg: 'kept the sealed commit as etcd has it', read: 0, files: FILES + 3 });
    expect(git.blobReads).toBe(0);
    const seal = decode('seal', sourceKey(SOURCE), (await restarted.get(sourceKey(SOURCE)))?.value ?? '');
    expect(seal.files?.count).toBe(FILES + 3);
    expect((await restarted.list(sealedFilesPrefix(SOURCE))).entries).toHaveLength(FILES + 3);
  });

  it('puts back a desired key deleted by hand as a sync that never stopped does (its line as the file has it now)', async () => {
    const key = desiredKey(SOURCE, 'ConfigMap/default/settings');
    for (const s of [never, restarted]) await s.commit({ del: [key] });
    for (const s of running) s.kick();
    const back = (into: Store) => waitFor(() => into.get(key), { ...PROMPTLY, what: 'the key put back' });
    const [a, b] = await Promise.all([back(never), back(restarted)]);
    expect(decode('desired', key, b.value).object).toEqual(decode('desired', key, a.value).object);
    expect(decode('desired', key, b.value).object.line).toBe(3);
  });

  it.each([
    ['one Deployment scaled', 'applied', () => repo.write('apps/g1/app-5.yaml', app(5, 3))],
    ['an object defined again in another file', 'rejected', () => repo.write('other/copy.yaml', app(7))],
    ['the ConfigMap the reader of the same file needs changed, a warning kept', 'applied', () => repo.write('config/pair.yaml', pair('info', '# settings\n# and their reader\n'))],
    ['a document of a skipped kind added to a file with one', 'applied', () => repo.write('web/ingress.yaml', `${ingress('web')}---\n${ingress('api')}`)],
    ['the file of two objects moved, its lines with it', 'applied', async () => {
      await repo.remove('config/pair.yaml');
      await repo.write('config/moved/pair.yaml', pair('info', '# moved\n'));
    }],
    ['a file removed', 'applied', () => repo.remove('apps/g2/app-6.yaml')],
  ] as const)('%s: %s as by a sync that never stopped', async (_what, outcome, change) => {
    const before = await repo.git('rev-parse', 'HEAD');
    await change();
    const commit = await repo.commit('next');
    for (const s of running) s.kick();
    const [a, b] = await Promise.all([recordOf(never, commit), recordOf(restarted, commit)]);
    expect(b.outcome).toBe(outcome);
    expect({ ...b, time: '' }).toEqual({ ...a, time: '' });
    expect(await objects(restarted)).toEqual(await objects(never));
    if (outcome === 'applied') {
      const applied = (lines: typeof neverLog.lines) => waitFor(() => lines.find((l) => l.commit === commit && typeof l.read === 'number'), { ...PROMPTLY, what: 'the applied log line' });
      const [read] = await Promise.all([applied(restartLog.lines), applied(neverLog.lines)]);
      // Read against the kept state: the changed files alone.
      expect(read.read).toBeLessThanOrEqual(2);
    }
    expect(said(restartLog.lines, commit)).toEqual(said(neverLog.lines, commit));
    if (outcome === 'rejected') {
      await repo.git('reset', '--hard', before);
      await repo.git('commit', '--allow-empty', '-m', 'taken back');
      const back = await repo.git('rev-parse', 'HEAD');
      for (const s of running) s.kick();
      expect((await recordOf(restarted, back)).outcome).toBe('applied');
      await recordOf(never, back);
    }
  }, 60_000);
});

/**
 * The seal moved to the latest revision, as a repair does: records edited by hand since are then part
 * of what it sealed (before, a restart reads the records as of the seal, and never sees the edit).
 */
async function reseal(store: Store): Promise<void> {
  const e = await store.get(sourceKey(SOURCE));
  const seal = decode('seal', sourceKey(SOURCE), e?.value ?? '');
  await store.commit({ put: [{ key: sourceKey(SOURCE), value: encode({ ...seal, revision: await store.revision() }) }] });
}

describe('file records a restart does not trust', () => {
  let scale = 1;
  it.each([
    ['missing, as an older berth left them', 'no file records', async (store: Store) => {
      const e = await store.get(sourceKey(SOURCE));
      const { files: _files, ...seal } = decode('seal', sourceKey(SOURCE), e?.value ?? '');
      await store.commit({ put: [{ key: sourceKey(SOURCE), value: encode(seal) }], del: (await store.list(sealedFilesPrefix(SOURCE))).entries.map((r) => r.key) });
    }],
    ['one deleted by hand, then sealed again', 'file records where the seal wrote', async (store: Store) => {
      await store.commit({ del: [sealedFileKey(SOURCE, 'apps/g1/app-1.yaml')] });
      await reseal(store);
    }],
    ['one naming another blob, then sealed again', "is not of the commit's blob", async (store: Store) => {
      const key = sealedFileKey(SOURCE, 'apps/g1/app-1.yaml');
      const r = decode('sealedFile', key, (await store.get(key))?.value ?? '');
      await store.commit({ put: [{ key, value: encode({ ...r, oid: '0'.repeat(40) }) }] });
      await reseal(store);
    }],
    ['checked with other --skip-kind', 'other options', async () => undefined, [...SKIP, 'CronJob']],
  ] as const)('%s: the commit is read whole from Git, and the next applies as a fresh sync would', async (_what, why, spoil, skipKinds: readonly string[] = SKIP) => {
    const store = await sealedStore();
    await spoil(store);
    const git = await source();
    const { log, lines } = captureLog();
    const s = await sync(store, git, log, [...skipKinds]);
    expect(await kept(lines)).toMatchObject({ msg: 'kept the sealed commit as read whole from Git', why: expect.stringContaining(why) as unknown });
    expect(git.blobReads).toBeGreaterThan(0);

    // The next commit is read against the commit read whole, and writes every record that differs.
    await repo.write('apps/g3/app-3.yaml', app(3, ++scale));
    const commit = await repo.commit('after a restart that read whole');
    s.kick();
    const fresh = await connect();
    const whole = await sync(fresh, await source(), captureLog().log, [...skipKinds]);
    const [a, b] = await Promise.all([recordOf(fresh, commit), recordOf(store, commit)]);
    expect([a.outcome, b.outcome]).toEqual(['applied', 'applied']);
    expect(b.counts).toMatchObject({ created: 0, updated: 1, deleted: 0 });
    expect(await objects(store)).toEqual(await objects(fresh));
    const records = async (into: Store): Promise<unknown[]> => (await into.list(sealedFilesPrefix(SOURCE))).entries.map((e) => [e.key, e.value]);
    expect(await records(store)).toEqual(await records(fresh));
    await stop(whole);
    await stop(s);
  }, 60_000);
});
