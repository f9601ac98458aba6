import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { run, searchPath } from './process.js';

/** A bare repository served by the test git server, and a work clone to commit from. */
export interface TestRepo {
  bareDir: string;
  workDir: string;
  /** The repository's URL on a git server over the same root, e.g. `url(inject('gitBaseUrl'))`. */
  url(baseUrl: string): string;
  /** Write a file in the work tree (parent dirs created). */
  write(relPath: string, text: string): Promise<void>;
  /** Delete a file or directory from the work tree. */
  remove(relPath: string): Promise<void>;
  /** `git add -A` and commit; returns the new commit's sha. */
  commit(message: string): Promise<string>;
  /** Push `main` to the bare repository. */
  push(): Promise<void>;
  /** Run any git command in the work tree; returns trimmed stdout. */
  git(...args: string[]): Promise<string>;
  /** Remove the work clone and the bare repository. */
  dispose(): Promise<void>;
}

// Ignore the developer's own git config (signing, hooks, default branch).
const env: NodeJS.ProcessEnv = {
  PATH: searchPath(),
  HOME: tmpdir(),
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

async function git(cwd: string, ...args: string[]): Promise<string> {
  return (await run('git', args, { cwd, env })).stdout.trim();
}

/**
 * Create `<gitRoot>/<name>.git` (bare, branch main, pushes over HTTP allowed,
 * no auto gc) and a work clone of it in a new dir beside gitRoot, so the
 * harness's teardown (which removes gitRoot's parent) removes it even when a
 * test forgets dispose().
 */
export async function createRepo(gitRoot: string, name: string): Promise<TestRepo> {
  const bareDir = join(gitRoot, `${name}.git`);
  await git(gitRoot, 'init', '--quiet', '--bare', '--initial-branch=main', bareDir);
  await git(bareDir, 'config', 'http.receivepack', 'true');
  await git(bareDir, 'config', 'gc.auto', '0');

  const workDir = await mkdtemp(join(dirname(resolve(gitRoot)), `work-${name}-`));
  await git(workDir, 'init', '--quiet', '--initial-branch=main');
  await git(workDir, 'config', 'user.name', 'Berth Test');
  await git(workDir, 'config', 'user.email', 'test@berth.invalid');
  await git(workDir, 'config', 'gc.auto', '0');
  await git(workDir, 'config', 'commit.gpgsign', 'false');
  await git(workDir, 'remote', 'add', 'origin', bareDir);

  return {
    bareDir,
    workDir,
    url: (baseUrl) => `${baseUrl}/${name}.git`,
    write: async (relPath, text) => {
      const file = join(workDir, relPath);
      await mkdir(dirname(file), { recursive: true });
      // Tests put links to host files (/etc/passwd) in work trees: replace a path, never write through it.
      await rm(file, { force: true });
      await writeFile(file, text, { flag: 'wx' });
    },
    remove: (relPath) => rm(join(workDir, relPath), { recursive: true, force: true }),
    commit: async (message) => {
      await git(workDir, 'add', '--all');
      await git(workDir, 'commit', '--quiet', '--message', message);
      return git(workDir, 'rev-parse', 'HEAD');
    },
    push: async () => {
      await git(workDir, 'push', '--quiet', 'origin', 'main');
    },
    git: (...args) => git(workDir, ...args),
    dispose: async () => {
      await rm(workDir, { recursive: true, force: true });
      await rm(bareDir, { recursive: true, force: true });
    },
  };
}
