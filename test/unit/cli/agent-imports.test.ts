// What a `berth agent` process loads: the program (main.ts) and the agent's own module, and nothing
// it never runs. Each library below costs an agent megabytes it keeps on every node (measured with
// bench/agent-rss.ts). Run in a fresh node process: the module cache is per process.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { run } from '../../support/process.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const tsxLoader = path.join(root, 'node_modules/tsx/dist/loader.mjs');
const url = (file: string): string => pathToFileURL(path.join(root, file)).href;

/**
 * Libraries the agent never needs unless a flag asks: node-forge (the local etcd's PKI), age
 * (--age-key-file), ws (--listen, and the CLI's exec), yaml (the manifest checks and -o yaml); and the
 * control plane's etcd client, etcd3 with cockatiel (the agent's is etcd-http.ts, on node:http).
 */
const UNNEEDED = ['node-forge', 'age-encryption', 'ws', 'yaml', 'etcd3', 'cockatiel'];

// Every module resolved, told by a resolve hook; main.ts is loaded as `berth --version` runs it, then
// the agent's module as `berth agent` loads it.
const script = `
import { register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
const seen = new Set();
const { port1, port2 } = new MessageChannel();
port1.on('message', (u) => seen.add(u));
port1.unref();
const hook = 'let port; export function initialize(d) { port = d.port; } export async function resolve(s, c, next) { const r = await next(s, c); port.postMessage(r.url); return r; }';
register('data:text/javascript,' + encodeURIComponent(hook), { data: { port: port2 }, transferList: [port2] });
await import(${JSON.stringify(url('src/cli/node-agent.ts'))});
process.on('exit', () => console.log(JSON.stringify([...seen])));
process.argv = [process.argv[0], 'berth', '--version'];
await import(${JSON.stringify(url('src/cli/main.ts'))});
`;

describe('berth agent imports', () => {
  it('loads the agent and the store without node-forge, age-encryption, ws, yaml or etcd3', async () => {
    const out = await run(process.execPath, ['--no-deprecation', '--import', tsxLoader, '--input-type=module', '-e', script], { cwd: root });
    const seen = JSON.parse(out.stdout.trim().split('\n').at(-1) ?? '[]') as string[];
    const packages = new Set(seen.map((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1]).filter((p) => p !== undefined));
    // The hook saw the libraries the agent does need, so an empty answer cannot pass.
    expect([...packages]).toEqual(expect.arrayContaining(['dockerode', 'pino', 'commander', 'prom-client']));
    expect(UNNEEDED.filter((p) => packages.has(p))).toEqual([]);
  });
});
