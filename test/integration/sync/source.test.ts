import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { InvalidInputError } from '../../../src/errors.js';
import { GitSource, type GitSourceOptions } from '../../../src/sync/index.js';
import { uniqueName } from '../../support/names.js';
import { createRepo, type TestRepo } from '../../support/repo.js';

// What the seeded repository holds: manifests at several depths, files that are not manifests,
// and manifests outside `apps/`. File texts need not be valid manifests: GitSource does not parse.
const FILES: Record<string, string> = {
  'root.yaml': 'root: 1\n',
  'other/x.yaml': 'other: 1\n',
  'apps/web.yaml': 'web: 1\n',
  'apps/config.json': '{"config": 1}\n',
  'apps/README.md': '# not a manifest\n',
  'apps/notes.txt': 'not a manifest\n',
  'apps/web.yaml.orig': 'not a manifest either\n',
  'apps/nested/deep/api.yml': 'api: 1\n',
  'apps/nested/deep/more/db.yaml': 'db: 1\n',
};
const MESSAGE = 'Add apps\n\nWith a body line.';
const AUTHOR = 'Berth Test <test@berth.invalid>';
const run = promisify(execFile);

/** The files and commit every source of this file starts from; branches main and release, both pushed. */
async function seed(repo: TestRepo): Promise<string> {
  for (const [path, text] of Object.entries(FILES)) await repo.write(path, text);
  const commit = await repo.commit(MESSAGE);
  await repo.git('branch', 'release');
  await repo.git('push', '--quiet', 'origin', 'main', 'release');
  return commit;
}

/** Every file under `dir` with its size and mtime: what a fetch would change. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of await readdir(dir, { recursive: true })) {
    const s = await stat(join(dir, name));
    out.push(`${name} ${s.size} ${s.mtimeMs}`);
  }
  return out.sort();
}

/** The commits in every pack of `gitdir`, once per pack that holds one. */
async function packedCommits(gitdir: string): Promise<string[]> {
  const dir = join(gitdir, 'objects', 'pack');
  const out: string[] = [];
  for (const idx of (await readdir(dir)).filter((f) => f.endsWith('.idx'))) {
    const { stdout } = await run('git', ['--git-dir', gitdir, 'verify-pack', '-v', join(dir, idx)]);
    for (const line of stdout.split('\n')) if (/^[0-9a-f]{40} commit /.test(line)) out.push(line.slice(0, 40));
  }
  return out;
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function newRepo(): Promise<TestRepo> {
  const repo = await createRepo(inject('gitRoot'), uniqueName('source'));
  cleanups.push(() => repo.dispose());
  return repo;
}

async function newDataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-source-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

type Where = (repo: TestRepo) => string;
const kinds: [string, Where][] = [
  ['a local work tree', (r) => r.workDir],
  ['a bare repository path', (r) => r.bareDir],
  ['a smart-HTTP remote', (r) => r.url(inject('gitBaseUrl'))],
];

describe.each(kinds)('GitSource on %s', (_kind, where) => {
  let repo: TestRepo;
  let commit: string;
  let dataDir: string;
  const source = (o: Partial<GitSourceOptions> = {}): GitSource => new GitSource({ repo: where(repo), branch: 'main', path: '.', dataDir, ...o });

  beforeAll(async () => {
    repo = await newRepo();
    dataDir = await newDataDir();
    commit = await seed(repo);
  });

  it('reads the head commit of the branch: sha, author, message, commit time', async () => {
    const committed = new Date(await repo.git('log', '-1', '--format=%cI')).toISOString();
    expect(await source().head()).toEqual({ commit, author: AUTHOR, message: MESSAGE, time: committed });
  });

  it.each([
    ['.', ['apps/config.json', 'apps/nested/deep/api.yml', 'apps/nested/deep/more/db.yaml', 'apps/web.yaml', 'other/x.yaml', 'root.yaml']],
    ['apps', ['apps/config.json', 'apps/nested/deep/api.yml', 'apps/nested/deep/more/db.yaml', 'apps/web.yaml']],
    ['./apps/', ['apps/config.json', 'apps/nested/deep/api.yml', 'apps/nested/deep/more/db.yaml', 'apps/web.yaml']],
    ['apps/nested', ['apps/nested/deep/api.yml', 'apps/nested/deep/more/db.yaml']],
    ['apps/nested/deep/more', ['apps/nested/deep/more/db.yaml']],
  ])('with path %j, lists only .yaml/.yml/.json files under it, by repository-root path', async (path, expected) => {
    const { files, skipped, errors } = await source({ path }).files(commit);
    expect(files.map((f) => f.path)).toEqual(expected);
    for (const f of files) expect(Buffer.from(f.bytes).toString('utf8')).toBe(FILES[f.path]);
    expect({ skipped, errors }).toEqual({ skipped: [], errors: [] });
  });

  it('names a path that does not exist in the commit', async () => {
    const err = await source({ path: 'apps/missing' }).files(commit).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err).toMatchObject({ code: 'ENOPATH', message: expect.stringContaining("path 'apps/missing' does not exist") });
  });

  it('names the branches there are when the branch is missing', async () => {
    const err = await source({ branch: 'nope' }).head().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect(err).toMatchObject({ code: 'ENOBRANCH', message: expect.stringMatching(/branch 'nope' not found in .*: it has main, release$/) });
  });

  it('reads another branch', async () => {
    await repo.git('checkout', '--quiet', 'release');
    try {
      await repo.write('apps/release.yaml', 'release: 1\n');
      const released = await repo.commit('release only');
      await repo.git('push', '--quiet', 'origin', 'release');
      const s = source({ branch: 'release', path: 'apps' });
      expect((await s.head()).commit).toBe(released);
      expect((await s.files(released)).files.map((f) => f.path)).toContain('apps/release.yaml');
      expect((await source().head()).commit).toBe(commit);
    } finally {
      await repo.git('checkout', '--quiet', 'main');
    }
  });
});

describe('GitSource on a local repository', () => {
  it('reads commits, not the work tree: uncommitted files are not listed', async () => {
    const repo = await newRepo();
    const commit = await seed(repo);
    await repo.write('apps/uncommitted.yaml', 'x: 1\n');
    await repo.remove('apps/web.yaml');
    const s = new GitSource({ repo: repo.workDir, branch: 'main', path: 'apps', dataDir: await newDataDir() });
    expect((await s.head()).commit).toBe(commit);
    expect((await s.files(commit)).files.map((f) => f.path)).toEqual(['apps/config.json', 'apps/nested/deep/api.yml', 'apps/nested/deep/more/db.yaml', 'apps/web.yaml']);
  });

  it.each([
    ['work tree', (r: TestRepo) => r.workDir, (_r: TestRepo) => ['pack-refs', '--all']],
    ['bare repository', (r: TestRepo) => r.bareDir, (r: TestRepo) => [`--git-dir=${r.bareDir}`, 'pack-refs', '--all']],
  ])('resolves the head after `git pack-refs --all` (%s), and a loose ref written after it', async (_kind, where, packRefs) => {
    const repo = await newRepo();
    const commit = await seed(repo);
    const s = new GitSource({ repo: where(repo), branch: 'main', path: '.', dataDir: await newDataDir() });
    const gitdir = s.localGitdir ?? '';
    await stat(join(gitdir, 'refs/heads/main')); // loose before

    await repo.git(...packRefs(repo));
    await expect(stat(join(gitdir, 'refs/heads/main'))).rejects.toThrow(/ENOENT/);
    expect((await s.head()).commit).toBe(commit);

    await repo.write('apps/later.yaml', 'later: 1\n');
    const later = await repo.commit('later');
    await repo.push();
    expect((await s.head()).commit).toBe(later);
  });

  it('says a folder that is not a repository is not one', async () => {
    const dir = await newDataDir();
    expect(() => new GitSource({ repo: dir, branch: 'main', path: '.', dataDir: dir })).toThrow(InvalidInputError);
    expect(() => new GitSource({ repo: dir, branch: 'main', path: '.', dataDir: dir })).toThrow(`${dir} is not a Git repository`);
  });
});

describe('GitSource on a smart-HTTP remote', () => {
  it('fetches a second push, and fetches nothing when polled without a new commit', async () => {
    const repo = await newRepo();
    const first = await seed(repo);
    const dataDir = await newDataDir();
    const s = new GitSource({ repo: repo.url(inject('gitBaseUrl')), branch: 'main', path: 'apps', dataDir });
    expect((await s.head()).commit).toBe(first);

    await repo.write('apps/second.yaml', 'second: 1\n');
    await repo.remove('apps/web.yaml');
    const second = await repo.commit('second push');
    await repo.push();

    expect(await s.head()).toMatchObject({ commit: second, message: 'second push' });
    expect((await s.files(second)).files.map((f) => f.path)).toEqual(['apps/config.json', 'apps/nested/deep/api.yml', 'apps/nested/deep/more/db.yaml', 'apps/second.yaml']);
    // The first commit is still readable from the mirror.
    expect((await s.files(first)).files.map((f) => f.path)).toContain('apps/web.yaml');

    const mirror = await snapshot(dataDir);
    expect((await s.head()).commit).toBe(second);
    expect((await s.head()).commit).toBe(second);
    expect(await snapshot(dataDir)).toEqual(mirror);
  });

  it('fetches a new mirror shallow, every later commit whole, and older history only when a commit of it is asked for', async () => {
    const repo = await newRepo();
    const commits: string[] = [];
    for (let i = 0; i < 5; i++) {
      await repo.write(`apps/c${i}.yaml`, `c: ${i}\n`);
      commits.push(await repo.commit(`commit ${i}`));
    }
    await repo.push();
    const dataDir = await newDataDir();
    const s = new GitSource({ repo: repo.url(inject('gitBaseUrl')), branch: 'main', path: 'apps', dataDir });
    const [c0, , , , c4] = commits as [string, string, string, string, string];
    expect((await s.head()).commit).toBe(c4);
    const [mirror] = await readdir(join(dataDir, 'repos'));
    const shallowFile = join(dataDir, 'repos', mirror ?? '', 'shallow');
    const shallow = async (): Promise<string> => (await readFile(shallowFile, 'utf8').catch(() => '')).trim();
    // The head alone: its parent is not here, so whether it descends from c0 cannot be told.
    expect(await shallow()).toBe(c4);
    expect(await s.descends(c4, c0)).toBeUndefined();

    await repo.write('apps/c5.yaml', 'c: 5\n');
    const c5 = await repo.commit('commit 5');
    await repo.write('apps/c6.yaml', 'c: 6\n');
    const c6 = await repo.commit('commit 6');
    await repo.push();
    expect((await s.head()).commit).toBe(c6);
    // Every commit since the mirror's head came, so the history from there on is whole; and only
    // those came: no commit is in two packs (each fetch brought the whole history once).
    expect(await s.descends(c6, c4)).toBe(true);
    const packed = await packedCommits(join(dataDir, 'repos', mirror ?? ''));
    expect(packed.sort()).toEqual([c4, c5, c6].sort());
    expect((await s.commit(c5)).message).toBe('commit 5');
    expect(await shallow()).toBe(c4);

    // An older commit (a pinned one, a rollback's target): the whole history is fetched once.
    expect((await s.commit(c0)).message).toBe('commit 0');
    expect(await shallow()).toBe('');
    expect(await s.descends(c6, c0)).toBe(true);
    await expect(s.commit('f'.repeat(40))).rejects.toMatchObject({ code: 'ENOCOMMIT' });
  });

  it('merges the small packs of a mirror past its number of packs into one when asked, keeping every object', async () => {
    const repo = await newRepo();
    const commits = [await seed(repo)];
    const dataDir = await newDataDir();
    const s = new GitSource({ repo: repo.url(inject('gitBaseUrl')), branch: 'main', path: 'apps', dataDir, maxPacks: 3 });
    await s.head();
    const [name] = await readdir(join(dataDir, 'repos'));
    const mirror = join(dataDir, 'repos', name ?? '');
    const packs = async (): Promise<number> => (await readdir(join(mirror, 'objects', 'pack'))).filter((f) => f.endsWith('.pack')).length;
    const counts: number[] = [];
    for (let i = 0; i < 4; i++) {
      await repo.write(`apps/n${i}.yaml`, `n: ${i}\n`);
      commits.push(await repo.commit(`n${i}`));
      await repo.push();
      await s.head();
      // A fetch never repacks (sync asks once the commit's outcome is recorded).
      const fetched = await packs();
      counts.push(fetched, (await s.repack()) ? await packs() : fetched);
    }
    // One pack a fetch, until a fourth: all in one; then one more.
    expect(counts).toEqual([2, 2, 3, 3, 4, 1, 2, 2]);
    expect((await packedCommits(mirror)).sort()).toEqual([...commits].sort());
    for (const [i, c] of commits.entries()) {
      expect((await s.commit(c)).commit).toBe(c);
      expect((await s.files(c)).files).toHaveLength(4 + i);
    }
    await run('git', ['--git-dir', mirror, 'fsck', '--connectivity-only', '--no-progress']);
  });

  it('keeps one mirror per repository URL across GitSource instances (a restart)', async () => {
    const repo = await newRepo();
    const commit = await seed(repo);
    const dataDir = await newDataDir();
    const opts: GitSourceOptions = { repo: repo.url(inject('gitBaseUrl')), branch: 'main', path: '.', dataDir };
    expect((await new GitSource(opts).head()).commit).toBe(commit);
    const mirror = await snapshot(dataDir);

    expect((await new GitSource(opts).head()).commit).toBe(commit);
    expect(await snapshot(dataDir)).toEqual(mirror);
  });
});
