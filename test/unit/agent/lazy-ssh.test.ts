// The agent's dockerode leaves docker-modem's SSH transport (ssh2) unloaded until an ssh:// client
// connects, which then works as before. Run in a fresh node process: the module cache is per process.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { run } from '../../support/process.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const tsxLoader = path.join(root, 'node_modules/tsx/dist/loader.mjs');
const dockerode = pathToFileURL(path.join(root, 'src/agent/dockerode.ts')).href;

const script = `
import { createRequire } from 'node:module';
const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/node_modules/ssh2/'));
const { default: Docker } = await import(${JSON.stringify(dockerode)});
const before = loaded();
// Port 1 on loopback: refused at once; what matters is that the SSH transport was loaded and dialled.
const err = await new Docker({ protocol: 'ssh', host: '127.0.0.1', port: 1, username: 'x' }).ping().then(() => undefined, (e) => e);
console.log(JSON.stringify({ before, after: loaded(), code: err?.code }));
`;

describe('lazy ssh2', () => {
  it('loads dockerode without ssh2, and loads ssh2 when an ssh:// client connects', async () => {
    const out = await run(process.execPath, ['--no-deprecation', '--import', tsxLoader, '--input-type=module', '-e', script], { cwd: root });
    expect(JSON.parse(out.stdout.trim().split('\n').at(-1) ?? '{}')).toEqual({ before: false, after: true, code: 'ECONNREFUSED' });
  });
});
