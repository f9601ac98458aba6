// The node agent's process stays small: nothing it requires loads grpc-js or protobufjs (its etcd
// client is etcd-http.ts; test/unit/cli/agent-imports.test.ts sees its ES imports), and dockerode's
// parts berth never uses are loaded only when called: docker-modem's
// SSH transport (ssh2) when an ssh:// client connects, dockerode's BuildKit session (grpc-js) when a
// session build starts; both then work as before. Run in fresh node processes: the module cache is
// per process.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { run } from '../../support/process.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const tsxLoader = path.join(root, 'node_modules/tsx/dist/loader.mjs');
const url = (file: string): string => JSON.stringify(pathToFileURL(path.join(root, file)).href);

/** What `script` prints last, as JSON; `loaded(name)` in it says whether a package is in the CommonJS cache. */
async function runScript(script: string): Promise<unknown> {
  const prelude = `
import { createRequire } from 'node:module';
const loaded = (name) => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('/node_modules/' + name + '/'));
`;
  const out = await run(process.execPath, ['--no-deprecation', '--import', tsxLoader, '--input-type=module', '-e', prelude + script], { cwd: root });
  return JSON.parse(out.stdout.trim().split('\n').at(-1) ?? '{}');
}

describe("the agent's modules", () => {
  it('the agent command requires no grpc-js, protobufjs or ssh2 (directly or through dockerode)', async () => {
    const script = `
await import(${url('src/cli/node-agent.ts')});
console.log(JSON.stringify(Object.fromEntries(['@grpc/grpc-js', 'protobufjs', 'ssh2', 'dockerode'].map((m) => [m, loaded(m)]))));
`;
    expect(await runScript(script)).toEqual({ '@grpc/grpc-js': false, protobufjs: false, ssh2: false, dockerode: true });
  });

  it('loads dockerode without ssh2, and loads ssh2 when an ssh:// client connects', async () => {
    const script = `
const { default: Docker } = await import(${url('src/agent/dockerode.ts')});
const before = loaded('ssh2');
// Port 1 on loopback: refused at once; what matters is that the SSH transport was loaded and dialled.
const err = await new Docker({ protocol: 'ssh', host: '127.0.0.1', port: 1, username: 'x' }).ping().then(() => undefined, (e) => e);
console.log(JSON.stringify({ before, after: loaded('ssh2'), code: err?.code }));
`;
    expect(await runScript(script)).toEqual({ before: false, after: true, code: 'ECONNREFUSED' });
  });

  it('loads dockerode without its BuildKit session (grpc-js), and loads it when a session build starts', async () => {
    const script = `
const { default: Docker } = await import(${url('src/agent/dockerode.ts')});
const before = loaded('@grpc/grpc-js');
// A BuildKit build (version 2) opens a session first: refused at once on port 1, after its module was loaded.
const err = await new Docker({ protocol: 'http', host: '127.0.0.1', port: 1 }).buildImage({ context: '/nonexistent', src: [] }, { version: '2' }).then(() => undefined, (e) => e);
console.log(JSON.stringify({ before, after: loaded('@grpc/grpc-js'), code: err?.code }));
`;
    expect(await runScript(script)).toEqual({ before: false, after: true, code: 'ECONNREFUSED' });
  });
});
