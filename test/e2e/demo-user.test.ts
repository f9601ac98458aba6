import type { ChildProcess } from 'node:child_process';
import { chmod, lstat, mkdir, readFile, realpath, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { removeContainers } from '../support/containers.js';
import { uniqueName } from '../support/names.js';
import { freePorts } from '../support/ports.js';
import { exited, isRunning, OutputTail, run } from '../support/process.js';
import { createUser, currentUser, grantDockerGroup, type TestUser } from '../support/user.js';
import { GiveUp, waitFor } from '../support/wait.js';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const asRoot = process.getuid?.() === 0;

/**
 * A fresh checkout of this working tree for `user` in its home, as a clone would be: the files git
 * knows (tracked or not ignored), owned by the user, committed on branch main. node_modules is
 * hard-linked (or copied) from this one and stays root's, so nothing the user does can change ours.
 */
async function checkoutFor(user: TestUser): Promise<string> {
  const dir = path.join(user.home, 'berth');
  await mkdir(dir);
  const listed = (await run('git', ['-C', projectRoot, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'])).stdout.split('\0');
  // A worktree's node_modules may be a symlink (not matched by `node_modules/` in .gitignore): never copy it as a file.
  const files = listed.filter((f) => f !== '' && f !== 'node_modules' && !f.startsWith('node_modules/'));
  // Tracked files deleted in the working tree are not part of it.
  const present = (await Promise.all(files.map(async (f) => ((await lstat(path.join(projectRoot, f)).catch(() => undefined)) ? [f] : [])))).flat();
  await run('bash', ['-c', 'set -o pipefail; tar -C "$1" --null -T - -cf - | tar -C "$2" -xf -', 'copy', projectRoot, dir], { input: present.join('\0') });
  if (asRoot) await run('chown', ['-R', `${user.uid}:${user.gid}`, dir]);
  const modules = await realpath(path.join(projectRoot, 'node_modules'));
  await run('bash', ['-c', 'cp -al "$1" "$2" 2>/dev/null || { rm -rf "$2"; cp -a "$1" "$2"; }', 'copy', modules, path.join(dir, 'node_modules')]);
  return dir;
}

/** Run `file args` as `user` to completion: exit code and output. */
function runAs(user: TestUser, file: string, args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<{ code: number | null; output: string }> {
  const child = user.spawn(file, args, opts);
  const output = new OutputTail(20_000);
  child.stdout?.on('data', (c: Buffer) => output.push(c));
  child.stderr?.on('data', (c: Buffer) => output.push(c));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output: output.toString() }));
  });
}

/** SIGINT to the process group (a terminal's Ctrl-C); SIGKILL to what is left after `graceMs`; wait until the group is gone. */
async function stopGroup(child: ChildProcess, graceMs: number): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  const signal = (sig: NodeJS.Signals | 0): boolean => {
    try {
      process.kill(-pid, sig);
      return true;
    } catch {
      return false; // the group is gone
    }
  };
  signal('SIGINT');
  await Promise.race([exited(child), new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
  signal('SIGKILL');
  await waitFor(() => !signal(0), { timeoutMs: 10_000, what: `process group ${pid} to end` });
}

// Issue 11: a user in the docker group, with Docker running, got "start-dockerd: docker/dockerd not
// installed" from `npm run demo`: dockerd is in /usr/sbin, off a user's PATH, and was looked for
// before asking whether an engine already answers. These run the user's own commands with a login's
// PATH, as a user made for the test (the tests run as root here and in CI; run by a user who is not
// root, the demo runs as that user, who is the case in point).
describe('npm run demo as a user who is not root', () => {
  const dockerHost = inject('dockerHost');
  // A user's environment names no DOCKER_HOST for the engine at the default socket.
  const dockerEnv: Record<string, string> = dockerHost === 'unix:///var/run/docker.sock' ? {} : { DOCKER_HOST: dockerHost };
  const undo: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    // Not root: this user already uses the engine (the harness found it), and can change nothing here.
    if (asRoot) undo.push(await grantDockerGroup(dockerHost));
  });
  afterAll(async () => {
    const errors: unknown[] = [];
    for (const step of undo.reverse()) await step().catch((error: unknown) => errors.push(error));
    if (errors.length > 0) throw new AggregateError(errors, 'cleaning up after the demo user failed');
  });

  it('starts berth against the running engine, which serves the example web page', async () => {
    const user = asRoot ? await createUser({ docker: true }) : await currentUser();
    undo.push(() => user.remove());
    const node = uniqueName('demo');
    undo.push(() => removeContainers(dockerHost, 'berth.node', node));
    const checkout = await checkoutFor(user);
    // Beside any other demo on this machine: its own node name, and a free port for the web page.
    const [port, apiPort] = await freePorts(2);
    const web = path.join(checkout, 'examples/repo/web.yaml');
    const manifest = await readFile(web, 'utf8');
    expect(manifest).toContain('hostPort: 8080');
    await writeFile(web, manifest.replace('hostPort: 8080', `hostPort: ${port}`));
    const git = ['-c', 'user.name=Test', '-c', 'user.email=test@localhost'];
    for (const args of [['init', '-q', '-b', 'main'], ['add', '-A'], [...git, 'commit', '-qm', 'a fresh clone']]) {
      const done = await runAs(user, 'git', args, { cwd: checkout });
      expect(done, done.output).toMatchObject({ code: 0 });
    }

    const demo = user.spawn('npm', ['run', 'demo'], { cwd: checkout, env: { ...dockerEnv, BERTH_DEMO_NODE: node, BERTH_DEMO_LISTEN: `127.0.0.1:${apiPort}`, npm_config_update_notifier: 'false' } });
    const output = new OutputTail(20_000);
    demo.stdout?.on('data', (c: Buffer) => output.push(c));
    demo.stderr?.on('data', (c: Buffer) => output.push(c));
    try {
      const page = await waitFor(
        async () => {
          if (!isRunning(demo)) throw new GiveUp(`npm run demo exited (${demo.exitCode ?? demo.signalCode})`);
          const response = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) });
          return response.ok ? response.text() : undefined;
        },
        { timeoutMs: 240_000, intervalMs: 500, what: `the demo's web page on port ${port}` },
      ).catch((error: unknown) => {
        throw new Error(`${error instanceof Error ? error.message : String(error)}\nnpm run demo printed:\n${output.toString()}`, { cause: error });
      });
      expect(page.trim()).toBe('Hello from berth');
      await waitFor(() => output.toString().includes('== berth is running examples/repo'), { timeoutMs: 60_000, what: 'the demo to say berth runs' });
      expect(output.toString()).not.toMatch(/not installed|needs root|sudo/);
      await waitFor(() => output.toString().includes(`curl http://127.0.0.1:${apiPort}/api/v1/sources`), { timeoutMs: 30_000, what: 'the demo to name its API' });
      const sources = await fetch(`http://127.0.0.1:${apiPort}/api/v1/sources`);
      expect(await sources.json()).toMatchObject({ items: [{ source: 'default', deployments: expect.arrayContaining([expect.objectContaining({ name: 'web' })]) }] });
    } finally {
      await stopGroup(demo, 20_000);
    }
  }, 360_000);

  it('names the fix when the user may not use the engine (not in the docker group)', async () => {
    if (asRoot) {
      // As root: a user made outside the docker group, against the engine's own socket.
      if (!dockerHost.startsWith('unix://')) throw new Error(`this case needs a unix-socket engine, not ${dockerHost}`);
      const user = await createUser({ docker: false });
      undo.push(() => user.remove());
      const script = await readFile(path.join(projectRoot, 'scripts/start-dockerd.sh'), 'utf8');
      await writeFile(path.join(user.home, 'start-dockerd.sh'), script);
      const { code, output } = await runAs(user, 'bash', ['start-dockerd.sh'], { env: dockerEnv });
      expect(code).toBe(1);
      expect(output).toBe(
        `start-dockerd: ${user.name} may not use the Docker engine at ${dockerHost.slice('unix://'.length)}: sudo usermod -aG docker ${user.name}, then log in again (or run as root)`,
      );
      return;
    }
    // Not root: this user may use the real engine, and only root makes users. The same script, with
    // its default socket moved to one this user may not open (mode 000), takes the same path.
    const user = await currentUser();
    undo.push(() => user.remove());
    const socket = path.join(user.home, 'docker.sock');
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(socket, resolve));
    undo.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    await chmod(socket, 0o000);
    const script = await readFile(path.join(projectRoot, 'scripts/start-dockerd.sh'), 'utf8');
    expect(script).toContain('socket=/var/run/docker.sock\n');
    await writeFile(path.join(user.home, 'start-dockerd.sh'), script.replace('socket=/var/run/docker.sock\n', `socket=${socket}\n`));
    const { code, output } = await runAs(user, 'bash', ['start-dockerd.sh']);
    expect(code).toBe(1);
    expect(output).toBe(`start-dockerd: ${user.name} may not use the Docker engine at ${socket}: sudo usermod -aG docker ${user.name}, then log in again (or run as root)`);
  });
});
