import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/errors.js';
import { dockerHostOptions, dockerMessage, lineSplitter, parseImageRef, pullError, translate } from '../../../src/agent/docker-host.js';

describe('dockerHostOptions', () => {
  it.each([
    ['/run/d.sock', {}, { kind: 'socket', socketPath: '/run/d.sock', display: 'unix:///run/d.sock' }],
    ['unix:///tmp/x/docker.sock', {}, { kind: 'socket', socketPath: '/tmp/x/docker.sock', display: 'unix:///tmp/x/docker.sock' }],
    ['tcp://127.0.0.1:2375', {}, { kind: 'tcp', host: '127.0.0.1', port: 2375, display: 'tcp://127.0.0.1:2375' }],
    ['http://docker.internal:12375', {}, { kind: 'tcp', host: 'docker.internal', port: 12375, display: 'tcp://docker.internal:12375' }],
    ['tcp://[::1]:2375', {}, { kind: 'tcp', host: '::1', port: 2375, display: 'tcp://[::1]:2375' }],
    ['localhost:2375', {}, { kind: 'tcp', host: 'localhost', port: 2375, display: 'tcp://localhost:2375' }],
    ['tcp://h', {}, { kind: 'tcp', host: 'h', port: 2375, display: 'tcp://h:2375' }],
    [undefined, { DOCKER_HOST: 'unix:///env.sock' }, { kind: 'socket', socketPath: '/env.sock', display: 'unix:///env.sock' }],
    ['', { DOCKER_HOST: 'tcp://e:1' }, { kind: 'tcp', host: 'e', port: 1, display: 'tcp://e:1' }],
    [undefined, {}, { kind: 'socket', socketPath: '/var/run/docker.sock', display: 'unix:///var/run/docker.sock' }],
    ['/flag.sock', { DOCKER_HOST: 'tcp://e:1' }, { kind: 'socket', socketPath: '/flag.sock', display: 'unix:///flag.sock' }],
  ])('%s with %o', (spec, env, want) => {
    expect(dockerHostOptions(spec, env)).toEqual(want);
  });

  it.each(['ssh://me@host', 'https://host:2376', 'unix://', 'npipe:////./pipe/docker_engine'])('refuses %s with a hint', (spec) => {
    const err: unknown = (() => {
      try {
        return dockerHostOptions(spec, {});
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).toLine()).toMatch(/^cannot use Docker host .*; pass --docker/);
  });
});

describe('translate', () => {
  const host = dockerHostOptions('/x.sock', {});
  it.each([
    [Object.assign(new Error('connect ENOENT /x.sock'), { code: 'ENOENT' }), 'EDOCKERDOWN', 'cannot reach Docker at unix:///x.sock (ENOENT); start dockerd or pass --docker <socket|url>'],
    [Object.assign(new Error('connect EACCES /x.sock'), { code: 'EACCES' }), 'EDOCKERDOWN', 'cannot reach Docker at unix:///x.sock (EACCES); run as a user allowed to use unix:///x.sock, or start dockerd or pass --docker <socket|url>'],
    [Object.assign(new Error('(HTTP code 404) no such container'), { statusCode: 404, json: { message: 'No such container: abc' } }), 'EDOCKERNOTFOUND', 'start: No such container: abc'],
    [Object.assign(new Error('(HTTP code 409) conflict'), { statusCode: 409, json: { message: 'name in use' } }), 'EDOCKERCONFLICT', 'start: name in use'],
    [Object.assign(new Error('(HTTP code 400) bad parameter'), { statusCode: 400, json: { message: 'Minimum memory limit allowed is 6MB' } }), 'EDOCKERBADREQUEST', 'start: Minimum memory limit allowed is 6MB; fix the container spec in the manifest'],
    [Object.assign(new Error('(HTTP code 500) server error - boom '), { statusCode: 500, json: Buffer.from('boom') }), 'EDOCKER', 'start: boom'],
  ])('%s', (err, code, line) => {
    const t = translate(err, 'start', host);
    expect(t.code).toBe(code);
    expect(t.toLine()).toBe(line);
  });
});

describe('pullError', () => {
  const host = dockerHostOptions('/x.sock', {});
  // dockerd 20.10's own words, as a loopback docker-registry with and without htpasswd makes it say them.
  it.each([
    ['r:5000/a:1', 'manifest for r:5000/a:1 not found: manifest unknown: manifest unknown', 'EIMAGENOTFOUND', 'cannot pull image r:5000/a:1: registry r:5000 has no such image (manifest for r:5000/a:1 not found: manifest unknown: manifest unknown); check the image name and tag in the manifest'],
    ['a:1', 'pull access denied for a, repository does not exist or may require docker login', 'EIMAGENOTFOUND', 'cannot pull image a:1: registry docker.io has no such image (pull access denied for a, repository does not exist or may require docker login); check the image name and tag in the manifest'],
    ['r:5000/a:1', 'Head "http://r:5000/v2/a/manifests/1": no basic auth credentials', 'EIMAGEAUTH', 'cannot pull image r:5000/a:1: registry r:5000 asks for credentials and the agent has none for it (Head "http://r:5000/v2/a/manifests/1": no basic auth credentials); put credentials for r:5000 in the Docker config of the agent\'s user (docker login r:5000) or in --registry-auth-file'],
    ['r:5000/a:1', 'unauthorized: authentication required', 'EIMAGEAUTH', 'cannot pull image r:5000/a:1: registry r:5000 refused the credentials (unauthorized: authentication required); put credentials for r:5000 in the Docker config of the agent\'s user (docker login r:5000) or in --registry-auth-file'],
    ['127.0.0.1:1/a:1', 'Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused', 'EIMAGEPULL', 'cannot pull image 127.0.0.1:1/a:1: registry 127.0.0.1:1 cannot be reached (Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused); check that the registry is reachable from the Docker host at unix:///x.sock'],
  ])('%s: %s → %s', (image, message, code, line) => {
    const err = pullError(image, message, host);
    expect(err.code).toBe(code);
    expect(err.toLine()).toBe(line);
  });
});

describe('dockerMessage', () => {
  it.each([
    ['the JSON body', Object.assign(new Error('(HTTP code 404) no such container - x'), { json: { message: 'No such container: x' } }), 'No such container: x'],
    ['the text after dockerode’s prefix', Object.assign(new Error('(HTTP code 500) server error - Get "http://127.0.0.1:1/v2/": refused '), { json: null }), 'Get "http://127.0.0.1:1/v2/": refused'],
    ['a plain error as it is', new Error('socket hang up'), 'socket hang up'],
  ])('takes %s', (_what, err, want) => {
    expect(dockerMessage(err)).toBe(want);
  });
});

describe('parseImageRef', () => {
  it.each([
    ['busybox', 'busybox', 'latest'],
    ['busybox:1.36', 'busybox', '1.36'],
    ['localhost:5000/team/app', 'localhost:5000/team/app', 'latest'],
    ['localhost:5000/team/app:v2', 'localhost:5000/team/app', 'v2'],
    ['app@sha256:abcd', 'app', 'sha256:abcd'],
  ])('%s', (ref, repository, tag) => {
    expect(parseImageRef(ref)).toEqual({ repository, tag });
  });
});

describe('lineSplitter', () => {
  it('yields whole lines across chunk and multi-byte boundaries', () => {
    const lines: string[] = [];
    const s = lineSplitter((l) => lines.push(l));
    const bytes = Buffer.from('{"a":1}\n{"b":"é"}\n\n{"c"');
    s.push(bytes.subarray(0, 3));
    s.push(bytes.subarray(3, 15)); // ends between the two bytes of é
    s.push(bytes.subarray(15));
    s.push(':3}');
    expect(lines).toEqual(['{"a":1}', '{"b":"é"}']);
    s.flush();
    expect(lines).toEqual(['{"a":1}', '{"b":"é"}', '{"c":3}']);
  });
});
