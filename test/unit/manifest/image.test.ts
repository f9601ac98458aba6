import { describe, expect, it } from 'vitest';
import { checkImage } from '../../../src/manifest/image.js';

const SHA = 'a'.repeat(64);

describe('checkImage', () => {
  it.each([
    'nginx',
    'nginx:1.27',
    'library/nginx:latest',
    'ghcr.io/stefanprodan/podinfo:6.1.1',
    'gcr.io/google-samples/microservices-demo/cartservice:v0.3.6',
    'registry:5000/a/b:tag',
    'localhost/app',
    'localhost:5000/app:dev',
    '127.0.0.1:5000/team/app',
    '[::1]:5000/app',
    `a@sha256:${SHA}`,
    `redis:7@sha256:${SHA}`,
    `app@sha512:${'b'.repeat(128)}`,
    'my_org/my__app',
    'a-b--c.d/e',
    'Registry.Example.com/app', // capitals are fine in a registry host
    'frontend',
  ])('accepts %s', (ref) => {
    expect(checkImage(ref)).toBeUndefined();
  });

  it.each([
    ['redis:alpine:7', 'more than one tag (":alpine:7"); a reference is name[:tag][@digest], e.g. "redis:7-alpine"'],
    ['', 'must not be empty'],
    ['nginx :1', 'must not contain whitespace'],
    ['Nginx', 'the repository name must be lowercase ("Nginx")'],
    ['docker.io/Library/nginx', 'the repository name must be lowercase ("Library")'],
    ['nginx:', 'tag "" must be 1 to 128 letters, digits, \'_\', \'.\' and \'-\', not starting with \'.\' or \'-\''],
    ['nginx:-1', 'tag "-1" must be 1 to 128 letters, digits, \'_\', \'.\' and \'-\', not starting with \'.\' or \'-\''],
    [`nginx:${'t'.repeat(129)}`, `tag "${'t'.repeat(129)}" must be 1 to 128 letters, digits, '_', '.' and '-', not starting with '.' or '-'`],
    ['a//b', 'the repository name has an empty path component (a leading, trailing or doubled "/")'],
    ['a/', 'the repository name has an empty path component (a leading, trailing or doubled "/")'],
    ['-a', 'path component "-a" must be lowercase letters and digits, separated by \'.\', \'_\', \'__\' or \'-\''],
    ['a___b', 'path component "a___b" must be lowercase letters and digits, separated by \'.\', \'_\', \'__\' or \'-\''],
    ['bad_host.io:x/app', 'registry "bad_host.io:x" is not a valid host[:port]'],
    ['a@sha256:abc', 'a sha256 digest is 64 lowercase hex characters'],
    [`a@sha256:${'A'.repeat(64)}`, 'a sha256 digest is 64 lowercase hex characters'],
    [`a@md5:${SHA}`, 'digest algorithm "md5" is not one of sha256, sha384, sha512'],
    [`a@sha256:${SHA}@sha256:${SHA}`, "more than one '@digest'"],
    [`${'a'.repeat(256)}`, 'the repository name is longer than 255 characters'],
  ])('rejects %j', (ref, problem) => {
    expect(checkImage(ref)).toBe(`invalid image reference ${JSON.stringify(ref)}: ${problem}`);
  });
});
