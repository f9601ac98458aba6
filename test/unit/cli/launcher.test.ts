// bin/berth, the command npm installs: `berth agent`, `berth sync`, `berth controller` and `berth
// scheduler` run node with their V8 flags, every other command with node's defaults. A `node` of the
// test's own prints how it was run.
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const launcher = path.join(root, 'bin/berth');
const main = path.join(root, 'dist/cli/main.js');
let dir = '';
/** The agent's flags before lite mode. */
const AGENT = '--max-semi-space-size=1 --optimize-for-size --no-opt';

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'berth-launcher-'));
  await writeFile(path.join(dir, 'node'), '#!/bin/sh\necho "$@"\n');
  await chmod(path.join(dir, 'node'), 0o755);
  // npm links the command into a bin folder: the launcher finds dist/ through the link.
  await symlink(launcher, path.join(dir, 'berth'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(bin: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  const { DOCKER_HOST: _host, ...rest } = process.env;
  const { stdout } = await promisify(execFile)(bin, args, { env: { ...rest, PATH: `${dir}:${process.env.PATH ?? ''}`, ...env } });
  return stdout.trim();
}

describe('bin/berth', () => {
  it.each([
    ['the agent, with a small young generation, optimize-for-size, no optimizing compiler, lite mode (no WebAssembly), no V8 background threads and its collector exposed (heap-pacer.ts)', ['agent', '--node', 'web-1'], {}, `${AGENT} --lite-mode --no-expose-wasm --single-threaded --expose-gc ${main} agent --node web-1`],
    ['the agent of a Docker reached over ssh:// (ssh2 needs WebAssembly), without lite mode', ['agent', '--docker', 'ssh://ops@10.0.0.5'], {}, `${AGENT} --single-threaded --expose-gc ${main} agent --docker ssh://ops@10.0.0.5`],
    ['the agent of a DOCKER_HOST reached over ssh://, without lite mode', ['agent'], { DOCKER_HOST: 'ssh://ops@10.0.0.5' }, `${AGENT} --single-threaded --expose-gc ${main} agent`],
    ['sync, with young generations of at most 4 MiB semi-spaces', ['sync', '--repo', 'x'], {}, `--max-semi-space-size=4 ${main} sync --repo x`],
    ['the controller and the scheduler, with 4 MiB semi-spaces and an old generation that grows by half at most', ['controller', '--etcd', 'e'], {}, `--max-semi-space-size=4 --heap-growing-percent=50 ${main} controller --etcd e`],
    ['the scheduler likewise', ['scheduler'], {}, `--max-semi-space-size=4 --heap-growing-percent=50 ${main} scheduler`],
    ['any other command, with node\'s defaults', ['get', 'pods'], {}, `${main} get pods`],
    ['up (every component in one process), with the flags of sync, the controller and the scheduler', ['up', '--repo', 'x'], {}, `--max-semi-space-size=4 --heap-growing-percent=50 ${main} up --repo x`],
  ])('runs %s', async (_name, args, env, want) => {
    expect(await run(launcher, args, env)).toBe(want);
  });

  it('finds dist/ through a link to it', async () => {
    expect(await run(path.join(dir, 'berth'), ['agent'])).toBe(`${AGENT} --lite-mode --no-expose-wasm --single-threaded --expose-gc ${main} agent`);
  });
});
