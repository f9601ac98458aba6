import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBerth } from '../support/berth.js';

// Exit 2 for a command line berth cannot run, everywhere: an unknown flag, a missing argument (or a
// flag without its value), a value berth cannot take. Each on one line naming the problem, before
// anything is reached (no etcd, API server or Git server answers here).
const NOWHERE = ['--etcd', 'http://127.0.0.1:9'];

/** The commands without --data-dir. */
const OWN_DIR = new Set(['validate', 'controller', 'scheduler', 'completion']);

/** Every command, with a missing argument and a bad value of its own. */
const COMMANDS: { command: string[]; missing: string[]; missingLine: RegExp; bad: string[]; badLine: RegExp }[] = [
  { command: ['up'], missing: ['--listen'], missingLine: /option '--listen <host:port>' argument missing/, bad: ['--repo', '.', '--node-lease-ttl', '2500ms'], badLine: /^berth: --node-lease-ttl must be whole seconds, got '2500ms'/ },
  { command: ['sync'], missing: ['--repo'], missingLine: /option '--repo <url\|path>' argument missing/, bad: ['--repo', '.', '--history-limit', '0', ...NOWHERE], badLine: /^berth: --history-limit must be a whole number from 1 to 1000000, not "0"$/ },
  { command: ['controller'], missing: ['--prefix'], missingLine: /option '--prefix <prefix>' argument missing/, bad: ['--node-grace', 'soon', ...NOWHERE], badLine: /^berth: invalid --node-grace 'soon'/ },
  { command: ['scheduler'], missing: ['--etcd'], missingLine: /option '--etcd <urls>' argument missing/, bad: ['--metrics-listen', 'nowhere', ...NOWHERE], badLine: /^berth: --metrics-listen must be host:port/ },
  { command: ['agent'], missing: ['--node'], missingLine: /option '--node <name>' argument missing/, bad: ['--label', 'zone', ...NOWHERE], badLine: /^berth: --label "zone": expected key=value/ },
  { command: ['api'], missing: ['--listen'], missingLine: /option '--listen <host:port>' argument missing/, bad: ['--listen', 'localhost', ...NOWHERE], badLine: /^berth: --listen must be host:port/ },
  { command: ['validate'], missing: ['--rev'], missingLine: /option '--rev <commit>' argument missing/, bad: ['--max-file-size', 'lots', '.'], badLine: /^berth: --max-file-size/ },
  { command: ['get'], missing: [], missingLine: /missing required argument 'kind'/, bad: ['ingresses', ...NOWHERE], badLine: /^berth: unknown kind "ingresses"/ },
  { command: ['describe'], missing: ['pod'], missingLine: /missing required argument 'name'/, bad: ['ingress', 'web', ...NOWHERE], badLine: /^berth: unknown kind "ingress"/ },
  { command: ['history'], missing: ['--source'], missingLine: /option '--source <name>' argument missing/, bad: ['--limit', '0', ...NOWHERE], badLine: /^berth: --limit must be a whole number above 0, not "0"$/ },
  { command: ['events'], missing: ['--server'], missingLine: /option '--server <url>' argument missing/, bad: ['-o', 'xml'], badLine: /option '-o, --output <format>' argument 'xml' is invalid/ },
  { command: ['status'], missing: ['--token-file'], missingLine: /option '--token-file <file>' argument missing/, bad: ['--server', 'ftp://x'], badLine: /^berth: --server must be http\(s\):\/\/host:port, not "ftp:\/\/x"/ },
  { command: ['diff'], missing: ['--source'], missingLine: /option '--source <name>' argument missing/, bad: ['--log-level', 'loud'], badLine: /option '--log-level <level>' argument 'loud' is invalid/ },
  { command: ['suspend'], missing: [], missingLine: /missing required argument 'source'/, bad: ['default', '-o', 'xml'], badLine: /argument 'xml' is invalid/ },
  { command: ['resume'], missing: [], missingLine: /missing required argument 'source'/, bad: ['default', '--server', 'ftp://x'], badLine: /^berth: --server must be http\(s\)/ },
  { command: ['rollback'], missing: ['--to'], missingLine: /option '--to <commit>' argument missing/, bad: ['3f2a9c1', '--to', '1a2b3c4', '--server', 'http://127.0.0.1:9'], badLine: /^berth: give a commit to revert or --to, not both/ },
  { command: ['cordon'], missing: [], missingLine: /missing required argument 'node'/, bad: ['n1', '-o', 'xml'], badLine: /argument 'xml' is invalid/ },
  { command: ['uncordon'], missing: [], missingLine: /missing required argument 'node'/, bad: ['n1', '--server', 'ftp://x'], badLine: /^berth: --server must be http\(s\)/ },
  { command: ['drain'], missing: [], missingLine: /missing required argument 'node'/, bad: ['n1', '--timeout', 'soon', '--server', 'http://127.0.0.1:9'], badLine: /^berth: invalid --timeout 'soon'/ },
  { command: ['logs'], missing: [], missingLine: /missing required argument 'pod'/, bad: ['web-0', '--tail', 'many', '--server', 'http://127.0.0.1:9'], badLine: /^berth: --tail must be a whole number, not "many"$/ },
  { command: ['exec'], missing: ['web-0'], missingLine: /missing required argument 'command'/, bad: ['web-0', '--server', 'ftp://x', '--', 'true'], badLine: /^berth: --server must be http\(s\)/ },
  { command: ['completion'], missing: [], missingLine: /missing required argument 'shell'/, bad: ['fish'], badLine: /^berth: berth completion knows bash and zsh, not "fish"/ },
];

describe('exit 2 for a command line berth cannot run, with one line naming the problem', () => {
  let dataDir = '';
  beforeAll(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-exit-'));
  });
  afterAll(async () => {
    await fs.rm(dataDir, { recursive: true, force: true });
  });
  // No API server of a `berth up` here: the data dir is empty, and BERTH_SERVER unset.
  const env = (): NodeJS.ProcessEnv => ({ ...process.env, BERTH_SERVER: '', BERTH_TOKEN: '' });
  const errors = (stderr: string): string[] => stderr.split('\n').filter((l) => l.startsWith('berth: ') || l.startsWith('error: '));

  // The data dir goes before the arguments, so that a flag left without its value is the last word.
  const line = (command: string[], rest: string[]): string[] => [...command, ...(OWN_DIR.has(command[0] ?? '') ? [] : ['--data-dir', dataDir]), ...rest];
  const cases = COMMANDS.flatMap(({ command, missing, missingLine, bad, badLine }) => [
    { what: `${command.join(' ')}: an unknown flag`, args: line(command, ['--bogus-flag']), expected: /^error: unknown option '--bogus-flag'/ },
    { what: `${command.join(' ')}: a missing argument`, args: line(command, missing), expected: missingLine },
    { what: `${command.join(' ')}: a bad value`, args: line(command, bad), expected: badLine },
  ]);
  it.concurrent.each(cases)('$what', async ({ args, expected }) => {
    const res = await runBerth(args, { env: env(), cwd: dataDir, timeoutMs: 120_000 });
    expect({ code: res.code, errors: errors(res.stderr) }).toEqual({ code: 2, errors: [expect.stringMatching(expected)] });
    expect(res.stderr).not.toMatch(/\n\s+at /);
  }, 150_000);
});
