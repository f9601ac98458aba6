import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, chown, mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseDockerHost } from './docker.js';
import { uniqueName } from './names.js';
import { cleanupAfterExit, run } from './process.js';
import { waitFor } from './wait.js';

/** A Unix user who is not root, for running what such a user runs: made by {@link createUser}, or {@link currentUser}. */
export interface TestUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  /**
   * Spawn `file args` as this user with the supplementary groups of its account and the plain
   * environment of a login: HOME, USER, a user's PATH (no sbin directories) and `env`. The child
   * leads its own process group, so the caller can signal it whole, as a terminal would.
   */
  spawn(file: string, args: readonly string[], opts?: { cwd?: string; env?: Record<string, string> }): ChildProcess;
  /** Remove the account and its home, once its processes have ended (the caller stops them; what is left after 20 s is killed). */
  remove(): Promise<void>;
}

/**
 * PATH as a Debian login gives a user (/etc/profile): no sbin directories, where dockerd, ip and
 * iptables live. The directory of this node comes first when it is elsewhere (nvm, a tarball).
 */
export function userPath(): string {
  const dirs = ['/usr/local/bin', '/usr/bin', '/bin'];
  const nodeDir = path.dirname(process.execPath);
  return [...(dirs.includes(nodeDir) ? [] : [nodeDir]), ...dirs].join(':');
}

/** The login environment of `name`, `home` and `extra`, as `env -i` arguments. */
function loginEnv(name: string, home: string, extra: Record<string, string> = {}): string[] {
  const env = { HOME: home, USER: name, LOGNAME: name, SHELL: '/bin/bash', LANG: 'C.UTF-8', PATH: userPath(), ...extra };
  return Object.entries(env).map(([k, v]) => `${k}=${v}`);
}

/**
 * The user running the tests, who is not root: already what a non-root test needs. Its home is a
 * fresh temp dir (so nothing lands in the real one), removed by `remove`.
 */
export async function currentUser(): Promise<TestUser> {
  const { username: name, uid, gid } = os.userInfo();
  if (uid === 0) throw new Error('currentUser is for a user who is not root: as root, use createUser');
  const home = await mkdtemp(path.join(os.tmpdir(), 'berth-home-'));
  return {
    name,
    uid,
    gid,
    home,
    spawn: (file, args, spawnOpts = {}) =>
      spawn('/usr/bin/env', ['-i', ...loginEnv(name, home, spawnOpts.env), file, ...args], { cwd: spawnOpts.cwd ?? home, detached: true, stdio: ['ignore', 'pipe', 'pipe'] }),
    remove: () => rm(home, { recursive: true, force: true }),
  };
}

/** Make a user `berth-…` with a home, in the `docker` group when `docker` is true. Needs root. */
export async function createUser(opts: { docker: boolean }): Promise<TestUser> {
  if (process.getuid?.() !== 0) throw new Error('making a user needs root: run the tests as root (as CI and .ci/run do)');
  const name = uniqueName('berth-user');
  await run('useradd', ['--create-home', '--shell', '/bin/bash', '--user-group', ...(opts.docker ? ['--groups', 'docker'] : []), name], {
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
  });
  // If the test process dies before remove(), the account must not outlive the run.
  const cancelWatchdog = cleanupAfterExit('userdel --remove --force "$1" 2>/dev/null || true', [name]);
  const [uid, gid, home] = (await run('getent', ['passwd', name])).stdout.trim().split(':').filter((_, i) => [2, 3, 5].includes(i));
  if (uid === undefined || gid === undefined || home === undefined) throw new Error(`no passwd entry for ${name}`);
  const user: TestUser = {
    name,
    uid: Number(uid),
    gid: Number(gid),
    home,
    spawn: (file, args, spawnOpts = {}) => {
      // setpriv --init-groups: the account's supplementary groups (docker), which a spawn with
      // uid/gid alone would drop.
      const argv = ['--reuid', name, '--regid', name, '--init-groups', '--', '/usr/bin/env', '-i', ...loginEnv(name, home, spawnOpts.env), file, ...args];
      return spawn('setpriv', argv, { cwd: spawnOpts.cwd ?? home, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    },
    remove: async () => {
      // What the caller did not stop (a daemon that left its process group) is this user's, made by
      // this test: ended by pid so that the account can go.
      const ended = await waitFor(async () => (await processesOf(Number(uid))).length === 0, { timeoutMs: 20_000, what: `the processes of ${name} to end` }).catch(() => false);
      if (!ended) {
        for (const pid of await processesOf(Number(uid))) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
        await waitFor(async () => (await processesOf(Number(uid))).length === 0, { timeoutMs: 10_000, what: `the processes of ${name} to end after SIGKILL` });
      }
      await run('userdel', ['--remove', name], { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } }).catch((error: unknown) => {
        // userdel warns (exit 12) when the mail spool it would remove does not exist; the account is gone.
        // An account already gone is the end wanted too (seen when two test runs made and removed users at once).
        if (!(error instanceof Error && /mail spool|not found|does not exist/.test(error.message))) throw error;
      });
      cancelWatchdog();
    },
  };
  return user;
}

/** Pids of the processes whose real uid is `uid`. */
async function processesOf(uid: number): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const status = await readFile(`/proc/${entry}/status`, 'utf8').catch(() => '');
    const state = /^State:\s+(\S)/m.exec(status)?.[1];
    if (state !== undefined && state !== 'Z' && new RegExp(`^Uid:\\s+${uid}\\s`, 'm').test(status)) pids.push(Number(entry));
  }
  return pids;
}

/**
 * Let the `docker` group use the engine at `dockerHost`, as Debian's docker.io package does for
 * /var/run/docker.sock: the group exists, owns the socket with rw, and every directory above the
 * socket can be passed through. Returns what puts things back as they were. A tcp:// engine needs
 * nothing. Needs root.
 */
export async function grantDockerGroup(dockerHost: string): Promise<() => Promise<void>> {
  const undo: (() => Promise<void>)[] = [];
  const sbin = { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' } };
  const group = await run('getent', ['group', 'docker']).catch(() => undefined);
  if (group === undefined) {
    await run('groupadd', ['--system', 'docker'], sbin);
    undo.push(async () => void (await run('groupdel', ['docker'], sbin)));
  }
  const gid = Number((await run('getent', ['group', 'docker'])).stdout.split(':')[2]);
  const endpoint = parseDockerHost(dockerHost);
  if ('socketPath' in endpoint) {
    const socket = endpoint.socketPath;
    const before = await stat(socket);
    if (before.gid !== gid) {
      await chown(socket, before.uid, gid);
      undo.push(() => chown(socket, before.uid, before.gid));
    }
    if ((before.mode & 0o060) !== 0o060) {
      await chmod(socket, (before.mode & 0o7777) | 0o060);
      undo.push(() => chmod(socket, before.mode & 0o7777));
    }
    for (let dir = path.dirname(socket); ; dir = path.dirname(dir)) {
      const mode = (await stat(dir)).mode & 0o7777;
      if ((mode & 0o001) === 0) {
        await chmod(dir, mode | 0o001);
        undo.push(() => chmod(dir, mode));
      }
      if (dir === path.dirname(dir)) break;
    }
  }
  return async () => {
    for (const step of undo.reverse()) await step();
  };
}
