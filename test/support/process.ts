import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';

/** Output of a finished command. */
export interface RunResult {
  stdout: string;
  stderr: string;
}

/**
 * Run a command to completion (no shell). Rejects with the command line and
 * its stderr in the message when it exits non-zero.
 */
export function run(
  file: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { cwd: opts.cwd, env: opts.env, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`${file} ${args.join(' ')} failed: ${stderr.trim() || error.message}`, { cause: error }));
        } else {
          resolve({ stdout, stderr });
        }
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** True while `child` has neither exited nor been killed by a signal. */
export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Resolves when `child` has exited (immediately if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (!isRunning(child)) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** SIGTERM, then SIGKILL if the process is still there after `graceMs`. */
export async function terminate(child: ChildProcess, graceMs: number): Promise<void> {
  if (!isRunning(child)) return;
  child.kill('SIGTERM');
  // NOTE: clear the timer once the process is gone; a pending one keeps vitest alive.
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  try {
    await exited(child);
  } finally {
    clearTimeout(timer);
  }
}

/** Keeps the last `limit` characters written to it: a process's log tail for error messages. */
export class OutputTail {
  private text = '';
  constructor(private readonly limit = 4000) {}
  push(chunk: Buffer | string): void {
    this.text = (this.text + chunk.toString()).slice(-this.limit);
  }
  toString(): string {
    return this.text.trim();
  }
}

/** Absolute path of `name` on PATH (plus the sbin dirs root tools live in), or undefined. */
export async function findExecutable(name: string): Promise<string | undefined> {
  for (const dir of searchPath().split(':')) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** PATH with the sbin directories appended: dockerd, iptables and ip live there and a non-login PATH may lack them. */
export function searchPath(): string {
  const dirs = (process.env.PATH ?? '').split(':').filter((dir) => dir !== '');
  for (const dir of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    if (!dirs.includes(dir)) dirs.push(dir);
  }
  return dirs.join(':');
}

/**
 * Run the bash `script` (with `args` as $1, $2, …) once this node process has
 * ended, however it ended: vitest exits on Ctrl-C without running globalSetup
 * teardowns, and a daemon we started must not outlive the run. The watchdog
 * runs in its own session, so the terminal's Ctrl-C does not reach it.
 * Returns a cancel function for the normal shutdown path.
 */
export function cleanupAfterExit(script: string, args: readonly string[]): () => void {
  const watchdog = spawn('bash', ['-c', `tail --pid=${process.pid} -f /dev/null; ${script}`, 'berth-cleanup', ...args], {
    detached: true,
    stdio: 'ignore',
    env: { ...process.env, PATH: searchPath() },
  });
  watchdog.on('error', () => undefined); // no bash: nothing we can do, the normal path still cleans up
  watchdog.unref();
  return () => {
    if (watchdog.pid !== undefined && isRunning(watchdog)) {
      try {
        process.kill(-watchdog.pid, 'SIGKILL'); // bash and its tail
      } catch {
        // already gone
      }
    }
  };
}

/**
 * Bash: stop process $1 if its command line mentions $2 (guards against a
 * reused pid): SIGTERM, up to $3 seconds, then SIGKILL. A zombie counts as
 * gone (pid 1 may be slow to reap what it inherited).
 */
export const stopProcessScript = `
alive() {
  local state
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
  [[ -n $state && $state != Z ]]
}
stop_process() {
  local pid=$1 mark=$2 grace=$3 i
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  tr '\\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$mark" || return 0
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < grace * 10; i++)); do alive "$pid" || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null
}
`;
