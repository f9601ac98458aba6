import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { runBerth } from '../support/berth.js';
import { createRepo, type TestRepo } from '../support/repo.js';
import { uniqueName } from '../support/names.js';

/** The cases of a flag's value berth refuses: exit 2, as every usage error. */
const USAGE = new Set([
  'a malformed --interval', 'a malformed --label', "a --label of berth's own (agent alone)", 'an --address that is not an IP (agent alone)',
  'an --allow rule berth does not know (agent alone)', 'a --node-lease-renew not shorter than --node-lease-ttl (agent alone)',
  'a --node-lease-ttl of part of a second', 'a malformed --node-grace (controller alone)',
  'a credentials file for a local repository', 'a forge status without a token file', 'a forge URL without a forge status',
]);

// Each error a user can hit at start: one line on stderr that names the fix, a non-zero exit, no stack.
describe('berth up refuses to start with one clear line', () => {
  let repo: TestRepo;
  let dataDir = '';
  let emptyBin = '';
  let openCredentials = '';

  beforeAll(async () => {
    repo = await createRepo(inject('gitRoot'), uniqueName('errs'));
    await repo.write('app.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {a: b}\n');
    await repo.commit('one config map');
    await repo.push();
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-errs-'));
    emptyBin = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-nobin-'));
    openCredentials = path.join(dataDir, 'creds-open');
    await fs.writeFile(openCredentials, 'username: deploy\npassword: s3cret\n');
    await fs.chmod(openCredentials, 0o644);
  });
  afterAll(async () => {
    await fs.rm(dataDir, { recursive: true, force: true });
    await fs.rm(emptyBin, { recursive: true, force: true });
  });

  const base = (): string[] => ['--data-dir', dataDir, '--docker', inject('dockerHost'), '--node', uniqueName('n')];

  it.each([
    {
      name: 'a missing etcd binary',
      args: (): string[] => ['up', '--repo', repo.workDir, ...base()],
      env: (): NodeJS.ProcessEnv => ({ ...process.env, PATH: emptyBin }),
      line: /^berth: etcd not found on PATH; install it \(apt-get install etcd-server\) or pass --etcd <url>/,
    },
    {
      name: 'an unreachable Docker',
      args: (): string[] => ['up', '--repo', repo.workDir, '--data-dir', dataDir, '--docker', 'unix:///nonexistent/docker.sock'],
      env: (): NodeJS.ProcessEnv => process.env,
      line: /^berth: cannot reach Docker at .*nonexistent\/docker\.sock.*; start dockerd or pass --docker <socket\|url>/,
    },
    {
      name: 'an unreachable repository URL',
      args: (): string[] => ['up', '--repo', 'http://127.0.0.1:9/nothing.git', ...base()],
      env: (): NodeJS.ProcessEnv => process.env,
      line: /^berth: cannot reach repository http:\/\/127\.0\.0\.1:9\/nothing\.git: .*; check the --repo URL/,
    },
    {
      name: 'an unreachable repository URL with credentials, never shown',
      args: (): string[] => ['up', '--repo', 'http://deploy:s3cret-token@127.0.0.1:9/nothing.git', ...base()],
      env: (): NodeJS.ProcessEnv => process.env,
      line: /^berth: cannot reach repository http:\/\/\[redacted\]@127\.0\.0\.1:9\/nothing\.git: (?!.*s3cret)/,
    },
    {
      name: 'a credentials file others may read',
      args: (): string[] => ['up', '--repo', repo.url(inject('gitBaseUrl')), '--repo-credentials-file', openCredentials, ...base()],
      env: (): NodeJS.ProcessEnv => process.env,
      line: /^berth: credentials file \S+\/creds-open is open to others \(mode 0644\); run chmod 600 \S+\/creds-open$/,
    },
    {
      name: 'a credentials file for a local repository',
      args: (): string[] => ['up', '--repo', repo.workDir, '--repo-credentials-file', openCredentials, ...base()],
      env: (): NodeJS.ProcessEnv => process.env,
      line: /^berth: --repo-credentials-file is for http\(s\) repositories; \S+ is a local path; leave out --repo-credentials-file$/,
    },
    {
      name: 'a forge status without a token file',
      args: (): string[] => ['up', '--repo', repo.url(inject('gitBaseUrl')), '--status', 'github', ...base()],
      env: (): NodeJS.ProcessEnv => process.env,
      line: /^berth: --status github needs --forge-token-file; pass --forge-token-file with a file \(mode 0600\) holding an API token that may write commit statuses$/,
    },
    {
      name: 'a forge URL without a forge status',
      args: (): string[] => ['up', '--repo', repo.url(inject('gitBaseUrl')), '--forge-url', 'https://api.github.com', ...base()],
      env: (): NodeJS.ProcessEnv => process.env,
      line: /^berth: --forge-url, --forge-token-file, --public-url and --status-context-suffix are for --status github, gitea or gitlab, not git-notes; leave them out, or pass --status with a forge$/,
    },
    {
      name: 'a keyring that does not exist',
      args: (): string[] => ['up', '--repo', repo.workDir, '--verify-commits', '/nonexistent/keyring', ...base()],
      env: (): NodeJS.ProcessEnv => process.env,
      line: /^berth: keyring \/nonexistent\/keyring does not exist; pass --verify-commits with a file berth can read$/,
    },
    {
      name: 'a missing branch (remote)',
      args: (): string[] => ['up', '--repo', repo.url(inject('gitBaseUrl')), '--branch', 'nope', ...base()],
      env: (): NodeJS.ProcessEnv => process.env,
      line: /^berth: branch 'nope' not found in http:\/\/.*: it has main; pass --branch with an existing branch/,
    },
    {
      name: 'a missing branch (local path)',
      args: (): string[] => ['up', '--repo', repo.workDir, '--branch', 'nope', ...base()],
      env: (): NodeJS.ProcessEnv => process.env,
      line: /^berth: branch 'nope' not found in .*: it has main; pass --branch with an existing branch/,
    },
    {
      name: 'a folder that is not a repository',
      args: (): string[] => ['up', '--repo', emptyBin, ...base()],
      env: (): NodeJS.ProcessEnv => process.env,
      line: /^berth: .* is not a Git repository; pass --repo with a repository path or an http\(s\) URL/,
    },
    {
      name: 'a malformed --interval',
      args: (): string[] => ['up', '--repo', repo.workDir, '--interval', '5 parsecs', ...base()],
      env: (): NodeJS.ProcessEnv => process.env,
      line: /^berth: invalid --interval '5 parsecs'; use a number with ms, s, m or h, such as 30s$/,
    },
    {
      name: 'an unreachable etcd',
      args: (): string[] => ['up', '--repo', repo.workDir, '--etcd', 'http://127.0.0.1:9', ...base()],
      env: (): NodeJS.ProcessEnv => process.env,
      line: /^berth: cannot reach etcd at http:\/\/127\.0\.0\.1:9; start etcd there/,
    },
    {
      name: 'a malformed --label',
      args: (): string[] => ['up', '--repo', repo.workDir, '--label', 'zone', ...base()],
      env: (): NodeJS.ProcessEnv => process.env,
      line: /^berth: --label "zone": expected key=value; pass --label key=value, e.g. --label zone=eu-1 \(repeat it for more labels\)$/,
    },
    {
      name: 'a --label of berth\'s own (agent alone)',
      args: (): string[] => ['agent', '--label', 'berth.io/hostname=x', '--etcd', 'http://127.0.0.1:9', '--docker', inject('dockerHost')],
      env: (): NodeJS.ProcessEnv => process.env,
      line: /^berth: --label "berth\.io\/hostname=x": keys under berth\.io\/ are set by berth itself; pass --label key=value/,
    },
    {
      name: 'an --address that is not an IP (agent alone)',
      args: (): string[] => ['agent', '--address', 'node-1.example', '--etcd', 'http://127.0.0.1:9', '--docker', inject('dockerHost')],
      env: (): NodeJS.ProcessEnv => process.env,
      line: /^berth: --address "node-1\.example" is not an IP address; pass the IPv4 \(or IPv6\) address other nodes reach this one at/,
    },
    {
      name: 'an --allow rule berth does not know (agent alone)',
      args: (): string[] => ['agent', '--allow', 'privileged,root', '--etcd', 'http://127.0.0.1:9', '--docker', inject('dockerHost')],
      env: (): NodeJS.ProcessEnv => process.env,
      line: /^berth: --allow "root": not a rule berth knows; pass --allow with some of privileged, capabilities, hostNetwork, hostPID, hostIPC, seccompUnconfined, hostPath$/,
    },
    {
      name: 'a missing --registry-auth-file (agent alone)',
      args: (): string[] => ['agent', '--registry-auth-file', path.join(emptyBin, 'none.json'), '--etcd', 'http://127.0.0.1:9', '--docker', inject('dockerHost')],
      env: (): NodeJS.ProcessEnv => process.env,
      line: /^berth: cannot read registry credentials from .*none\.json: no such file; pass an existing file to --registry-auth-file/,
    },
    {
      name: 'a --registry-auth-file that is not JSON, never quoted (it may hold a password)',
      args: (): string[] => ['up', '--repo', repo.workDir, '--registry-auth-file', path.join(dataDir, 'bad-auth.json'), ...base()],
      env: (): NodeJS.ProcessEnv => process.env,
      line: /^berth: cannot read registry credentials from .*bad-auth\.json: it is not valid JSON; fix the file \(docker login writes it\), or pass --registry-auth-file <file>$/,
    },
    {
      name: 'a --node-lease-renew not shorter than --node-lease-ttl (agent alone)',
      args: (): string[] => ['agent', '--node-lease-ttl', '4s', '--node-lease-renew', '4s', '--etcd', 'http://127.0.0.1:9', '--docker', inject('dockerHost')],
      env: (): NodeJS.ProcessEnv => process.env,
      line: /^berth: --node-lease-renew \(4s\) must be shorter than --node-lease-ttl \(4s\); renew a few times per TTL, such as --node-lease-ttl 4s --node-lease-renew 1s$/,
    },
    {
      name: 'a --node-lease-ttl of part of a second',
      args: (): string[] => ['up', '--repo', repo.workDir, '--node-lease-ttl', '2500ms', ...base()],
      env: (): NodeJS.ProcessEnv => process.env,
      line: /^berth: --node-lease-ttl must be whole seconds, got '2500ms'; etcd grants leases in seconds: use a value such as 4s$/,
    },
    {
      name: 'a malformed --node-grace (controller alone)',
      args: (): string[] => ['controller', '--node-grace', 'soon', '--etcd', 'http://127.0.0.1:9'],
      env: (): NodeJS.ProcessEnv => process.env,
      line: /^berth: invalid --node-grace 'soon'; use a number with ms, s, m or h, such as 30s$/,
    },
  ])('$name', async ({ name, args, env, line }) => {
    await fs.writeFile(path.join(dataDir, 'bad-auth.json'), '{"auths": {"r": {"password": "s3cret"', { mode: 0o600 });
    const res = await runBerth(args(), { env: env() });
    // A flag's value berth cannot take is a usage error (2); the rest failed to start (1).
    expect(res.code).toBe(USAGE.has(name) ? 2 : 1);
    const lines = res.stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(line);
    expect(res.stderr).not.toMatch(/\n\s+at /);
    expect(res.stderr).not.toMatch(/s3cret/);
  });
});

describe('berth help', () => {
  // Every flag a command offers does something there: only the commands that run an agent reach Docker.
  it.each([
    ['up', true, 'where berth keeps its etcd, repository mirrors and pod volumes'],
    ['agent', true, "where the agent keeps its pods' volumes (ConfigMap files, emptyDirs) under pods/<node>/; Docker must see the same path"],
    ['sync', false, 'where berth keeps its repository mirrors'],
    ['controller', false, undefined],
    ['scheduler', false, undefined],
  ] as const)('berth %s offers --docker: %s', async (command, docker, dataDir) => {
    const res = await runBerth([command, '--help']);
    expect(res.code).toBe(0);
    expect(res.stdout.includes('--docker')).toBe(docker);
    if (dataDir) expect(res.stdout.replace(/\s+/g, ' ')).toContain(`--data-dir <dir> ${dataDir} (default: ".berth")`);
    else expect(res.stdout).not.toContain('--data-dir');
  });

  it('refuses --docker where nothing uses it', async () => {
    const res = await runBerth(['controller', '--docker', '/var/run/docker.sock', '--etcd', 'http://127.0.0.1:9']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/unknown option '--docker'/);
  });
});

describe('berth validate', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-validate-'));
    await fs.writeFile(path.join(dir, 'good.yaml'), 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: good}\ndata: {k: v}\n');
    await fs.mkdir(path.join(dir, 'bad'));
    await fs.writeFile(path.join(dir, 'bad', 'svc.yaml'), 'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: web}\n');
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('exits 0 for valid files', async () => {
    const res = await runBerth(['validate', path.join(dir, 'good.yaml')]);
    expect(res.code).toBe(0);
    expect(res.stdout).toBe('');
  });

  it('exits 1 with file:line:col: message lines for invalid ones', async () => {
    const res = await runBerth(['validate', dir], { cwd: dir });
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/^bad\/svc\.yaml:2:7: kind PersistentVolumeClaim is not supported/m);
  });

  it('skips kinds listed with --skip-kind, and says so', async () => {
    const res = await runBerth(['validate', '--skip-kind', 'PersistentVolumeClaim', '--', dir], { cwd: dir });
    expect(res.code).toBe(0);
    expect(res.stderr).toMatch(/^bad\/svc\.yaml:1: skipped PersistentVolumeClaim web \(--skip-kind\)$/m);
  });

  it('names a path that does not exist, as a usage error (exit 2)', async () => {
    const res = await runBerth(['validate', path.join(dir, 'nope.yaml')]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/nope\.yaml: no such file or directory/);
  });
});
