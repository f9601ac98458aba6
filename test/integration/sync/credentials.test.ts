import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { BerthError } from '../../../src/errors.js';
import { EtcdStore, decode, historyPrefix, syncErrorKey, type Store } from '../../../src/store/index.js';
import { GitSource, credentialProvider, startSync, type CredentialProvider } from '../../../src/sync/index.js';
import { startGitServer, type GitServerHandle } from '../../support/git-server.js';
import { uniqueName } from '../../support/names.js';
import { createRepo, type TestRepo } from '../../support/repo.js';
import { waitFor } from '../../support/wait.js';
import { deploymentWith } from '../../unit/manifest/manifests.js';
import { captureLog } from '../../unit/scheduler/harness.js';

// A private repository: the real git http-backend behind HTTP basic auth, as a forge serves one.
const USER = 'deploy';
const PASSWORD = 'Pr1vate-Passw0rd-9f3k';
const WRONG = 'Wr0ng-Passw0rd-77xq';
const PROMPTLY = { timeoutMs: 20_000 };

let server: GitServerHandle;
let repo: TestRepo;
let dir = '';
let head = '';
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  server = await startGitServer(inject('gitRoot'), { basicAuth: { username: USER, password: PASSWORD } });
  repo = await createRepo(inject('gitRoot'), uniqueName('private'));
  dir = await mkdtemp(join(tmpdir(), 'berth-private-'));
  await repo.write('web.yaml', deploymentWith('  name: web\n', '  name: web\n'));
  head = await repo.commit('one deployment');
  await repo.push();
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await repo.dispose();
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

const url = (userinfo = ''): string => repo.url(server.url).replace('http://', `http://${userinfo}`);

/** A credentials file of mode 0600 holding `password`. */
async function credentialsFile(name: string, password: string): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, `username: ${USER}\npassword: ${password}\n`);
  await chmod(file, 0o600);
  return file;
}

async function source(repoUrl: string, credentials: CredentialProvider | undefined): Promise<GitSource> {
  const dataDir = await mkdtemp(join(dir, 'data-'));
  return new GitSource({ repo: repoUrl, branch: 'main', path: '.', dataDir, ...(credentials ? { credentials } : {}) });
}

async function failure(p: Promise<unknown>): Promise<BerthError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  if (!(err instanceof BerthError)) throw new Error(`expected a BerthError, got ${String(err)}`);
  return err;
}

describe('a private repository over HTTP with basic auth', () => {
  it.each([
    ['a credentials file', async () => credentialProvider({ repo: url(), file: await credentialsFile('ok', PASSWORD) }), url],
    ['the environment', () => credentialProvider({ repo: url(), env: { BERTH_REPO_USERNAME: USER, BERTH_REPO_PASSWORD: PASSWORD } }), url],
    ['the URL', () => credentialProvider({ repo: url(`${USER}:${PASSWORD}@`) }), () => url(`${USER}:${PASSWORD}@`)],
  ])('is read with credentials from %s', async (_from, provider, repoUrl) => {
    const git = await source(repoUrl(), await provider());
    await expect(git.head()).resolves.toMatchObject({ commit: head, message: 'one deployment' });
  });

  it('without credentials, says the repository asks for them and how to give them', async () => {
    const err = await failure((await source(url(), undefined)).head());
    expect(err.code).toBe('EAUTH');
    expect(err.toLine()).toBe(
      `${url()} asks for credentials (HTTP 401) and berth has none; pass --repo-credentials-file <file>, or set BERTH_REPO_USERNAME and BERTH_REPO_PASSWORD (README: Private repositories)`,
    );
  });

  it.each([
    ['a credentials file', async () => {
      const file = await credentialsFile('wrong', WRONG);
      return { repo: url(), provider: await credentialProvider({ repo: url(), file }), says: `${url()} refused the credentials from --repo-credentials-file ${file} (HTTP 401); check the user name and password or token in ${file}` };
    }],
    ['the URL', async () => {
      const shown = url('[redacted]@');
      return { repo: url(`${USER}:${WRONG}@`), provider: undefined, says: `${shown} refused the credentials from the repository URL (HTTP 401); check the user name and password in the repository URL` };
    }],
  ])('with a wrong password from %s, names where it came from and the fix, never the password', async (_from, make) => {
    const { repo: repoUrl, provider, says } = await make();
    const err = await failure((await source(repoUrl, provider)).head());
    expect(err.code).toBe('EAUTH');
    expect(err.toLine()).toBe(`${says}; berth tries again at each poll`);
    expect(err.toLine()).not.toContain(WRONG);
  });

  it('syncs and pushes its notes with the file\'s credentials; a wrong password turns into the source\'s error, never shown, and clears once fixed', async () => {
    const store: Store = await EtcdStore.connect([inject('etcdEndpoint')], `/${uniqueName('private')}`);
    cleanups.push(async () => {
      for (const e of (await store.list('')).entries) await store.commit({ del: [e.key] });
      await store.close();
    });
    const file = await credentialsFile('rotated', PASSWORD);
    const git = await source(url(), await credentialProvider({ repo: url(), file }));
    const { log, lines } = captureLog();
    const sync = await startSync({ store, log, git, source: 'private', intervalMs: 60_000 });
    cleanups.push(() => sync.stop());

    // The status note reached the server through the same credentials.
    await waitFor(async () => (await repo.git('--git-dir', repo.bareDir, 'notes', '--ref=berth', 'show', head).catch(() => '')).includes('berth/sync success'), {
      ...PROMPTLY, what: 'the note on the private server',
    });

    // The password is changed on the file's side only: the next fetch reads the file again.
    await credentialsFile('rotated', WRONG);
    await repo.write('api.yaml', deploymentWith('  name: web\n', '  name: api\n'));
    const next = await repo.commit('another deployment');
    await repo.push();
    sync.kick();
    const error = await waitFor(async () => {
      const e = await store.get(syncErrorKey('private'));
      return e && decode('syncError', e.key, e.value);
    }, { ...PROMPTLY, what: 'the source\'s sync error' });
    expect(error).toMatchObject({ code: 'EAUTH', message: `${url()} refused the credentials from --repo-credentials-file ${file} (HTTP 401); check the user name and password or token in ${file}; berth tries again at each poll` });

    await credentialsFile('rotated', PASSWORD);
    sync.kick();
    await waitFor(async () => (await store.get(syncErrorKey('private'))) === undefined, { ...PROMPTLY, what: 'the error to clear' });
    await waitFor(async () => (await store.list(historyPrefix('private'))).entries.some((e) => decode('history', e.key, e.value).commit === next), { ...PROMPTLY, what: 'the next commit applied' });

    const everything = JSON.stringify([lines, (await store.list('')).entries.map((e) => e.value.toString())]);
    expect(everything).toContain('refused the credentials');
    expect(everything).not.toContain(PASSWORD);
    expect(everything).not.toContain(WRONG);
  });
});
