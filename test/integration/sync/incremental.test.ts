import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GitSource } from '../../../src/sync/source.js';
import { checkTree, type TreeCheck } from '../../../src/sync/check.js';
import { readTreeFiles } from '../../../src/sync/tree.js';
import { checkAgainst, checkBlobs, fullState, type TreeAccess, type TreeState } from '../../../src/sync/incremental.js';
import { planDesired } from '../../../src/manifest/index.js';
import { deploymentYaml } from '../../support/manifests.js';

// Incremental sync must give what a full read of the same commit gives: random commit sequences
// (add, modify, delete, rename files, move folders, break a file, define an object twice, links),
// each checked against the last accepted commit's state and compared with a full parse.

const exec = promisify(execFile);
const env = {
  ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', HOME: os.tmpdir(),
  GIT_AUTHOR_NAME: 'Berth Test', GIT_AUTHOR_EMAIL: 'test@berth.invalid', GIT_COMMITTER_NAME: 'Berth Test', GIT_COMMITTER_EMAIL: 'test@berth.invalid',
};
const gitIn = (cwd: string) => async (...args: string[]): Promise<string> => (await exec('git', args, { cwd, env })).stdout.trim();

/** A small deterministic generator (mulberry32), so a failing seed can be run again. */
function random(seed: number): { int(n: number): number; pick<T>(xs: readonly T[]): T } {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { int: (n) => Math.floor(next() * n), pick: (xs) => xs[Math.floor(next() * xs.length)] as (typeof xs)[number] };
}

let dir: string;
/** What the tree's links point at: outside every work tree, and checked unchanged after the run. */
let outside: string;
const OUTSIDE = 'a file outside the repository: never read, never written\n';
beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-incremental-'));
  outside = path.join(dir, 'outside.yaml');
  await fs.writeFile(outside, OUTSIDE);
});
afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const FOLDERS = ['apps', 'apps/web', 'apps/web/v2', 'ops', 'ops/db', 'other'];

async function files(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      if (e.name === '.git') continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.push(path.relative(root, p));
    }
  };
  await walk(root);
  return out.sort();
}

/** One random change to the work tree; returns what it did, for the failure message. */
async function change(work: string, r: ReturnType<typeof random>, n: number): Promise<string> {
  const existing = (await files(work)).filter((f) => f !== 'keep');
  // A file chosen for a change may be one of the links below: replace it, never write through it.
  const write = async (rel: string, text: string): Promise<void> => {
    await fs.mkdir(path.dirname(path.join(work, rel)), { recursive: true });
    await fs.rm(path.join(work, rel), { force: true });
    await fs.writeFile(path.join(work, rel), text, { flag: 'wx' });
  };
  const deployment = (name: string): string => deploymentYaml({ name, namespace: 'default', replicas: 1 + r.int(3), image: 'busybox:1', command: ['sleep', String(r.int(1000))] });
  const op = existing.length < 3 ? 0 : r.int(13);
  const some = (): string => r.pick(existing);
  switch (op) {
    case 0:
    case 1: {
      const f = `${r.pick(FOLDERS)}/d${n}.yaml`;
      await write(f, deployment(`d${n}`));
      return `add ${f}`;
    }
    case 2: {
      const f = some();
      await write(f, deployment(`m${n}`));
      return `modify ${f}`;
    }
    case 3: {
      const f = some();
      await fs.rm(path.join(work, f));
      return `delete ${f}`;
    }
    case 4: {
      const f = some();
      const to = `${r.pick(FOLDERS)}/r${n}${r.pick(['.yaml', '.yml', '.txt'])}`;
      await fs.mkdir(path.dirname(path.join(work, to)), { recursive: true });
      await fs.rename(path.join(work, f), path.join(work, to));
      return `rename ${f} → ${to}`;
    }
    case 5: {
      const from = r.pick(FOLDERS.filter((f) => !f.includes('/')));
      const to = `moved${n}`;
      await fs.rename(path.join(work, from), path.join(work, to)).catch(() => undefined);
      return `move folder ${from} → ${to}`;
    }
    case 6: {
      const f = some();
      await write(f, 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: broken\n');
      return `break ${f}`;
    }
    case 7: {
      // The same object in a second file: a duplicate only the whole commit shows.
      const f = some();
      const text = await fs.readFile(path.join(work, f), 'utf8');
      const to = `${r.pick(FOLDERS)}/dup${n}.yaml`;
      await write(to, text);
      return `duplicate ${f} as ${to}`;
    }
    case 8: {
      const f = `${r.pick(FOLDERS)}/link${n}.yaml`;
      await fs.mkdir(path.dirname(path.join(work, f)), { recursive: true });
      // A link out of the work tree, to a file of this test's own (never a host file: a later
      // change might pick this path, and must not reach what it points at).
      await fs.symlink(outside, path.join(work, f));
      return `symlink ${f}`;
    }
    case 10: {
      // A ConfigMap of a few names, with or without the key its readers need: a reader in another
      // file is met or not, and a later change of this file can break a reader it does not hold.
      const k = r.int(3);
      const name = `cfg${k}`;
      const f = `${FOLDERS[k] ?? ''}/${name}.yaml`;
      await write(f, `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {${r.pick(['level', 'other'])}: v${n}}\n`);
      return `ConfigMap ${name} in ${f}`;
    }
    case 11: {
      // A Deployment that reads a key of a ConfigMap in another file (optional or not).
      const f = `${r.pick(FOLDERS)}/reader${n}.yaml`;
      const optional = r.int(4) === 0;
      await write(
        f,
        `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: reader${n}}\nspec:\n  selector: {matchLabels: {app: r${n}}}\n  template:\n    metadata: {labels: {app: r${n}}}\n    spec:\n      containers:\n      - name: a\n        image: busybox:1\n        env: [{name: LEVEL, valueFrom: {configMapKeyRef: {name: cfg${r.int(3)}, key: level${optional ? ', optional: true' : ''}}}}]\n`,
      );
      return `reader of cfg in ${f}${optional ? ' (optional)' : ''}`;
    }
    case 12: {
      // A NodePort Service on one of few ports: two files asking for one port make the commit invalid.
      const f = `${r.pick(FOLDERS)}/svc${n}.yaml`;
      await write(f, `apiVersion: v1\nkind: Service\nmetadata: {name: svc${n}}\nspec:\n  type: NodePort\n  selector: {app: a}\n  ports: [{port: 80, nodePort: ${30000 + r.int(4)}}]\n`);
      return `Service on a nodePort in ${f}`;
    }
    default: {
      // A ConfigMap with a spelling Kubernetes reads differently (a warning), or a second document.
      const f = some();
      await write(f, `${deployment(`w${n}`)}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c${n}}\ndata: {on: yes}\n`);
      return `two documents in ${f}`;
    }
  }
}

async function fullCheck(gitdir: string, commit: string, subdir: string): Promise<TreeCheck & { blobs: { path: string; oid: string; size: number }[] }> {
  const read = await readTreeFiles({ gitdir, commit, subdir, name: 'repo' });
  return { ...checkTree(read), blobs: read.blobs };
}

const comparable = (c: TreeCheck): unknown => ({ objects: c.objects, warnings: c.warnings, skipped: c.skipped, entries: c.entries, files: c.files });

/** An empty repository of its own, read as sync reads it; `commit` commits the work tree as it is. */
async function freshRepo(): Promise<{ work: string; gitdir: string; access: TreeAccess; commit: () => Promise<string> }> {
  const work = await fs.mkdtemp(path.join(dir, 'work-'));
  const git = gitIn(work);
  await git('init', '--quiet', '--initial-branch=main');
  const source = new GitSource({ repo: work, branch: 'main', path: '.', dataDir: dir });
  const gitdir = path.join(work, '.git');
  const access: TreeAccess = { root: (c) => source.root(c), diff: (a, b) => source.diff(a, b), checkBlobs: (_c, blobs) => checkBlobs(gitdir, blobs, {}) };
  const commit = async (): Promise<string> => {
    await git('add', '-A');
    await git('commit', '--quiet', '-m', 'c');
    return git('rev-parse', 'HEAD');
  };
  return { work, gitdir, access, commit };
}

describe('incremental check', () => {
  it.each([
    [1, '.'],
    [2, '.'],
    [3, 'apps'],
    [4, 'ops'],
  ])('equals a full read over a random commit sequence (seed %i, --path %s)', async (seed, sub) => {
    const work = await fs.mkdtemp(path.join(dir, 'work-'));
    const git = gitIn(work);
    await git('init', '--quiet', '--initial-branch=main');
    await git('config', 'gc.auto', '0');
    await fs.writeFile(path.join(work, 'keep'), 'x');
    const source = new GitSource({ repo: work, branch: 'main', path: sub, dataDir: dir });
    const gitdir = path.join(work, '.git');
    const subdir = sub === '.' ? '' : sub;
    const access: TreeAccess = {
      root: (c) => source.root(c),
      diff: (a, b) => source.diff(a, b),
      checkBlobs: (_c, blobs) => checkBlobs(gitdir, blobs, {}),
    };
    const r = random(seed);
    let state: TreeState | undefined;
    let incremental = 0;
    let rejected = 0;
    const done: string[] = [];
    for (let n = 0; n < 60; n++) {
      done.push(await change(work, r, n));
      await git('add', '-A');
      await git('commit', '--quiet', '--allow-empty', '-m', `c${n}`);
      const commit = await git('rev-parse', 'HEAD');
      let full;
      try {
        full = await fullCheck(gitdir, commit, subdir);
      } catch {
        // The --path folder is gone in this commit: the incremental check defers to the full one.
        if (state) expect(await checkAgainst(state, commit, access), done.join('; ')).toBeUndefined();
        continue;
      }
      const clean = full.errors.length === 0 && full.omitted === 0;
      if (!clean && state) rejected++;
      // Read whole file by file (what sync does for a first or safety read, in several workers).
      const fresh = await checkAgainst(undefined, commit, access);
      if (!clean) expect(fresh, `${done.join('; ')}: the file-by-file read passed a commit the full one rejects`).toBeUndefined();
      else if (fresh) expect(comparable(fresh.check), done.join('; ')).toEqual(comparable(full));
      if (state) {
        const inc = await checkAgainst(state, commit, access);
        if (!clean) expect(inc, `${done.join('; ')}: the incremental check passed a commit the full one rejects`).toBeUndefined();
        else if (inc) {
          incremental++;
          expect(comparable(inc.check), done.join('; ')).toEqual(comparable(full));
          // The plan of the changed files alone is the plan of the whole commit against the kept one.
          expect(inc.plan, done.join('; ')).toEqual(planDesired(full.objects, state.check.objects));
          state = inc.keep();
          continue;
        }
      }
      // Rejected commits leave the state at the last good one; an accepted one is kept from the full read.
      if (clean) state = await fullState(commit, full, access);
    }
    // The sequence exercised the incremental path, not only the fallback, and the checks between files both ways.
    expect(incremental).toBeGreaterThan(5);
    expect(rejected).toBeGreaterThan(3);
    expect(await fs.readFile(outside, 'utf8')).toBe(OUTSIDE);
  }, 120_000);

  it('defers to the full check when a file no longer finds the ConfigMap it reads in another file', async () => {
    const { work, gitdir, access, commit } = await freshRepo();
    const app = (image: string): string =>
      `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: app}\nspec:\n  selector: {matchLabels: {app: a}}\n  template:\n    metadata: {labels: {app: a}}\n    spec:\n      containers:\n      - {name: a, image: ${image}, envFrom: [{configMapRef: {name: cfg}}]}\n`;
    await fs.writeFile(path.join(work, 'cfg.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {k: v}\n');
    await fs.writeFile(path.join(work, 'app.yaml'), app('busybox:1'));
    const first = await commit();
    const state = await fullState(first, await fullCheck(gitdir, first, ''), access);
    if (!state) throw new Error('the first commit must pass');

    // Only app.yaml changed, and the ConfigMap it reads is still there: checked incrementally, as the full check says.
    await fs.writeFile(path.join(work, 'app.yaml'), app('busybox:2'));
    const second = await commit();
    const inc = await checkAgainst(state, second, access);
    expect(inc && comparable(inc.check)).toEqual(comparable(await fullCheck(gitdir, second, '')));

    // The ConfigMap's file is gone: app.yaml is unchanged, yet the commit is refused, at app.yaml's reference.
    await fs.rm(path.join(work, 'cfg.yaml'));
    const third = await commit();
    expect(await checkAgainst(inc ? inc.keep() : state, third, access)).toBeUndefined();
    expect((await fullCheck(gitdir, third, '')).errors.map((e) => `${e.path}:${e.line}:${e.col}`)).toEqual(['app.yaml:10:69']);
  });

  it('defers to the full check when two files ask for the same nodePort', async () => {
    const { work, gitdir, access, commit } = await freshRepo();
    const service = (name: string, nodePort: number): string =>
      `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}}\nspec:\n  type: NodePort\n  selector: {app: ${name}}\n  ports: [{port: 80, nodePort: ${nodePort}}]\n`;
    await fs.writeFile(path.join(work, 'a.yaml'), service('a', 30001));
    await fs.writeFile(path.join(work, 'b.yaml'), service('b', 30002));
    const first = await commit();
    const state = await fullState(first, await fullCheck(gitdir, first, ''), access);
    if (!state) throw new Error('the first commit must pass');

    // b.yaml now asks for a's port: each file is fine alone, the commit is not — neither read passes it.
    await fs.writeFile(path.join(work, 'b.yaml'), service('b', 30001));
    const second = await commit();
    expect(await checkAgainst(state, second, access)).toBeUndefined();
    expect(await checkAgainst(undefined, second, access)).toBeUndefined();
    expect((await fullCheck(gitdir, second, '')).errors.map((e) => `${e.path}:${e.line}:${e.col}`)).toEqual(['b.yaml:7:32']);
  });
});
