import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { EtcdStore, decode, desiredPrefix, historyPrefix, sourceKey, type Store } from '../../../src/store/index.js';
import { GitSource, readKeyring, startSync } from '../../../src/sync/index.js';
import { uniqueName } from '../../support/names.js';
import { createRepo, type TestRepo } from '../../support/repo.js';
import { pgpSigner, signedCommit, sshSigner, tamperedHead, type Signer } from '../../support/signing.js';
import { waitFor } from '../../support/wait.js';

const configMap = (name: string): string => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {a: b}\n`;
const PROMPTLY = { timeoutMs: 20_000 };

let dir = '';
const signers: Record<string, Signer> = {};
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-signed-'));
  const made = await Promise.all([sshSigner('ed25519'), sshSigner('rsa'), sshSigner('ecdsa'), pgpSigner(), sshSigner('ed25519', 'mallory@berth.invalid'), pgpSigner()]);
  [signers.ed25519, signers.rsa, signers.ecdsa, signers.pgp, signers.strangerSsh, signers.strangerPgp] = made;
}, 120_000);
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  for (const s of Object.values(signers)) await s.dispose();
  await rm(dir, { recursive: true, force: true });
});

/** A keyring of mode 0644 trusting `names`' keys: allowed-signers lines and armored keys in one file. */
async function keyring(...names: string[]): Promise<string> {
  const file = join(dir, `keyring-${uniqueName('k')}`);
  await writeFile(file, `# who may sign deployments\n${names.map((n) => signers[n]?.trusted ?? '').join('\n')}\n`);
  await chmod(file, 0o644);
  return file;
}

async function newRepo(): Promise<TestRepo> {
  const repo = await createRepo(inject('gitRoot'), uniqueName('signed'));
  cleanups.push(() => repo.dispose());
  return repo;
}

const signer = (name: string): Signer => {
  const s = signers[name];
  if (!s) throw new Error(`no signer ${name}`);
  return s;
};

describe('signatureProblem on real signed commits', () => {
  it.each(['ed25519', 'rsa', 'ecdsa', 'pgp'])('accepts a commit signed with a trusted %s key, and refuses its signature on other content', async (name) => {
    const repo = await newRepo();
    const ring = await readKeyring(await keyring('ed25519', 'rsa', 'ecdsa', 'pgp'));
    const git = new GitSource({ repo: repo.workDir, branch: 'main', path: '.', dataDir: dir });
    await repo.write('a.yaml', configMap('a'));
    const good = await signedCommit(repo, 'signed', signer(name));
    expect(await git.signatureProblem(good, ring)).toBeUndefined();

    const forged = await tamperedHead(repo, 'the same signature on another commit');
    expect(await git.signatureProblem(forged, ring)).toMatch(name === 'pgp' ? /^OpenPGP signature by [0-9A-F]{16} does not verify: / : /^signature does not match the commit \((ssh-|ecdsa-)\S+ key SHA256:\S+\)$/);
  });

  it.each([
    ['an unsigned commit', null, /^no signature$/],
    ['an SSH key that is not an allowed signer', 'strangerSsh', /^signed by ssh-ed25519 key SHA256:\S+, which is not an allowed signer in \S+$/],
    ['an OpenPGP key that is not in the keyring', 'strangerPgp', /^signed by OpenPGP key [0-9A-F]{16}, which is not in the keyring$/],
  ])('refuses %s', async (_name, by, reason) => {
    const repo = await newRepo();
    const ring = await readKeyring(await keyring('ed25519', 'pgp'));
    const git = new GitSource({ repo: repo.workDir, branch: 'main', path: '.', dataDir: dir });
    await repo.write('a.yaml', configMap('a'));
    const commit = by === null ? await repo.commit('unsigned') : await signedCommit(repo, 'by a stranger', signer(by));
    expect(await git.signatureProblem(commit, ring)).toMatch(reason);
  });

  it('refuses an SSH key whose allowed-signers line limits it to other namespaces', async () => {
    const repo = await newRepo();
    const file = join(dir, 'namespaced');
    await writeFile(file, signer('ed25519').trusted.replace(' ssh-ed25519', ' namespaces="file" ssh-ed25519'));
    const git = new GitSource({ repo: repo.workDir, branch: 'main', path: '.', dataDir: dir });
    await repo.write('a.yaml', configMap('a'));
    const commit = await signedCommit(repo, 'signed', signer('ed25519'));
    expect(await git.signatureProblem(commit, await readKeyring(file))).toMatch(/which is not an allowed signer/);
  });
});

describe('startSync with --verify-commits', () => {
  let store: Store;
  beforeAll(async () => {
    store = await EtcdStore.connect([inject('etcdEndpoint')], `/${uniqueName('signed')}`);
  });
  afterAll(async () => {
    for (const e of (await store.list('')).entries) await store.commit({ del: [e.key] });
    await store.close();
  });

  it('rejects an unsigned head (history, berth/sync failure unsigned commit …) and keeps the last good state; a signed commit then applies', async () => {
    const repo = await newRepo();
    const git = new GitSource({ repo: repo.workDir, branch: 'main', path: '.', dataDir: dir });
    await repo.write('a.yaml', configMap('a'));
    const good = await signedCommit(repo, 'signed', signer('ed25519'));
    const sync = await startSync({ store, log: silentLogger(), git, source: 'signed', intervalMs: 60_000, verifyCommits: await keyring('ed25519', 'pgp') });
    cleanups.push(() => sync.stop());
    const seal = async (): Promise<string | undefined> => {
      const e = await store.get(sourceKey('signed'));
      return e && decode('seal', e.key, e.value).commit;
    };
    await waitFor(async () => (await seal()) === good, { ...PROMPTLY, what: 'the signed commit sealed' });

    await repo.write('b.yaml', configMap('b'));
    const unsigned = await repo.commit('unsigned');
    const note = async (sha: string): Promise<string> => repo.git('notes', '--ref=berth', 'show', sha).catch(() => '');
    const line = await waitFor(async () => (await note(unsigned)).trim() || undefined, { ...PROMPTLY, what: 'the note of the unsigned commit' });
    expect(line).toMatch(new RegExp(`^\\S+ berth/sync failure unsigned commit ${unsigned.slice(0, 7)}: no signature$`));
    const history = (await store.list(historyPrefix('signed'))).entries.map((e) => decode('history', e.key, e.value));
    expect(history.map((h) => [h.commit, h.outcome, h.errors])).toEqual([[good, 'applied', []], [unsigned, 'rejected', [`unsigned commit ${unsigned.slice(0, 7)}: no signature`]]]);
    expect(await seal()).toBe(good);
    expect((await store.list(desiredPrefix('signed'))).entries.map((e) => e.key)).toEqual([`${desiredPrefix('signed')}ConfigMap/default/a`]);

    await repo.write('c.yaml', configMap('c'));
    const signedAgain = await signedCommit(repo, 'signed again', signer('pgp'));
    await waitFor(async () => (await seal()) === signedAgain, { ...PROMPTLY, what: 'the next signed commit sealed' });
    expect((await store.list(desiredPrefix('signed'))).entries.map((e) => e.key.slice(desiredPrefix('signed').length))).toEqual(['ConfigMap/default/a', 'ConfigMap/default/b', 'ConfigMap/default/c']);
  });
});
