// Credential helpers run as Docker runs them: scripts written here stand in for docker-credential-*.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHelperOutput, runCredentialHelper } from '../../../src/agent/cred-helper.js';
import { RegistryAuth } from '../../../src/agent/registry-auth.js';
import { BerthError } from '../../../src/errors.js';

const SECRET = 'hunter2-helper';
let dir = '';
let env: NodeJS.ProcessEnv = {};

/** Write docker-credential-<name> into the test's PATH folder. */
async function helper(name: string, script: string): Promise<void> {
  const file = join(dir, `docker-credential-${name}`);
  await writeFile(file, `#!/bin/sh\n${script}\n`);
  await chmod(file, 0o755);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'berth-cred-helper-'));
  env = { ...process.env, PATH: `${dir}:${process.env.PATH ?? '/usr/bin:/bin'}` };
  // Answers for one address only, as a store does; says "not found" as docker-credential-helpers do.
  await helper('store', `[ "$1" = get ] || exit 2
read -r url
case "$url" in
  reg.example:5000) echo '{"ServerURL":"reg.example:5000","Username":"alice","Secret":"${SECRET}"}' ;;
  https://index.docker.io/v1/) echo '{"ServerURL":"https://index.docker.io/v1/","Username":"<token>","Secret":"tok-${SECRET}"}' ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac`);
  await helper('broken', `echo "oops ${SECRET}"; exit 3`);
  await helper('slow', 'exec sleep 30');
  await helper('garbled', `echo "not json ${SECRET}"`);
  await helper('chatty', 'yes {}');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('parseHelperOutput', () => {
  it.each([
    ['a user and secret', '{"ServerURL":"r","Username":"u","Secret":"s"}', { username: 'u', password: 's', serveraddress: 'r:1' }],
    ['an identity token', '{"ServerURL":"r","Username":"<token>","Secret":"t"}', { identitytoken: 't', serveraddress: 'r:1' }],
    ['no secret', '{"ServerURL":"r","Username":"u","Secret":""}', undefined],
  ])('%s', (_name, out, want) => {
    expect(parseHelperOutput(out, 'x', 'r:1')).toEqual(want);
  });
});

/** The error `p` rejects with. */
async function failure(p: Promise<unknown>): Promise<BerthError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(BerthError);
  return err as BerthError;
}

describe('runCredentialHelper', () => {
  it('asks the helper for the address on stdin and reads its answer', async () => {
    expect(await runCredentialHelper('store', 'reg.example:5000', 'reg.example:5000', { env })).toEqual({ username: 'alice', password: SECRET, serveraddress: 'reg.example:5000' });
    expect(await runCredentialHelper('store', 'https://index.docker.io/v1/', 'docker.io', { env })).toEqual({ identitytoken: `tok-${SECRET}`, serveraddress: 'docker.io' });
  });

  it('pulls anonymously when the helper holds nothing for the registry, as Docker does', async () => {
    expect(await runCredentialHelper('store', 'other.example', 'other.example', { env })).toBeUndefined();
  });

  it.each([
    ['a helper that fails', 'broken', 'credential helper docker-credential-broken failed for r.example (exit code 3)'],
    ['a helper that answers no JSON', 'garbled', 'credential helper docker-credential-garbled did not answer with JSON for r.example'],
    ['a helper not on PATH', 'absent', 'credential helper docker-credential-absent (for r.example) is not on the agent\'s PATH'],
    ['a helper that prints without end', 'chatty', 'credential helper docker-credential-chatty printed more than 64 KiB for r.example'],
    ['a name that is a path', '../sh', 'cannot run the credential helper for r.example: "../sh" is not a credential helper name (letters, digits, \'.\', \'_\', \'-\')'],
  ])('%s is an error naming the helper, never what it printed', async (_name, name, message) => {
    const err = await failure(runCredentialHelper(name, 'r.example', 'r.example', { env }));
    expect(err.message).toBe(message);
    expect(err.toLine()).not.toContain(SECRET);
  });

  it('gives a helper a bounded time, then kills it', async () => {
    const started = Date.now();
    const err = await failure(runCredentialHelper('slow', 'r.example', 'r.example', { env, timeoutMs: 300 }));
    expect(err.message).toBe('credential helper docker-credential-slow did not answer for r.example within 0.3 s');
    // Bounded, not hung (the helper would sleep 30 s).
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});

describe('RegistryAuth with credential helpers', () => {
  it('asks credsStore, or the registry\'s own credHelpers entry, instead of auths', async () => {
    const file = join(dir, 'config.json');
    await writeFile(file, JSON.stringify({ auths: { 'reg.example:5000': {}, 'plain.example': { username: 'bob', password: 'pw' } }, credsStore: 'store', credHelpers: { 'plain.example': 'broken' } }), { mode: 0o600 });
    const auth = new RegistryAuth(file, true, { env });
    expect(await auth.credentialFor('reg.example:5000/app:1')).toEqual({ username: 'alice', password: SECRET, serveraddress: 'reg.example:5000' });
    expect(await auth.credentialFor('busybox')).toEqual({ identitytoken: `tok-${SECRET}`, serveraddress: 'docker.io' });
    expect((await failure(auth.credentialFor('plain.example/app'))).message).toBe('credential helper docker-credential-broken failed for plain.example (exit code 3)');
  });
});
