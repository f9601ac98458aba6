import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { STOP_BUDGET_MS } from '../../../src/cli/stack.js';
import { isRunning } from '../../support/process.js';
import { waitFor } from '../../support/wait.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const fixture = path.join(root, 'test/fixtures/stack/hung-stop.ts');
const tsx = path.join(root, 'node_modules/tsx/dist/loader.mjs');

/** The promise to a user: gone within 5 s of SIGINT or SIGTERM, whatever hangs. */
const STOP_WITHIN_MS = 5_000;

describe('runStack with a component that never stops', () => {
  let child: ChildProcess | undefined;
  let log = '';
  afterEach(() => {
    if (child && isRunning(child)) child.kill('SIGKILL');
  });

  /** Start the fixture and wait for it to be up; `exit` resolves with its exit code and time. */
  const start = async (): Promise<{ exit: Promise<{ code: number | null; at: number }> }> => {
    log = '';
    const proc = spawn(process.execPath, ['--import', tsx, fixture], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let out = '';
    proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
    proc.stderr.on('data', (c: Buffer) => (log += c.toString()));
    const exit = new Promise<{ code: number | null; at: number }>((resolve) => proc.once('exit', (code) => resolve({ code, at: Date.now() })));
    await waitFor(() => out.includes('up'), { timeoutMs: 30_000, what: 'the fixture to be up' });
    return { exit };
  };

  it.each(['SIGINT', 'SIGTERM'] as const)('exits within the stop budget after %s (code 1: it did not stop in time)', async (signal) => {
    const { exit } = await start();
    const began = Date.now();
    child?.kill(signal);
    const { code, at } = await exit;
    expect(code).toBe(1);
    expect(at - began).toBeGreaterThanOrEqual(STOP_BUDGET_MS - 100); // it did wait for the stop, bounded
    expect(at - began).toBeLessThan(STOP_WITHIN_MS);
  }, 30_000);

  it('exits at once on a second signal', async () => {
    const { exit } = await start();
    child?.kill('SIGINT');
    // Signals do not queue: send the second once the first was taken.
    await waitFor(() => log.includes('"msg":"stopping"'), { what: 'the first signal taken' });
    const second = Date.now();
    child?.kill('SIGINT');
    const { code, at } = await exit;
    expect(code).toBe(1);
    expect(at - second).toBeLessThan(STOP_BUDGET_MS / 2);
  }, 30_000);
});
