import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BerthError, InvalidInputError, UnavailableError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import { EtcdStore, outboxPrefix, sourceKey, syncErrorKey, decode, type OutboxRecord, type Store } from '../../../src/store/index.js';
import { ForgeStatusReporter, GitSource, chooseReporter, forgeTarget, startSync, type ForgeKind } from '../../../src/sync/index.js';
import { startFakeForge, type FakeForge } from '../../support/forge.js';
import { uniqueName } from '../../support/names.js';
import { createRepo } from '../../support/repo.js';
import { waitFor } from '../../support/wait.js';

const TOKEN = 'forge-token-7f3a';
const SHA = 'a'.repeat(40);
const entry = (context: OutboxRecord['context'], state: OutboxRecord['state'], description: string, commit = SHA): OutboxRecord =>
  ({ type: 'outbox', source: 's', commit, context, state, description, time: '2026-11-30T06:00:00.000Z' });

let forge: FakeForge;
beforeAll(async () => {
  forge = await startFakeForge();
});
afterAll(async () => {
  await forge.stop();
});

const reporter = (kind: ForgeKind, repo: string, api: string): ForgeStatusReporter =>
  new ForgeStatusReporter({ target: forgeTarget(kind, repo, `${forge.url}${api}`), token: () => Promise.resolve(TOKEN) });

async function failure(p: Promise<unknown>): Promise<BerthError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  if (!(err instanceof BerthError)) throw new Error(`expected a BerthError, got ${String(err)}`);
  return err;
}

// Each forge's commit-status API as its public docs state it: path, auth headers, body.
describe('commit statuses on a forge (contract with a loopback stand-in)', () => {
  it.each([
    {
      kind: 'github' as const, repo: 'https://github.example.com/team/deploy.git', api: '/api/v3',
      path: `/api/v3/repos/team/deploy/statuses/${SHA}`,
      headers: { authorization: `Bearer ${TOKEN}`, accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28', 'content-type': 'application/json' },
      bodies: [{ state: 'success', description: 'applied: 1 object', context: 'berth/sync' }, { state: 'pending', description: 'rolling out: 0/1 ready', context: 'berth/health' }, { state: 'failure', description: 'crash loop', context: 'berth/health' }],
    },
    {
      kind: 'gitea' as const, repo: 'https://gitea.example.com/team/deploy.git', api: '/api/v1',
      path: `/api/v1/repos/team/deploy/statuses/${SHA}`,
      headers: { authorization: `token ${TOKEN}`, accept: 'application/json', 'content-type': 'application/json' },
      bodies: [{ state: 'success', description: 'applied: 1 object', context: 'berth/sync' }, { state: 'pending', description: 'rolling out: 0/1 ready', context: 'berth/health' }, { state: 'failure', description: 'crash loop', context: 'berth/health' }],
    },
    {
      kind: 'gitlab' as const, repo: 'https://gitlab.example.com/group/sub/deploy.git', api: '/api/v4',
      path: `/api/v4/projects/group%2Fsub%2Fdeploy/statuses/${SHA}`,
      headers: { 'private-token': TOKEN, accept: 'application/json', 'content-type': 'application/json' },
      bodies: [{ state: 'success', name: 'berth/sync', description: 'applied: 1 object' }, { state: 'pending', name: 'berth/health', description: 'rolling out: 0/1 ready' }, { state: 'failed', name: 'berth/health', description: 'crash loop' }],
    },
  ])('$kind: one POST per status, in order, with its auth header', async ({ kind, repo, api, path, headers, bodies }) => {
    forge.calls.length = 0;
    const r = reporter(kind, repo, api);
    await r.report([entry('berth/sync', 'success', 'applied: 1 object'), entry('berth/health', 'pending', 'rolling out: 0/1 ready'), entry('berth/health', 'failure', 'crash loop')]);
    const posts = forge.calls.filter((c) => c.method === 'POST');
    expect(posts.map((c) => c.path)).toEqual([path, path, path]);
    expect(posts.map((c) => c.body)).toEqual(bodies);
    for (const c of posts) expect(c.headers).toMatchObject(headers);
    // GitLab: the current state of each name is read before each POST.
    if (kind === 'gitlab') expect(forge.calls.filter((c) => c.method === 'GET').map((c) => c.path)).toEqual([`/api/v4/projects/group%2Fsub%2Fdeploy/repository/commits/${SHA}/statuses?name=berth%2Fsync`, `/api/v4/projects/group%2Fsub%2Fdeploy/repository/commits/${SHA}/statuses?name=berth%2Fhealth`, `/api/v4/projects/group%2Fsub%2Fdeploy/repository/commits/${SHA}/statuses?name=berth%2Fhealth`]);
    // What a sync whose send a crash cut short asks before sending again: is it there already?
    expect(await r.arrived(entry('berth/health', 'failure', 'crash loop'))).toBe(true);
    expect(await r.arrived(entry('berth/health', 'success', '1/1 ready'))).toBe(false);
  });

  it('links each status to its commit\'s story under --public-url, and suffixes the contexts', async () => {
    forge.calls.length = 0;
    const r = new ForgeStatusReporter({
      target: forgeTarget('gitea', 'https://gitea.example.com/team/deploy', `${forge.url}/api/v1`), token: () => Promise.resolve(TOKEN),
      publicUrl: 'https://berth.example.com/', contextSuffix: 'prod',
    });
    await r.report([entry('berth/health', 'success', '1/1 ready')]);
    expect(forge.calls.map((c) => c.body)).toEqual([{ state: 'success', description: '1/1 ready', context: 'berth/health/prod', target_url: `https://berth.example.com/api/v1/sources/s/commits/${SHA}` }]);
  });

  it('does not send an update identical to the last one of its commit and context', async () => {
    forge.calls.length = 0;
    const r = reporter('github', 'https://github.example.com/team/deploy', '/api/v3');
    await r.report([entry('berth/health', 'pending', 'rolling out: 0/2 ready')]);
    await r.report([entry('berth/health', 'pending', 'rolling out: 0/2 ready'), entry('berth/health', 'pending', 'rolling out: 1/2 ready')]);
    expect(forge.calls.map((c) => (c.body as { description: string }).description)).toEqual(['rolling out: 0/2 ready', 'rolling out: 1/2 ready']);
  });

  it('gitlab: a state equal to the current one counts as delivered, never as GitLab\'s transition error', async () => {
    forge.calls.length = 0;
    const sha = 'b'.repeat(40);
    const r = reporter('gitlab', 'https://gitlab.example.com/team/deploy', '/api/v4');
    await r.report([entry('berth/health', 'pending', 'rolling out: 0/2 ready', sha), entry('berth/health', 'pending', 'rolling out: 1/2 ready', sha), entry('berth/health', 'success', '2/2 ready', sha)]);
    const posts = forge.calls.filter((c) => c.method === 'POST').map((c) => (c.body as { state: string }).state);
    expect(posts).toEqual(['pending', 'success']);
    // A second reporter (a restarted berth) sending the same pending again is not refused either.
    forge.calls.length = 0;
    const sha2 = 'c'.repeat(40);
    await reporter('gitlab', 'https://gitlab.example.com/team/deploy', '/api/v4').report([entry('berth/sync', 'pending', 'x', sha2)]);
    await reporter('gitlab', 'https://gitlab.example.com/team/deploy', '/api/v4').report([entry('berth/sync', 'pending', 'x', sha2)]);
    expect(forge.calls.filter((c) => c.method === 'POST')).toHaveLength(1);
  });

  it.each([
    [401, InvalidInputError, /^the github API refused POST http:\/\/127\.0\.0\.1:\d+\/api\/v3\/repos\/team\/deploy\/statuses\/a+ \(HTTP 401\): .*; check the token in --forge-token-file/],
    [404, InvalidInputError, /\(HTTP 404\): .*; check --forge-url and the repository URL/],
    [503, UnavailableError, /^the github API answered POST .* with HTTP 503: .*; the statuses wait in the outbox; berth retries$/],
  ])('HTTP %i is %o, never naming the token', async (status, kind, message) => {
    forge.answer = status;
    try {
      const err = await failure(reporter('github', 'https://github.example.com/team/deploy', '/api/v3').report([entry('berth/sync', 'success', 'ok')]));
      expect(err).toBeInstanceOf(kind);
      expect(err.toLine()).toMatch(message);
      expect(err.toLine()).not.toContain(TOKEN);
    } finally {
      forge.answer = undefined;
    }
  });

  it('refuses a repository URL that names no owner and repository', () => {
    expect(() => forgeTarget('github', 'https://github.com/deploy.git')).toThrow('--status github needs the repository\'s https URL on the forge (…/owner/name), not https://github.com/deploy.git');
    expect(forgeTarget('github', 'https://u:p@github.com/team/deploy.git')).toEqual({ kind: 'github', apiBase: 'https://api.github.com', repoPath: 'team/deploy' });
    expect(forgeTarget('gitea', 'http://git.lan:3000/team/deploy')).toEqual({ kind: 'gitea', apiBase: 'http://git.lan:3000/api/v1', repoPath: 'team/deploy' });
  });
});

describe('chooseReporter', () => {
  it('delivers to git notes and a forge both when both are asked for, and refuses what cannot go together', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'berth-choose-'));
    try {
      const tokenFile = join(dir, 'token');
      await writeFile(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
      const noted: OutboxRecord[] = [];
      const notes = (): { report: (e: OutboxRecord[]) => Promise<void> } => ({ report: async (e) => void noted.push(...e) });
      const repo = 'https://github.example.com/team/deploy';
      forge.calls.length = 0;
      const both = await chooseReporter({ status: ['git-notes', 'github'], repo, forgeUrl: `${forge.url}/api/v3`, forgeTokenFile: tokenFile, notes });
      const one = entry('berth/sync', 'success', 'both', 'd'.repeat(40));
      await both?.report([one]);
      expect(forge.calls).toEqual([]); // the forge is sent each entry once, by the outbox, after the notes have it
      expect(await both?.once?.arrived(one)).toBe(false);
      await both?.once?.send(one);
      expect(await both?.once?.arrived(one)).toBe(true);
      expect(noted.map((e) => e.description)).toEqual(['both']);
      expect(forge.calls.filter((c) => c.method === 'POST').map((c) => (c.body as { description: string }).description)).toEqual(['both']);
      expect(await chooseReporter({ status: ['git-notes'], repo, notes })).toBeUndefined();
      await expect(chooseReporter({ status: ['none', 'github'], repo, forgeTokenFile: tokenFile, notes })).rejects.toThrow('--status none cannot go with --status github');
      await expect(chooseReporter({ status: ['github', 'gitlab'], repo, forgeTokenFile: tokenFile, notes })).rejects.toThrow('one forge per source: --status github and gitlab');
      await writeFile(join(dir, 'open'), TOKEN, { mode: 0o644 });
      await expect(chooseReporter({ status: ['github'], repo, forgeTokenFile: join(dir, 'open'), notes })).rejects.toThrow(/token file .*open is open to others \(mode 0644\)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// A forge that refuses the token is the source's error (berth status), and stops being it once the
// statuses go through.
describe('a forge that refuses the statuses', () => {
  it('shows as the source\'s error until a delivery succeeds', async () => {
    const repo = await createRepo(inject('gitRoot'), uniqueName('refused'));
    const dataDir = await mkdtemp(join(tmpdir(), 'berth-refused-'));
    const store: Store = await EtcdStore.connect([inject('etcdEndpoint')], `/${uniqueName('refused')}`);
    forge.answer = 401;
    try {
      await repo.write('a.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: v}\n');
      await repo.commit('a');
      const sync = await startSync({
        store, log: silentLogger(), source: 'r', intervalMs: 60_000,
        git: new GitSource({ repo: repo.workDir, branch: 'main', path: '.', dataDir }),
        reporter: new ForgeStatusReporter({ target: forgeTarget('github', 'https://github.example.com/team/deploy', `${forge.url}/api/v3`), token: () => Promise.resolve(TOKEN) }),
      });
      try {
        const error = await waitFor(async () => {
          const e = await store.get(syncErrorKey('r'));
          return e && decode('syncError', e.key, e.value);
        }, { timeoutMs: 20_000, what: 'the source\'s error' });
        expect(error.code).toBe('EFORGEREFUSED');
        expect(error.permanent).toBe(true);
        expect(error.message).toMatch(/^cannot deliver commit statuses: the github API refused POST .* \(HTTP 401\)/);
        expect(error.message).not.toContain(TOKEN);
        forge.answer = undefined;
        sync.kick();
        await waitFor(async () => (await store.get(syncErrorKey('r'))) === undefined, { timeoutMs: 20_000, what: 'the error to clear' });
      } finally {
        await sync.stop();
      }
    } finally {
      forge.answer = undefined;
      for (const e of (await store.list('')).entries) await store.commit({ del: [e.key] });
      await store.close();
      await repo.dispose();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

// The outbox delivers forge statuses as it delivers git notes: a forge outage and a berth restart
// lose none and reorder none.
describe('forge statuses through the outbox', () => {
  it('delivers every status in order after the forge was down and sync restarted', async () => {
    const down = await startFakeForge();
    await down.stop();
    const repo = await createRepo(inject('gitRoot'), uniqueName('forge'));
    const dataDir = await mkdtemp(join(tmpdir(), 'berth-forge-'));
    const store: Store = await EtcdStore.connect([inject('etcdEndpoint')], `/${uniqueName('forge')}`);
    try {
      const start = (): ReturnType<typeof startSync> => startSync({
        store, log: silentLogger(), source: 'f', intervalMs: 60_000,
        git: new GitSource({ repo: repo.workDir, branch: 'main', path: '.', dataDir }),
        reporter: new ForgeStatusReporter({ target: forgeTarget('github', 'https://github.example.com/team/deploy', `${down.url}/api/v3`), token: () => Promise.resolve(TOKEN) }),
      });
      const sealed = (sha: string) => async (): Promise<boolean> => {
        const e = await store.get(sourceKey('f'));
        return e !== undefined && decode('seal', e.key, e.value).commit === sha;
      };
      let sync: Awaited<ReturnType<typeof startSync>> | undefined;
      const commits: string[] = [];
      for (const name of ['a', 'b', 'c']) {
        await repo.write(`${name}.yaml`, `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {k: v}\n`);
        commits.push(await repo.commit(name));
        sync ??= await start();
        if (name === 'b') {
          // A broken commit in the middle: its failure status must arrive in its place too.
          await repo.write('bad.yaml', 'kind: Nonsense\n');
          commits.push(await repo.commit('broken'));
          await waitFor(async () => (await store.list(outboxPrefix('f'))).entries.length >= commits.length, { timeoutMs: 20_000, what: 'the rejection in the outbox' });
          await repo.remove('bad.yaml');
          commits.push(await repo.commit('fixed'));
        }
        await waitFor(sealed(commits.at(-1) ?? ''), { timeoutMs: 20_000, what: `commit ${name} sealed` });
        if (name === 'b') {
          await sync.stop();
          sync = await start();
        }
      }
      expect((await store.list(outboxPrefix('f'))).entries).toHaveLength(commits.length);
      await down.start();
      sync?.kick();
      await waitFor(async () => (await store.list(outboxPrefix('f'))).entries.length === 0, { timeoutMs: 30_000, what: 'an empty outbox' });
      await sync?.stop();
      const posted = down.calls.filter((c) => c.method === 'POST').map((c) => [c.path.split('/').at(-1), (c.body as { state: string }).state]);
      expect(posted).toEqual(commits.map((sha, i) => [sha, i === 2 ? 'failure' : 'success']));
    } finally {
      await down.stop();
      for (const e of (await store.list('')).entries) await store.commit({ del: [e.key] });
      await store.close();
      await repo.dispose();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
