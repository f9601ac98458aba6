import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { EtcdStore, decode, desiredPrefix, historyPrefix, type HistoryRecord, type Store } from '../../../src/store/index.js';
import { GitSource, startSync, type Sync } from '../../../src/sync/index.js';
import { uniqueName } from '../../support/names.js';
import { createRepo, type TestRepo } from '../../support/repo.js';
import { waitFor } from '../../support/wait.js';
import { captureLog } from '../../unit/scheduler/harness.js';

// A sync that keeps running reads each one-file commit against its last seal (only the changed file
// is read and checked, and only what it holds is checked against the other files). A sync started
// fresh on the same commit reads it whole. Both must apply the same objects and reject with the same
// errors: an object defined again in another file, a ConfigMap that a Deployment of an unchanged
// file no longer finds, a nodePort another file holds.

const SOURCE = 'main';
const FILES = 120;
const PROMPTLY = { timeoutMs: 30_000 };

const app = (i: number, replicas = 1): string =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app-${i}}\nspec:\n  replicas: ${replicas}\n  selector: {matchLabels: {app: a${i}}}\n  template:\n    metadata: {labels: {app: a${i}}}\n    spec:\n      containers:\n      - {name: a, image: 'busybox:1', command: [sleep, '1000']}\n`;
const reader = (i: number): string =>
  `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: reader-${i}}\nspec:\n  selector: {matchLabels: {app: r${i}}}\n  template:\n    metadata: {labels: {app: r${i}}}\n    spec:\n      containers:\n      - name: a\n        image: busybox:1\n        env: [{name: LEVEL, valueFrom: {configMapKeyRef: {name: settings, key: level}}}]\n`;
const settings = (key: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {${key}: debug}\n`;
const service = (name: string, nodePort: number): string =>
  `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}}\nspec:\n  type: NodePort\n  selector: {app: a0}\n  ports: [{port: 80, nodePort: ${nodePort}}]\n`;

let repo: TestRepo;
let dataDir: string;
const stores: Store[] = [];
let running: Sync;
let store: Store;
const { log, lines } = captureLog();

const connect = async (): Promise<Store> => {
  const s = await EtcdStore.connect([inject('etcdEndpoint')], `/${uniqueName('incsync')}`);
  stores.push(s);
  return s;
};
const sync = async (into: Store, logTo = silentLogger()): Promise<Sync> =>
  startSync({ store: into, log: logTo, git: new GitSource({ repo: repo.workDir, branch: 'main', path: '.', dataDir: await mkdtemp(join(dataDir, 's-')) }), source: SOURCE, intervalMs: 60_000 });
const recordOf = (into: Store, commit: string): Promise<HistoryRecord> =>
  waitFor(async () => (await into.list(historyPrefix(SOURCE))).entries.map((e) => decode('history', e.key, e.value)).find((h) => h.commit === commit), { ...PROMPTLY, what: `the record of ${commit.slice(0, 7)}` });
/** The applied objects, without the commit that wrote each record (the running sync writes only what changed). */
const objects = async (into: Store): Promise<unknown[]> => (await into.list(desiredPrefix(SOURCE))).entries.map((e) => decode('desired', e.key, e.value).object);

beforeAll(async () => {
  repo = await createRepo(inject('gitRoot'), uniqueName('incsync'));
  dataDir = await mkdtemp(join(tmpdir(), 'berth-incsync-'));
  for (let i = 0; i < FILES; i++) await repo.write(`apps/g${i % 6}/app-${i}.yaml`, app(i));
  await repo.write('config/settings.yaml', settings('level'));
  for (let i = 0; i < 3; i++) await repo.write(`readers/reader-${i}.yaml`, reader(i));
  await repo.write('net/web.yaml', service('web', 30080));
  const first = await repo.commit('many files');
  store = await connect();
  running = await sync(store, log);
  expect((await recordOf(store, first)).outcome).toBe('applied');
}, 120_000);

afterAll(async () => {
  await running.stop();
  for (const s of stores) {
    for (const e of (await s.list('')).entries) await s.commit({ del: [e.key] });
    await s.close();
  }
  await repo.dispose();
  await rm(dataDir, { recursive: true, force: true });
});

describe('a one-file commit among many, read against the last seal', () => {
  it.each([
    ['one Deployment scaled', 'applied', () => repo.write('apps/g3/app-9.yaml', app(9, 3))],
    ['an object defined again in a new file', 'rejected', () => repo.write('other/copy.yaml', app(42))],
    ['the ConfigMap losing the key Deployments of unchanged files read', 'rejected', () => repo.write('config/settings.yaml', settings('verbosity'))],
    ['a Service asking for the nodePort of another file', 'rejected', () => repo.write('net/api.yaml', service('api', 30080))],
    ['the ConfigMap moved to another file', 'applied', async () => {
      await repo.remove('config/settings.yaml');
      await repo.write('config/moved/settings.yaml', settings('level'));
    }],
  ] as const)('%s: %s as a whole read of the same commit', async (_what, outcome, change) => {
    const before = await repo.git('rev-parse', 'HEAD');
    await change();
    const commit = await repo.commit('one file');
    running.kick();
    const incremental = await recordOf(store, commit);

    const fresh = await connect();
    const whole = await sync(fresh);
    try {
      const full = await recordOf(fresh, commit);
      expect(incremental.outcome).toBe(outcome);
      expect(full.outcome).toBe(outcome);
      expect(incremental.errors).toEqual(full.errors);
      if (outcome === 'applied') {
        expect(await objects(store)).toEqual(await objects(fresh));
        // The running sync read the changed files alone.
        const applied = await waitFor(() => lines.find((l) => l.commit === commit && typeof l.read === 'number'), { ...PROMPTLY, what: 'the applied log line' });
        expect(applied.read).toBeLessThanOrEqual(2);
        expect(applied.files).toBe(FILES + 5);
      }
    } finally {
      await whole.stop();
    }
    // A rejected change is taken back, so the next row starts from a tree that applies.
    if (outcome === 'rejected') {
      await repo.git('reset', '--hard', before);
      await repo.git('commit', '--allow-empty', '-m', 'taken back');
      const back = await repo.git('rev-parse', 'HEAD');
      running.kick();
      expect((await recordOf(store, back)).outcome).toBe('applied');
    }
  }, 120_000);
});
