import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { EtcdStore, decode, historyPrefix, syncErrorKey, type Store, type SyncErrorRecord } from '../../src/store/index.js';
import { runBerth, spawnBerth, type BerthProcess } from '../support/berth.js';
import { startGitServer, type GitServerHandle } from '../support/git-server.js';
import { uniqueName } from '../support/names.js';
import { isRunning } from '../support/process.js';
import { createRepo, type TestRepo } from '../support/repo.js';
import { GiveUp, waitFor } from '../support/wait.js';

const USER = 'deploy';
const PASSWORD = 'Team-Passw0rd-41zz';
const WRONG = 'Stale-Passw0rd-83yy';
const configMap = (name: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {a: b}\n`;

// Several sources from one config file in one `berth sync`: each under its own name in etcd, and one
// that cannot be read (a wrong password, a server that is not there) holds up no other.
describe('berth sync --config with several sources', () => {
  let server: GitServerHandle;
  let open: TestRepo;
  let closed: TestRepo;
  let dir = '';
  let store: Store;
  let berth: BerthProcess | undefined;
  const prefix = `/${uniqueName('sources')}`;

  beforeAll(async () => {
    server = await startGitServer(inject('gitRoot'), { basicAuth: { username: USER, password: PASSWORD } });
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-sources-'));
    open = await createRepo(inject('gitRoot'), uniqueName('open'));
    closed = await createRepo(inject('gitRoot'), uniqueName('closed'));
    store = await EtcdStore.connect([inject('etcdEndpoint')], prefix);
  });
  afterAll(async () => {
    await berth?.stop();
    for (const e of (await store.list('')).entries) await store.commit({ del: [e.key] });
    await store.close();
    await open.dispose();
    await closed.dispose();
    await server.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const credentials = async (password: string): Promise<void> => {
    await fs.writeFile(path.join(dir, 'closed.creds'), `username: ${USER}\npassword: ${password}\n`);
    await fs.chmod(path.join(dir, 'closed.creds'), 0o600);
  };
  const applied = async (source: string): Promise<string[]> =>
    (await store.list(historyPrefix(source))).entries.map((e) => decode('history', e.key, e.value)).filter((h) => h.outcome === 'applied').map((h) => h.commit);
  const syncError = async (source: string): Promise<SyncErrorRecord | undefined> => {
    const e = await store.get(syncErrorKey(source));
    return e && decode('syncError', e.key, e.value);
  };
  const alive = (): void => {
    if (berth && !isRunning(berth.child)) throw new GiveUp(`berth sync exited:\n${berth.output.toString()}`);
  };

  it('applies each source under its own name while another fails, and that one once it is fixed', async () => {
    await open.write('a.yaml', configMap('a'));
    const first = await open.commit('a');
    await closed.write('b.yaml', configMap('b'));
    const closedHead = await closed.commit('b');
    await closed.push();
    await credentials(WRONG);
    await fs.writeFile(path.join(dir, 'berth.yaml'), `# three sources, two of them failing
sources:
  - name: open
    repo: ${open.workDir}
    interval: 1s
  - name: closed
    repo: ${closed.url(server.url)}
    repoCredentialsFile: closed.creds
    interval: 1s
  - name: nowhere
    repo: http://127.0.0.1:9/nothing.git
    interval: 1s
    status: none
`);
    berth = spawnBerth(['sync', '--config', path.join(dir, 'berth.yaml'), '--etcd', inject('etcdEndpoint'), '--prefix', prefix, '--data-dir', dir]);

    await waitFor(async () => (alive(), (await applied('open')).includes(first)), { timeoutMs: 30_000, what: 'the open source applied' });
    const refused = await waitFor(async () => (alive(), syncError('closed')), { timeoutMs: 30_000, what: 'the closed source\'s error' });
    expect(refused).toMatchObject({
      code: 'EAUTH',
      message: `${closed.url(server.url)} refused the credentials from repoCredentialsFile ${path.join(dir, 'closed.creds')} (HTTP 401); check the user name and password or token in ${path.join(dir, 'closed.creds')}; berth tries again at each poll`,
    });
    // Unreachable for a while (10 s) before it shows, as for one source.
    const unreachable = await waitFor(async () => (alive(), syncError('nowhere')), { timeoutMs: 45_000, what: 'the unreachable source\'s error' });
    expect(unreachable.message).toMatch(/^cannot reach repository http:\/\/127\.0\.0\.1:9\/nothing\.git: /);

    // The open source goes on applying while the two others fail.
    await open.write('c.yaml', configMap('c'));
    const second = await open.commit('c');
    await waitFor(async () => (alive(), (await applied('open')).includes(second)), { timeoutMs: 30_000, what: 'the second commit of the open source' });
    expect(await applied('closed')).toEqual([]);

    await credentials(PASSWORD);
    await waitFor(async () => (alive(), (await applied('closed')).includes(closedHead)), { timeoutMs: 30_000, what: 'the closed source applied once its password is right' });
    await waitFor(async () => (await syncError('closed')) === undefined, { timeoutMs: 15_000, what: 'its error cleared' });
    expect(await syncError('nowhere')).toBeDefined();
    expect(berth.output.toString()).not.toContain(WRONG);
    expect(berth.output.toString()).not.toContain(PASSWORD);
  });

  it("keeps each source's historyLimit of history records, and --history-limit's for a source without one", async () => {
    const [short, long] = [await createRepo(inject('gitRoot'), uniqueName('short')), await createRepo(inject('gitRoot'), uniqueName('long'))];
    const [shortName, longName] = [uniqueName('short'), uniqueName('long')];
    const records = async (source: string): Promise<string[]> => (await store.list(historyPrefix(source))).entries.map((e) => decode('history', e.key, e.value).commit);
    await fs.writeFile(path.join(dir, 'limits.yaml'), `sources:
  - {name: ${shortName}, repo: ${short.workDir}, interval: 1s, status: none, historyLimit: 1}
  - {name: ${longName}, repo: ${long.workDir}, interval: 1s, status: none}
`);
    const proc = spawnBerth(['sync', '--config', path.join(dir, 'limits.yaml'), '--history-limit', '2', '--etcd', inject('etcdEndpoint'), '--prefix', prefix, '--data-dir', dir]);
    try {
      const heads: { short: string[]; long: string[] } = { short: [], long: [] };
      for (const name of ['a', 'b', 'c']) {
        await short.write('x.yaml', configMap(name));
        await long.write('x.yaml', configMap(name));
        heads.short.push(await short.commit(name));
        heads.long.push(await long.commit(name));
        await waitFor(async () => {
          if (!isRunning(proc.child)) throw new GiveUp(`berth sync exited:\n${proc.output.toString()}`);
          return (await applied(shortName)).includes(heads.short.at(-1) ?? '') && (await applied(longName)).includes(heads.long.at(-1) ?? '');
        }, { timeoutMs: 30_000, what: `commit ${name} applied in both sources` });
      }
      // Pruning follows each new record: poll until it is done.
      await waitFor(async () => (await records(shortName)).length === 1 && (await records(longName)).length === 2, { timeoutMs: 15_000, what: 'both histories pruned' });
      expect(await records(shortName)).toEqual(heads.short.slice(2));
      expect(await records(longName)).toEqual(heads.long.slice(1));
    } finally {
      await proc.stop();
      await short.dispose();
      await long.dispose();
    }
  });

  it.each([
    {
      name: 'an unknown field, by name and place',
      config: 'sources:\n  - name: a\n    repo: /srv/a\n    brnach: main\n',
      args: [] as string[],
      line: (file: string) => `${file}:4:5: unknown field 'brnach' in a source; the fields are name, repo, branch, path, interval, repoCredentialsFile, status, skipKinds, verifyCommits, forgeUrl, forgeTokenFile, publicUrl, statusContextSuffix, autoRevert, historyLimit, allowPlainSecrets; fix the config file (README: Several sources)`,
    },
    {
      name: 'an interval that does not parse, at its place',
      config: 'sources:\n  - name: a\n    repo: .\n    interval: soon\n',
      args: [] as string[],
      line: (file: string) => `berth: ${file}:4:15: invalid interval 'soon'; use a number with ms, s, m or h, such as 30s`,
    },
    {
      name: 'a source flag beside --config',
      config: 'sources:\n  - {name: a, repo: .}\n',
      args: ['--branch', 'dev'],
      line: (file: string) => `berth: --branch and --config exclude each other; give each source's fields in ${file}`,
    },
  ])('refuses $name', async ({ config, args, line }) => {
    const file = path.join(dir, `${uniqueName('bad')}.yaml`);
    await fs.writeFile(file, config);
    const res = await runBerth(['sync', '--config', file, ...args, '--etcd', 'http://127.0.0.1:9', '--data-dir', dir]);
    // A source flag beside --config is a usage error (2); a wrong config file a failure (1).
    expect(res.code).toBe(args.length > 0 ? 2 : 1);
    expect(res.stderr.split('\n')).toContain(line(file));
  });

  it('refuses a sync with neither --repo nor --config', async () => {
    const res = await runBerth(['sync', '--etcd', 'http://127.0.0.1:9', '--data-dir', dir]);
    expect(res.code).toBe(2);
    expect(res.stderr.trim()).toBe('berth: no source: --repo is missing; pass --repo <url|path>, or --config <file> for several sources');
  });
});
