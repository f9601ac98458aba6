import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKey } from 'openpgp';
import { run, searchPath } from './process.js';
import type { TestRepo } from './repo.js';

/** How `git commit -S` signs: extra `-c` settings and environment. */
export interface Signer {
  /** The keyring line(s) that trust this signer: an allowed-signers line or an armored public key. */
  trusted: string;
  config: string[];
  env: NodeJS.ProcessEnv;
  dispose(): Promise<void>;
}

const baseEnv = (): NodeJS.ProcessEnv => ({ PATH: searchPath(), HOME: tmpdir(), GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' });

/** An SSH key made by ssh-keygen, signing as git does with gpg.format=ssh. */
export async function sshSigner(type: 'ed25519' | 'rsa' | 'ecdsa', principal = 'test@berth.invalid'): Promise<Signer> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-ssh-'));
  const key = join(dir, 'id');
  await run('ssh-keygen', ['-q', '-t', type, ...(type === 'rsa' ? ['-b', '2048'] : []), '-N', '', '-C', principal, '-f', key]);
  const pub = (await readFile(`${key}.pub`, 'utf8')).trim().split(/\s+/);
  return {
    trusted: `${principal} ${pub[0] ?? ''} ${pub[1] ?? ''}`,
    config: ['-c', 'gpg.format=ssh', '-c', `user.signingkey=${key}`],
    env: baseEnv(),
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}

/** An OpenPGP key made by openpgp, imported into a GnuPG home of its own, signing with gpg as git does by default. */
export async function pgpSigner(): Promise<Signer> {
  const home = await mkdtemp(join(tmpdir(), 'berth-gpg-'));
  const { privateKey, publicKey } = await generateKey({ type: 'ecc', curve: 'curve25519Legacy', userIDs: [{ name: 'Berth Test', email: 'test@berth.invalid' }], format: 'armored' });
  const env = { ...baseEnv(), GNUPGHOME: home };
  await writeFile(join(home, 'key.asc'), privateKey);
  await run('gpg', ['--batch', '--quiet', '--import', join(home, 'key.asc')], { env });
  const listed = (await run('gpg', ['--batch', '--with-colons', '--list-secret-keys'], { env })).stdout;
  const fingerprint = /^fpr:+([0-9A-F]+):/m.exec(listed)?.[1] ?? '';
  return {
    trusted: publicKey,
    config: ['-c', 'gpg.format=openpgp', '-c', `user.signingkey=${fingerprint}`],
    env,
    dispose: async () => {
      // gpg started an agent for the secret key: stop it with the home.
      await run('gpgconf', ['--homedir', home, '--kill', 'gpg-agent'], { env }).catch(() => undefined);
      await rm(home, { recursive: true, force: true });
    },
  };
}

/** `git add -A` and a commit signed by `signer`; returns its sha. */
export async function signedCommit(repo: TestRepo, message: string, signer: Signer): Promise<string> {
  await repo.git('add', '--all');
  await run('git', [...signer.config, 'commit', '--quiet', '-S', '--message', message], { cwd: repo.workDir, env: signer.env });
  return repo.git('rev-parse', 'HEAD');
}

/**
 * A copy of HEAD with its message changed and its signature kept, made the branch head: what an
 * attacker who reuses a good signature on other content would push. Returns its sha.
 */
export async function tamperedHead(repo: TestRepo, message: string): Promise<string> {
  const raw = await repo.git('cat-file', 'commit', 'HEAD');
  const cut = raw.indexOf('\n\n');
  const forged = `${raw.slice(0, cut)}\n\n${message}\n`;
  const { stdout } = await run('git', ['hash-object', '-t', 'commit', '-w', '--stdin'], { cwd: repo.workDir, env: baseEnv(), input: forged });
  const sha = stdout.trim();
  await repo.git('update-ref', 'refs/heads/main', sha);
  return sha;
}
