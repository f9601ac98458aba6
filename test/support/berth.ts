import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isRunning, OutputTail, terminate } from './process.js';
import { GiveUp, waitFor } from './wait.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const cli = path.join(root, 'src/cli/main.ts');
const tsxLoader = path.join(root, 'node_modules/tsx/dist/loader.mjs');

/**
 * Arguments that run the berth CLI from source with node (tsx loader), whatever PATH says. A
 * `berth up` without --listen gets a free port for its API server: tests run several at once.
 */
function argv(args: string[]): string[] {
  const listen = args[0] === 'up' && !args.includes('--listen') ? ['--listen', '127.0.0.1:0'] : [];
  return ['--import', tsxLoader, cli, ...args, ...listen];
}

/** A berth process running in the background (for `berth up` and the components). */
export interface BerthProcess {
  child: ChildProcess;
  output: OutputTail;
  stop(): Promise<void>;
}

/**
 * Start `berth ARGS...` in the background; its stderr/stdout tail is kept for failure messages.
 * `detached` makes it a process group leader, so a test can signal the group as a terminal would;
 * `outputLimit` is how many characters of its output are kept (the last ones; Infinity keeps all).
 */
export function spawnBerth(args: string[], env: NodeJS.ProcessEnv = process.env, opts: { detached?: boolean; outputLimit?: number } = {}): BerthProcess {
  const child = spawn(process.execPath, argv(args), { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'], detached: opts.detached ?? false });
  const output = new OutputTail(opts.outputLimit ?? 20_000);
  child.stdout?.on('data', (c: Buffer) => output.push(c));
  child.stderr?.on('data', (c: Buffer) => output.push(c));
  return { child, output, stop: () => terminate(child, 15_000) };
}

/** Run `berth ARGS...` to completion. */
export function runBerth(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; /** Written to berth's standard input, which then ends. */ input?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv(args), { cwd: opts.cwd ?? root, env: opts.env ?? process.env, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`berth ${args.join(' ')} did not exit within ${opts.timeoutMs ?? 60_000} ms; output: ${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The command line that runs `berth ARGS...` from source (for a wrapper such as script(1), which gives it a terminal). */
export function berthCommandLine(args: string[]): string[] {
  return [process.execPath, ...argv(args)];
}

/**
 * Poll `check` (see waitFor) while `proc` runs: give up at once if berth exits, and on a timeout
 * name what berth printed (and `context()`, read then) so a failure explains itself.
 */
export async function waitWhileUp<T>(
  proc: BerthProcess,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  opts: { timeoutMs?: number; intervalMs?: number; context?: () => Promise<string> } = {},
): Promise<T> {
  try {
    return await waitFor(async () => {
      if (!isRunning(proc.child)) throw new GiveUp('berth exited');
      return check();
    }, { what, timeoutMs: opts.timeoutMs ?? 60_000, ...(opts.intervalMs === undefined ? {} : { intervalMs: opts.intervalMs }) });
  } catch (err) {
    const extra = opts.context ? `\n${await opts.context()}` : '';
    throw new Error(`${err instanceof Error ? err.message : String(err)}${extra}\nberth output:\n${proc.output.toString()}`, { cause: err });
  }
}
