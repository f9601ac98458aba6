// npm run bench -- hostile: time and memory of `berth validate` on each hostile-input class.
// BERTH_ROOT=<checkout> measures another checkout's CLI (e.g. the code before a change) the same way.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as h from '../test/support/hostile.js';
import { result, type Bench, type Result } from './result.js';

type Setup = (dir: string) => Promise<void>;
const write = (name: string, data: string | Buffer): Setup => (dir) => fs.writeFile(path.join(dir, name), data);

const cases: { name: string; setup: Setup }[] = [
  { name: 'aliases-10k', setup: write('a.yaml', h.manyAliases(10_000)) },
  { name: 'aliases-100k', setup: write('a.yaml', h.manyAliases(100_000)) },
  { name: 'billion-laughs', setup: write('a.yaml', h.billionLaughs()) },
  { name: 'anchor-1MB-x5000', setup: write('a.yaml', h.bigAnchor(1 << 20, 5000)) },
  { name: 'file-48MB', setup: write('a.yaml', h.bigConfigMap(48 << 20)) },
  { name: 'json-1.2MB-40k-keys', setup: write('a.json', h.oneLineJsonConfigMap(40_000)) },
  { name: 'unknown-keys-5x1MB', setup: async (dir) => { for (let i = 0; i < 5; i++) await write(`k${i}.json`, h.hugeUnknownJsonKey((1 << 20) - 200, `c${i}`))(dir); } },
  { name: 'nesting-100k', setup: write('a.yaml', h.deepNesting(100_000)) },
  { name: 'documents-100k', setup: write('a.yaml', h.manyDocuments(100_000)) },
  { name: 'symlink-/etc/passwd', setup: (dir) => fs.symlink('/etc/passwd', path.join(dir, 'x.yaml')) },
  { name: 'symlink-/dev/zero', setup: (dir) => fs.symlink('/dev/zero', path.join(dir, 'z.yaml')) },
  { name: 'fifo', setup: async (dir) => { await run('mkfifo', [path.join(dir, 'pipe.yaml')], 5_000); } },
  { name: 'dangling-link', setup: async (dir) => { await fs.symlink('/nonexistent', path.join(dir, 'd.yaml')); await write('ok.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n')(dir); } },
  { name: 'directory-loop', setup: async (dir) => { await fs.mkdir(path.join(dir, 'sub')); await fs.symlink('..', path.join(dir, 'sub', 'loop')); } },
  { name: 'forged-kind', setup: write('a.yaml', h.FORGED_KIND) },
  { name: 'unterminated-quote', setup: write('a.yaml', h.unterminatedQuote()) },
  { name: 'invalid-utf8', setup: write('a.yaml', h.invalidUtf8()) },
  { name: 'utf16', setup: write('a.yaml', h.utf16()) },
  { name: 'empty-folder', setup: async () => undefined },
];

const root = process.env.BERTH_ROOT ?? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Run { code: number | null; ms: number; rssMb: number; outBytes: number; first: string }

function run(file: string, args: string[], timeoutMs: number): Promise<Run> {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let outBytes = 0;
    let err = '';
    child.stdout.on('data', (c: Buffer) => { outBytes += c.length; if (out.length < 4096) out += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { err += c.toString(); if (err.length > 1 << 20) err = err.slice(-65536); });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(err);
      const exit = /Exit status: (\d+)/.exec(err);
      const msg = err.split('\n').filter((l) => !/^\s|^Command (exited|terminated)/.test(l) && l.trim() !== '');
      const first = (out.split('\n')[0] || msg[0] || '').slice(0, 100);
      resolve({ code: signal ? null : exit ? Number(exit[1]) : code, ms: Date.now() - started, rssMb: rss ? Math.round(Number(rss[1]) / 1024) : 0, outBytes: outBytes + (err.includes('Command being timed') ? err.indexOf('\tCommand being timed') : err.length), first });
    });
  });
}

async function validate(setup: Setup): Promise<Run & { dir: string }> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-hostile-'));
  try {
    await setup(dir);
    const args = ['-v', process.execPath, '--import', path.join(root, 'node_modules/tsx/dist/loader.mjs'), path.join(root, 'src/cli/main.ts'), 'validate', dir];
    return { ...(await run('/usr/bin/time', args, Number(process.env.HOSTILE_TIMEOUT_MS ?? 60_000))), dir };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

export const hostile: Bench = {
  async run(say) {
    const results: Result[] = [];
    const floor = await validate(write('ok.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n'));
    say(`floor (one valid file): exit ${floor.code}, ${floor.ms} ms, ${floor.rssMb} MB`);
    const only = process.env.HOSTILE_CASES?.split(',');
    for (const c of cases) {
      if (only && !only.includes(c.name)) continue;
      const r = await validate(c.setup);
      say(`${c.name}: exit ${r.code ?? 'killed (timeout)'}, ${r.ms} ms, ${r.rssMb} MB, ${r.outBytes} B output: ${JSON.stringify(r.first.replaceAll(r.dir, '<dir>'))}`);
      results.push(result('hostile', `${c.name}_ms`, r.ms, 'ms', 'berth validate of one valid file', floor.ms));
      results.push(result('hostile', `${c.name}_peak_rss_mb`, r.rssMb, 'MB', 'berth validate of one valid file', floor.rssMb));
    }
    return results;
  },
};
