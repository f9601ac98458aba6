import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBerth } from '../support/berth.js';
import * as h from '../support/hostile.js';
import { run } from '../support/process.js';

// `berth validate` against an attacker's files, each built here: bounded time (generous: "ended,
// not hung"), bounded output, the exit code, and the exact place of each error.

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MiB = 1024 * 1024;
const CM = (name: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {k: v}\n`;

let base = '';
let n = 0;
/** A new folder under the test's temp dir, with `files` written (a Buffer as is). */
async function folder(files: Record<string, string | Buffer> = {}): Promise<string> {
  const dir = path.join(base, `case-${n++}`);
  await fs.mkdir(dir, { recursive: true });
  for (const [name, data] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await fs.writeFile(path.join(dir, name), data);
  }
  return dir;
}

/** `berth validate ARGS` in `cwd`, timed. */
async function validate(args: string[], cwd: string, timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  const res = await runBerth(['validate', ...args], { cwd, timeoutMs });
  return { ...res, ms: Date.now() - started };
}

const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');

beforeAll(async () => {
  base = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-hostile-'));
});
afterAll(async () => {
  await fs.rm(base, { recursive: true, force: true });
});

describe('berth validate bounds every input', () => {
  it('10,000 aliases: stops at the limit, at its line (before: 55 s)', async () => {
    const dir = await folder({ 'a.yaml': h.manyAliases(10_000) });
    const res = await validate(['.'], dir);
    expect(res.code).toBe(1);
    expect(lines(res.stdout)).toEqual(['a.yaml:1007:10: more than 1000 alias uses in this file; berth bounds alias expansion (write the values out)']);
    expect(res.ms).toBeLessThan(30_000);
  });

  it('aliases that multiply errors: at most 100 lines, then how many more (before: 90,000 lines, 19 MB)', async () => {
    const dir = await folder({ 'a.yaml': h.billionLaughs(300) });
    const res = await validate(['.'], dir);
    expect(res.code).toBe(1);
    const out = lines(res.stdout);
    expect(out).toHaveLength(101);
    expect(out[100]).toMatch(/^… and \d{5} more errors$/);
    expect(res.stdout.length).toBeLessThan(20_000);
  });

  it('a 48 MiB file: refused at the file before it is read (before: 88 s, 2.4 GB)', async () => {
    const dir = await folder({ 'big.yaml': Buffer.alloc(48 * MiB, 'a'), 'ok.yaml': CM('ok') });
    const res = await validate(['.'], dir);
    expect(res.code).toBe(1);
    expect(lines(res.stdout)).toEqual(['big.yaml:1:1: file is 48 MiB; manifest files are at most 1 MiB']);
    expect(res.ms).toBeLessThan(30_000);
  });

  it('an operator may move the size limits: --max-file-size and --max-commit-size, checked as sizes', async () => {
    // Three ConfigMaps of half a MiB (a ConfigMap holds at most 1 MiB) in one file of 1.5 MiB.
    const big = [0, 1, 2].map((i) => h.bigConfigMap(MiB / 2).replace('name: cfg', `name: cfg-${i}`)).join('---\n');
    const dir = await folder({ 'big.yaml': big, 'ok.yaml': CM('ok') });
    expect(lines((await validate(['.'], dir)).stdout)).toEqual(['big.yaml:1:1: file is 1.5 MiB; manifest files are at most 1 MiB']);
    const raised = await validate(['--max-file-size', '2Mi', '.'], dir);
    expect([raised.code, raised.stdout]).toEqual([0, '']);
    await fs.writeFile(path.join(dir, 'big2.yaml'), big.replaceAll('name: cfg-', 'name: two-'));
    const commit = await validate(['--max-file-size', '2Mi', '--max-commit-size', '2Mi', '.'], dir);
    expect(commit.code).toBe(1);
    expect(lines(commit.stdout)).toEqual(['big2.yaml:1:1: the manifest files up to this one hold more than 2 MiB, the most berth reads per commit; the files after it are not read']);
    const inverted = await validate(['--max-file-size', '2Mi', '--max-commit-size', '1Mi', '.'], dir);
    expect([inverted.code, inverted.stderr.trim()]).toEqual([2, 'berth: --max-file-size (2 MiB) is more than --max-commit-size (1 MiB); a file is part of its commit: raise --max-commit-size too']);
    const wrong = await validate(['--max-commit-size', 'lots', '.'], dir);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('--max-commit-size: "lots" is not a valid quantity');
  });

  it('a valid 1 MiB one-line JSON ConfigMap: valid, without the quadratic duplicate-key check (before: 80 s)', async () => {
    const dir = await folder({ 'cm.json': h.oneLineJsonConfigMap(38_000) });
    const res = await validate(['.'], dir);
    expect(res.stdout).toBe('');
    expect(res.code).toBe(0);
    expect(res.ms).toBeLessThan(30_000);
  });

  it('five 1 MiB unknown keys: one short line each (before: 33 s, each echoed whole)', async () => {
    const files = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`k${i}.json`, h.hugeUnknownJsonKey(MiB - 200, `c${i}`)]));
    const dir = await folder(files);
    const res = await validate(['.'], dir);
    expect(res.code).toBe(1);
    const out = lines(res.stdout);
    expect(out.map((l) => l.slice(0, 12))).toEqual(['k0.json:1:71', 'k1.json:1:71', 'k2.json:1:71', 'k3.json:1:71', 'k4.json:1:71']);
    for (const l of out) expect(l.length).toBeLessThan(400);
    expect(res.ms).toBeLessThan(30_000);
  });

  it('deep nesting and many documents are refused at their place', async () => {
    const dir = await folder({ 'deep.yaml': h.deepNesting(100_000), 'docs.yaml': h.manyDocuments(1_001) });
    const res = await validate(['.'], dir);
    expect(res.code).toBe(1);
    expect(lines(res.stdout)).toEqual([
      'deep.yaml:5:107: nested deeper than 100 levels; berth reads at most 100',
      'docs.yaml:4000:1: more than 1000 documents in one file; split it',
    ]);
  });
});

describe('berth validate never follows a link nor opens a special file', () => {
  it('links to host files are reported by path, and their contents never printed (before: /etc/passwd in the error)', async () => {
    const dir = await folder({ 'ok.yaml': CM('ok') });
    for (const [name, target] of [['passwd.yaml', '/etc/passwd'], ['env.yaml', '/proc/self/environ'], ['zero.yaml', '/dev/zero']]) {
      await fs.symlink(target ?? '', path.join(dir, name ?? ''));
    }
    const res = await validate(['.'], dir);
    expect(res.code).toBe(0);
    expect(lines(res.stderr)).toEqual([
      'env.yaml: skipped: symbolic link, not followed',
      'passwd.yaml: skipped: symbolic link, not followed',
      'zero.yaml: skipped: symbolic link, not followed',
      '1 file(s), 1 object(s): valid',
    ]);
    expect(res.stdout).toBe('');
  });

  it('a link given by name is not followed either (a glob expands to it)', async () => {
    const dir = await folder();
    await fs.symlink('/etc/passwd', path.join(dir, 'x.yaml'));
    const res = await validate(['x.yaml'], dir);
    expect(res.code).toBe(1);
    expect(res.stderr).not.toMatch(/root:/);
    expect(lines(res.stderr)).toEqual(['x.yaml: skipped: symbolic link, not followed', 'berth: no manifest files (.yaml, .yml, .json) found in x.yaml']);
  });

  it('a FIFO is reported, not opened (before: hung for ever), in a folder and by name', async () => {
    const dir = await folder({ 'ok.yaml': CM('ok') });
    await run('mkfifo', [path.join(dir, 'pipe.yaml')]);
    const inFolder = await validate(['.'], dir, 30_000);
    expect(inFolder.code).toBe(0);
    expect(lines(inFolder.stderr)[0]).toBe('pipe.yaml: skipped: FIFO, not a regular file');
    const byName = await validate(['pipe.yaml', 'ok.yaml'], dir, 30_000);
    expect(byName.code).toBe(0);
    expect(lines(byName.stderr)[0]).toBe('pipe.yaml: skipped: FIFO, not a regular file');
  });

  it('a dangling link and a folder loop do not abort the run (before: a misleading "no such file")', async () => {
    const dir = await folder({ 'ok.yaml': CM('ok'), 'sub/cm.yaml': CM('sub') });
    await fs.symlink('/nonexistent', path.join(dir, 'dangling.yaml'));
    await fs.symlink('..', path.join(dir, 'sub', 'loop'));
    const res = await validate(['.'], dir);
    expect(res.code).toBe(0);
    expect(lines(res.stderr)).toEqual([
      'dangling.yaml: skipped: symbolic link, not followed',
      'sub/loop: skipped: symbolic link, not followed',
      '2 file(s), 2 object(s): valid',
    ]);
  });

  it('an unreadable file is an error at its path, not a crash (before: exit 70, raw EACCES)', async () => {
    const dir = await folder({ 'ok.yaml': CM('ok'), 'secret.yaml': CM('secret') });
    await fs.chmod(path.join(dir, 'secret.yaml'), 0o000);
    await fs.chmod(base, 0o755);
    // root reads any file: run berth as nobody then (the folder and the checkout are world-readable).
    const asNobody = process.getuid?.() === 0;
    const res = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', path.join(root, 'node_modules/tsx/dist/loader.mjs'), path.join(root, 'src/cli/main.ts'), 'validate', '.'], {
        cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], ...(asNobody ? { uid: 65534, gid: 65534, env: { ...process.env, HOME: '/tmp' } } : {}),
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('exit', (code) => resolve({ code, stdout, stderr }));
    });
    expect(res.stderr).not.toMatch(/\n\s+at /);
    expect(lines(res.stdout)).toEqual(['secret.yaml:1:1: cannot read: permission denied']);
    expect(res.code).toBe(1);
  });
});

describe('berth validate output cannot be forged', () => {
  it('a kind with a newline stays on its line, escaped (before: a forged ::error line)', async () => {
    const dir = await folder({ 'a.yaml': h.FORGED_KIND });
    const res = await validate(['.'], dir);
    expect(res.code).toBe(1);
    expect(lines(res.stdout)).toHaveLength(1);
    expect(res.stdout).toMatch(/^a\.yaml:2:7: kind Evil\\n::error file=README\.md::forged is not supported/);
    expect(res.stdout).not.toMatch(/^::error/m);
  });

  it('a file name with a newline is escaped', async () => {
    const dir = await folder({ 'x\n::error file=y::z.yaml': 'apiVersion: v1\nkind: Nope\n' });
    const res = await validate(['.'], dir);
    expect(lines(res.stdout)).toHaveLength(1);
    expect(res.stdout).toMatch(/^x\\n::error file=y::z\.yaml:2:7: kind Nope/);
  });
});

describe('berth validate positions and encodings', () => {
  it.each([
    ['an unterminated quote, where it opens (before: line 157)', h.unterminatedQuote(), 'a.yaml:5:14: invalid YAML: the quote opened here is never closed'],
    ['a byte order mark, without shifting columns', h.BOM_FILE, 'a.yaml:1:7: kind Nope is not supported by berth (supported: Deployment, ConfigMap, Secret, Service, ServiceAccount); remove it, or skip the kind on purpose with --skip-kind Nope'],
    ['invalid UTF-8, naming the line (before: replaced silently)', h.invalidUtf8(), 'a.yaml:3:18: invalid UTF-8 (a byte sequence that is not UTF-8 here); save the file as UTF-8'],
    ['UTF-16, readably', h.utf16(), 'a.yaml:1:1: file is UTF-16LE text; berth reads manifests as UTF-8: save it as UTF-8'],
  ])('%s', async (_, data, line) => {
    const res = await validate(['.'], await folder({ 'a.yaml': data }));
    expect(res.code).toBe(1);
    expect(lines(res.stdout)).toEqual([line]);
  });

  it('YAML 1.1 spellings Kubernetes reads differently are warnings on stderr, and the file is valid', async () => {
    const res = await validate(['.'], await folder({ 'a.yaml': h.YAML11 }));
    expect(res.code).toBe(0);
    expect(lines(res.stderr).slice(0, 3)).toEqual([
      'warning: a.yaml:5:6: yes is the string "yes" here, but Kubernetes (YAML 1.1) reads it as the boolean true; write "yes" or true',
      'warning: a.yaml:6:6: NO is the string "NO" here, but Kubernetes (YAML 1.1) reads it as the boolean false; write "NO" or false',
      'warning: a.yaml:7:6: on is the string "on" here, but Kubernetes (YAML 1.1) reads it as the boolean true; write "on" or true',
    ]);
  });
});

describe('berth validate as a command', () => {
  const SVC = 'apiVersion: v1\nkind: Service\nmetadata: {name: web}\n';
  const ING = 'apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web}\n';

  it.each([
    ['repeated', ['--skip-kind', 'Service', '--skip-kind', 'Ingress', 'dir']],
    ['comma-separated', ['--skip-kind', 'Service,Ingress', 'dir']],
  ])('--skip-kind %s does not swallow the path after it', async (_, args) => {
    const dir = await folder({ 'dir/svc.yaml': SVC, 'dir/ing.yaml': ING, 'dir/cm.yaml': CM('c') });
    const res = await validate(args, dir);
    expect(res.code).toBe(0);
    expect(lines(res.stderr)).toEqual(['dir/ing.yaml:1: skipped Ingress web (--skip-kind)', 'dir/svc.yaml:1: skipped Service web (--skip-kind)', '3 file(s), 1 object(s): valid']);
  });

  it('a missing path is a usage error: exit 2', async () => {
    const res = await validate(['nope'], await folder());
    expect(res.code).toBe(2);
    expect(lines(res.stderr)).toEqual(['berth: nope: no such file or directory; pass existing files or folders']);
  });

  it('an empty folder says that no manifest was found: exit 1', async () => {
    const res = await validate(['.'], await folder({ 'README.md': '# hi\n' }));
    expect(res.code).toBe(1);
    expect(lines(res.stderr)).toEqual(['berth: no manifest files (.yaml, .yml, .json) found in .']);
  });

  it('the same folder twice reads each file once (before: every object its own duplicate)', async () => {
    const dir = await folder({ 'a.yaml': CM('a') });
    const res = await validate(['.', dir, 'a.yaml'], dir);
    expect(res.code).toBe(0);
    expect(lines(res.stderr)).toEqual(['1 file(s), 1 object(s): valid']);
  });

  it('a closed stdout (as `| head -1` leaves it) ends berth quietly (before: an EPIPE stack trace)', async () => {
    const dir = await folder({ 'a.yaml': h.billionLaughs(300) });
    const res = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn('sh', ['-c', `"${process.execPath}" --import "${path.join(root, 'node_modules/tsx/dist/loader.mjs')}" "${path.join(root, 'src/cli/main.ts')}" validate . | head -c 1 >/dev/null`], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('exit', (code) => resolve({ code, stderr }));
    });
    expect(res.stderr).not.toMatch(/EPIPE|\n\s+at /);
    expect(res.code).toBe(0); // head's exit code
  });

  it('a folder and its commit (--rev) give the same answer, links reported in both; a missing revision is a usage error', async () => {
    const dir = await folder({ 'ok.yaml': CM('ok'), 'apps/bad.yaml': h.FORGED_KIND, 'apps/dup.yaml': CM('ok') });
    await fs.symlink('/etc/passwd', path.join(dir, 'apps', 'passwd.yaml'));
    const git = (...args: string[]): Promise<unknown> => run('git', ['-c', 'user.name=t', '-c', 'user.email=t@t.invalid', ...args], { cwd: dir });
    await git('init', '--quiet');
    await git('add', '--all');
    await git('commit', '--quiet', '--message', 'tree');
    const tree = await validate(['.'], dir);
    const commit = await validate(['--rev', 'HEAD'], dir);
    expect(commit).toMatchObject({ code: 1, stdout: tree.stdout, stderr: tree.stderr });
    expect(lines(tree.stdout)).toHaveLength(2);
    expect(tree.stderr).toMatch(/^apps\/passwd\.yaml: skipped: symbolic link, not followed$/m);
    const missing = await validate(['--rev', 'nope'], dir);
    expect(missing.code).toBe(2);
    expect(lines(missing.stderr)).toEqual([expect.stringMatching(/^berth: revision 'nope' not found in .*; pass --rev with a branch, tag or commit of the repository$/)]);
  });

  it('--version prints the version', async () => {
    const res = await runBerth(['--version']);
    expect(res.code).toBe(0);
    const pkg = JSON.parse(await fs.readFile(path.join(root, 'package.json'), 'utf8')) as { version: string };
    expect(res.stdout.trim()).toBe(pkg.version);
  });

  it('a folder over 1 MiB, read file by file in a worker per core, says what one thread says', async () => {
    const files: Record<string, string> = { 'y11.yaml': h.YAML11 };
    for (let i = 0; i < 12; i++) files[`big-${String(i).padStart(2, '0')}.yaml`] = h.bigConfigMap(120_000).replace('name: cfg', `name: big-${i}`);
    const svc = (name: string, nodePort: number): string =>
      `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}}\nspec:\n  type: NodePort\n  selector: {app: x}\n  ports: [{port: 80, nodePort: ${nodePort}}]\n`;
    files['svc-a.yaml'] = svc('a', 30001);
    files['svc-b.yaml'] = svc('b', 30002);
    const dir = await folder(files);
    await fs.symlink('/etc/passwd', path.join(dir, 'passwd.yaml'));
    const valid = await validate(['.'], dir);
    expect(valid.code).toBe(0);
    expect(lines(valid.stderr)).toEqual([
      'passwd.yaml: skipped: symbolic link, not followed',
      'warning: y11.yaml:5:6: yes is the string "yes" here, but Kubernetes (YAML 1.1) reads it as the boolean true; write "yes" or true',
      'warning: y11.yaml:6:6: NO is the string "NO" here, but Kubernetes (YAML 1.1) reads it as the boolean false; write "NO" or false',
      'warning: y11.yaml:7:6: on is the string "on" here, but Kubernetes (YAML 1.1) reads it as the boolean true; write "on" or true',
      '15 file(s), 15 object(s): valid',
    ]);
    // Each file is fine alone; across them, an object defined twice and a nodePort asked twice.
    await fs.writeFile(path.join(dir, 'svc-b.yaml'), svc('b', 30001));
    await fs.writeFile(path.join(dir, 'zz-again.yaml'), h.bigConfigMap(100).replace('name: cfg', 'name: big-3'));
    const invalid = await validate(['.'], dir);
    expect(invalid.code).toBe(1);
    expect(lines(invalid.stdout)).toEqual([
      'svc-b.yaml:7:32: nodePort 30001 is already used by Service default/a at svc-a.yaml:7:32; each nodePort is published once per node',
      'zz-again.yaml:4:9: duplicate ConfigMap default/big-3: also defined at big-03.yaml:4:9',
    ]);
  });

  it('loads no etcd, Docker or Git client', async () => {
    const dir = await folder({ 'a.yaml': CM('a'), 'probe.mjs': PROBE });
    const res = await run(process.execPath, ['--import', path.join(root, 'node_modules/tsx/dist/loader.mjs'), '--import', './probe.mjs', path.join(root, 'src/cli/main.ts'), 'validate', 'a.yaml'], { cwd: dir });
    expect(lines(res.stderr)).toContain('loaded: none');
  });
});

// Names the client libraries in the require cache when the process exits (they are CommonJS).
const PROBE = `import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
process.on('exit', () => {
  const names = Object.keys(require.cache).map((k) => /node_modules\\/(etcd3|dockerode|isomorphic-git|@grpc)\\//.exec(k)?.[1]).filter(Boolean);
  process.stderr.write('loaded: ' + ([...new Set(names)].join(',') || 'none') + '\\n');
});
`;
