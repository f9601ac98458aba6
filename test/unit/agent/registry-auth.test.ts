import { describe, expect, it } from 'vitest';
import { credentialFor, helperFor, parseDockerConfig, registryAuthPath, registryOf } from '../../../src/agent/registry-auth.js';
import { BerthError } from '../../../src/errors.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('registryOf', () => {
  it.each([
    ['busybox', 'docker.io'],
    ['library/busybox:1', 'docker.io'],
    ['team/app:2', 'docker.io'],
    ['docker.io/team/app', 'docker.io'],
    ['index.docker.io/team/app', 'docker.io'],
    ['ghcr.io/team/app:1', 'ghcr.io'],
    ['127.0.0.1:5000/app:1', '127.0.0.1:5000'],
    ['localhost/app', 'localhost'],
    ['reg.example:5000/a/b@sha256:abc', 'reg.example:5000'],
  ])('%s → %s', (image, registry) => {
    expect(registryOf(image)).toBe(registry);
  });
});

describe('parseDockerConfig', () => {
  it.each([
    ['auth as base64 user:password', { auths: { '127.0.0.1:5000': { auth: b64('alice:s3:cret') } } }, '127.0.0.1:5000/app', { username: 'alice', password: 's3:cret', serveraddress: '127.0.0.1:5000' }],
    ['username and password', { auths: { 'reg.example': { username: 'bob', password: 'pw' } } }, 'reg.example/app', { username: 'bob', password: 'pw', serveraddress: 'reg.example' }],
    ['a URL key with scheme and path', { auths: { 'https://reg.example:5000/v2/': { auth: b64('a:b') } } }, 'reg.example:5000/x', { username: 'a', password: 'b', serveraddress: 'reg.example:5000' }],
    ["Docker Hub's key", { auths: { 'https://index.docker.io/v1/': { auth: b64('a:b') } } }, 'team/app', { username: 'a', password: 'b', serveraddress: 'docker.io' }],
    ['an identity token', { auths: { 'reg.example': { identitytoken: 'tok' } } }, 'reg.example/app', { identitytoken: 'tok', serveraddress: 'reg.example' }],
    ['another registry only', { auths: { 'reg.example': { auth: b64('a:b') } } }, 'other.example/app', undefined],
    ["a credential helper's empty entry", { auths: { 'reg.example': {} }, credsStore: 'desktop' }, 'reg.example/app', undefined],
    ['no auths at all', {}, 'reg.example/app', undefined],
  ])('%s', (_name, config, image, want) => {
    expect(credentialFor(parseDockerConfig(JSON.stringify(config), 'c.json').auths, image)).toEqual(want);
  });

  it.each([
    ['not JSON, without quoting it (it may hold a password)', '{"auths": {"r": {"password": "hunter2"', 'cannot read registry credentials from c.json: it is not valid JSON'],
    ['not an object', '[1]', 'cannot read registry credentials from c.json: it is not a JSON object'],
    ['auths not an object', '{"auths": 3}', 'cannot read registry credentials from c.json: "auths" is not an object'],
    ['auth that is not user:password', `{"auths": {"r": {"auth": "${b64('nocolon')}"}}}`, 'cannot read registry credentials from c.json: the "auth" of "r" is not base64 of user:password'],
    ['a credsStore that is a path', '{"credsStore": "../../bin/sh"}', 'cannot read registry credentials from c.json: "credsStore": "../../bin/sh" is not a credential helper name (letters, digits, \'.\', \'_\', \'-\')'],
    ['a credHelpers entry that is not a string', '{"credHelpers": {"r": 1}}', 'cannot read registry credentials from c.json: the credHelpers entry of "r": it is not a string'],
    ['credHelpers not an object', '{"credHelpers": []}', 'cannot read registry credentials from c.json: "credHelpers" is not an object'],
  ])('refuses %s', (_name, text, message) => {
    let err: unknown;
    try {
      parseDockerConfig(text, 'c.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BerthError);
    expect((err as BerthError).message).toBe(message);
    expect((err as BerthError).toLine()).not.toContain('hunter2');
  });
});

describe('helperFor', () => {
  // Docker's choice: the registry's own credHelpers entry, else credsStore; auths is then not read.
  it.each([
    ['none configured', {}, 'reg.example/app', undefined],
    ['credsStore for every registry', { credsStore: 'pass' }, 'reg.example:5000/app', { helper: 'pass', serverUrl: 'reg.example:5000', host: 'reg.example:5000' }],
    ['credsStore for Docker Hub, asked by its index address', { credsStore: 'pass' }, 'team/app', { helper: 'pass', serverUrl: 'https://index.docker.io/v1/', host: 'docker.io' }],
    ['a registry\'s own helper over credsStore, asked by its key', { credsStore: 'pass', credHelpers: { 'https://reg.example': 'ecr-login' } }, 'reg.example/app', { helper: 'ecr-login', serverUrl: 'https://reg.example', host: 'reg.example' }],
    ['another registry\'s helper only', { credHelpers: { 'reg.example': 'ecr-login' }, auths: { 'other.example': { auth: b64('a:b') } } }, 'other.example/app', undefined],
    ['an empty credsStore is none', { credsStore: '' }, 'reg.example/app', undefined],
  ])('%s', (_name, config, image, want) => {
    expect(helperFor(parseDockerConfig(JSON.stringify(config), 'c.json'), image)).toEqual(want);
  });
});

describe('registryAuthPath', () => {
  it.each([
    ['the flag', 'auth.json', {}, { file: `${process.cwd()}/auth.json`, explicit: true }],
    ['DOCKER_CONFIG', undefined, { DOCKER_CONFIG: '/etc/dock' }, { file: '/etc/dock/config.json', explicit: false }],
    ['the home folder', undefined, {}, { file: '/home/op/.docker/config.json', explicit: false }],
  ])('%s', (_name, flag, env, want) => {
    expect(registryAuthPath(flag, env, '/home/op')).toEqual(want);
  });
});
