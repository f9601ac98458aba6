import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { berthCommandLine, spawnBerth, type BerthProcess } from '../support/berth.js';
import { uniqueName } from '../support/names.js';
import { OutputTail, isRunning, terminate } from '../support/process.js';
import { GiveUp, waitFor } from '../support/wait.js';

/** `berth ARGS` under script(1), so its stderr is a terminal; killed at the end of the file. */
function inTerminal(args: string[]): { child: ChildProcess; output: OutputTail } {
  const line = berthCommandLine(args).map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('script', ['-qec', line, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  const output = new OutputTail(20_000);
  child.stdout.on('data', (c: Buffer) => output.push(c));
  child.stderr.on('data', (c: Buffer) => output.push(c));
  return { child, output };
}

// Logs read by a person are pretty, by a machine JSON: decided by whether stderr is a terminal,
// or forced by --log-format.
describe('log lines pretty on a terminal, JSON otherwise', () => {
  const started: { child: ChildProcess }[] = [];
  afterAll(async () => {
    await Promise.all(started.map((p) => terminate(p.child, 10_000)));
  });
  const conn = (): string[] => ['--etcd', inject('etcdEndpoint'), '--prefix', `/${uniqueName('logfmt')}`];
  const RUNNING = 'berth scheduler is running';
  const PRETTY = /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: berth scheduler is running\r?$/m;
  const JSON_LINE = /^\{"level":30,"time":\d+,"pid":\d+,"hostname":"[^"]*","name":"berth","component":"scheduler","msg":"berth scheduler is running"\}\r?$/m;

  const seen = (proc: { child: ChildProcess; output: OutputTail }): Promise<string> =>
    waitFor(() => {
      const text = proc.output.toString();
      if (text.includes(RUNNING)) return text;
      if (!isRunning(proc.child)) throw new GiveUp(`berth exited:\n${text}`);
      return undefined;
    }, { timeoutMs: 60_000, what: `"${RUNNING}" logged` });

  it.each([
    { name: 'a terminal, by default: pretty', terminal: true, args: [] as string[], expected: PRETTY },
    { name: 'a terminal with --log-format json: JSON', terminal: true, args: ['--log-format', 'json'], expected: JSON_LINE },
    { name: 'a pipe, by default: JSON', terminal: false, args: [] as string[], expected: JSON_LINE },
    { name: 'a pipe with --log-format pretty: pretty', terminal: false, args: ['--log-format', 'pretty'], expected: PRETTY },
  ])('$name', async ({ terminal, args, expected }) => {
    const argv = ['scheduler', ...args, ...conn()];
    const proc: { child: ChildProcess; output: OutputTail } | BerthProcess = terminal ? inTerminal(argv) : spawnBerth(argv);
    started.push(proc);
    const text = await seen(proc);
    expect(text).toMatch(expected);
    // Never both: a pretty run has no JSON line, a JSON run no pretty one.
    expect(text).not.toMatch(expected === PRETTY ? /^\{"level"/m : /^\[\d\d:\d\d/m);
  });
});
