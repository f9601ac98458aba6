import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BerthError } from '../../../src/errors.js';
import { credentialProvider, credentialsFromEnv, parseCredentials, readCredentialsFile, splitUrlCredentials } from '../../../src/sync/credentials.js';

const SECRET = 'Sup3r-s3cret/value';

describe('parseCredentials', () => {
  it.each([
    ['user and password', 'username: deploy\npassword: pw\n', { username: 'deploy', password: 'pw' }],
    ['a token alone', `# for the deploy repo\n\ntoken: ${SECRET}\n`, { username: 'x-access-token', password: SECRET }],
    ['a token with a user name', 'username: oauth2\ntoken: glpat-1\n', { username: 'oauth2', password: 'glpat-1' }],
    ['a password with a colon and spaces around', '  username :  a  \r\npassword: b:c\r\n', { username: 'a', password: 'b:c' }],
  ])('reads %s', (_name, text, expected) => {
    expect(parseCredentials(text, 'creds')).toEqual(expected);
  });

  it.each([
    ['a line without a colon', `username: a\n  ${SECRET}\n`, /^creds:2:3: expected 'key: value'/],
    ['an unknown key', 'user: a\npassword: b\n', /^creds:1:1: unknown key 'user'/],
    ['a key given twice', 'username: a\nusername: b\npassword: c\n', /^creds:2:1: 'username' given twice/],
    ['an empty value', 'username: a\npassword:\n', /^creds:2:1: 'password' is empty/],
    ['a password without a user', `password: ${SECRET}\n`, /^creds: no username/],
    ['a user without a password', 'username: a\n', /^creds: no password/],
    ['both a password and a token', `username: a\npassword: ${SECRET}\ntoken: t\n`, /^creds: both a password and a token/],
    ['nothing', '# only a comment\n', /^creds: no username/],
  ])('refuses %s, naming the place and never a value', (_name, text, message) => {
    let caught: unknown;
    try {
      parseCredentials(text, 'creds');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(BerthError);
    const err = caught as BerthError;
    expect(err.code).toBe('ECREDENTIALS');
    expect(err.message).toMatch(message);
    expect(err.toLine()).not.toContain(SECRET);
  });
});

describe('splitUrlCredentials', () => {
  it.each([
    ['http://h/x.git', { url: 'http://h/x.git' }],
    ['https://deploy:p%40ss@h:8443/x.git', { url: 'https://h:8443/x.git', credentials: { username: 'deploy', password: 'p@ss' } }],
    ['https://token@h/x.git', { url: 'https://h/x.git', credentials: { username: 'token', password: '' } }],
    ['https://a:b:c@h/x.git', { url: 'https://h/x.git', credentials: { username: 'a', password: 'b:c' } }],
  ])('%s', (url, expected) => {
    expect(splitUrlCredentials(url)).toEqual(expected);
  });
});

describe('credentialsFromEnv', () => {
  it.each([
    [{}, undefined],
    [{ BERTH_REPO_USERNAME: 'u', BERTH_REPO_PASSWORD: 'p' }, { username: 'u', password: 'p' }],
    [{ BERTH_REPO_TOKEN: 't', BERTH_REPO_USERNAME: '' }, { username: 'x-access-token', password: 't' }],
  ])('%j', (env, expected) => {
    expect(credentialsFromEnv(env)).toEqual(expected);
  });

  it('refuses a password without a user name', () => {
    expect(() => credentialsFromEnv({ BERTH_REPO_PASSWORD: SECRET })).toThrow(/the environment .*: no username/);
  });
});

describe('readCredentialsFile and credentialProvider', () => {
  let dir = '';
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const file = async (name: string, text: string, mode: number): Promise<string> => {
    dir ||= await mkdtemp(join(tmpdir(), 'berth-creds-'));
    const p = join(dir, name);
    await writeFile(p, text);
    await chmod(p, mode);
    return p;
  };

  it.each([0o644, 0o640, 0o604, 0o660, 0o602])('refuses a file of mode %o, as ssh refuses a key, naming chmod', async (mode) => {
    const p = await file(`open-${mode.toString(8)}`, `token: ${SECRET}\n`, mode);
    await expect(readCredentialsFile(p)).rejects.toThrow(`credentials file ${p} is open to others (mode 0${mode.toString(8)})`);
    await expect(readCredentialsFile(p).catch((e: BerthError) => e.toLine())).resolves.toContain(`run chmod 600 ${p}`);
  });

  it.each([0o600, 0o400])('reads a file of mode %o', async (mode) => {
    const p = await file(`closed-${mode.toString(8)}`, `token: ${SECRET}\n`, mode);
    await expect(readCredentialsFile(p)).resolves.toEqual({ username: 'x-access-token', password: SECRET });
  });

  it('refuses a missing file by name', async () => {
    await expect(readCredentialsFile('/nonexistent/creds')).rejects.toThrow('credentials file /nonexistent/creds does not exist');
  });

  it('takes the file first, then the URL, then the environment; none for a local path', async () => {
    const p = await file('provider', 'username: f\npassword: file-pw\n', 0o600);
    const env = { BERTH_REPO_USERNAME: 'e', BERTH_REPO_PASSWORD: 'env-pw' };
    const fromFile = await credentialProvider({ repo: 'https://h/x.git', file: p, env });
    expect(fromFile?.from).toBe(`--repo-credentials-file ${p}`);
    await expect(fromFile?.get()).resolves.toEqual({ username: 'f', password: 'file-pw' });
    const fromUrl = await credentialProvider({ repo: 'https://u:url-pw@h/x.git', env });
    expect(fromUrl?.from).toBe('the repository URL');
    await expect(fromUrl?.get()).resolves.toEqual({ username: 'u', password: 'url-pw' });
    const fromEnv = await credentialProvider({ repo: 'https://h/x.git', env });
    await expect(fromEnv?.get()).resolves.toEqual({ username: 'e', password: 'env-pw' });
    expect(await credentialProvider({ repo: 'https://h/x.git', env: {} })).toBeUndefined();
    expect(await credentialProvider({ repo: '/srv/deploy', env })).toBeUndefined();
    await expect(credentialProvider({ repo: '/srv/deploy', file: p })).rejects.toThrow('--repo-credentials-file is for http(s) repositories; /srv/deploy is a local path');
    await expect(credentialProvider({ repo: 'https://u:url-pw@h/x.git', file: p })).rejects.toThrow('credentials both in the repository URL and in --repo-credentials-file');
  });
});
