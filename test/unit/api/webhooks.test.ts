import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { eventOf, matchPush, readPush, repoIdentity, signedBy } from '../../../src/api/webhooks.js';

const SECRET = 'hook-secret-1';
const BODY = Buffer.from('{"ref":"refs/heads/main"}');
const hmac = (secret: string, body: Buffer): string => createHmac('sha256', secret).update(body).digest('hex');

describe('signedBy', () => {
  const good = hmac(SECRET, BODY);
  const bad = hmac('another secret', BODY);
  it.each([
    ['github', { 'x-hub-signature-256': `sha256=${good}` }, true],
    ['github', { 'x-hub-signature-256': `sha256=${bad}` }, false],
    ['github', { 'x-hub-signature-256': good }, false],
    ['github', {}, false],
    ['gitea', { 'x-gitea-signature': good }, true],
    ['gitea', { 'x-forgejo-signature': good }, true],
    ['gitea', { 'x-gitea-signature': `sha256=${good}` }, false],
    ['gitlab', { 'x-gitlab-token': SECRET }, true],
    ['gitlab', { 'x-gitlab-token': `${SECRET}x` }, false],
    ['gitlab', { 'x-hub-signature-256': `sha256=${good}` }, false],
    ['generic', { 'x-berth-signature-256': `sha256=${good}` }, true],
    ['generic', { 'x-berth-signature-256': `sha256=${bad}` }, false],
  ] as const)('%s %j → %s', (forge, headers, expected) => {
    expect(signedBy(forge, headers, BODY, SECRET)).toBe(expected);
  });

  it('covers every byte of the body', () => {
    expect(signedBy('github', { 'x-hub-signature-256': `sha256=${hmac(SECRET, BODY)}` }, Buffer.from(`${BODY.toString()} `), SECRET)).toBe(false);
  });
});

describe('eventOf', () => {
  it.each([
    ['github', { 'x-github-event': 'push' }, 'push'],
    ['github', { 'x-github-event': 'ping' }, 'ping'],
    ['github', { 'x-github-event': 'issues' }, 'other'],
    ['gitea', { 'x-gitea-event': 'push' }, 'push'],
    ['gitea', { 'x-forgejo-event': 'push' }, 'push'],
    ['gitlab', { 'x-gitlab-event': 'Push Hook' }, 'push'],
    ['gitlab', { 'x-gitlab-event': 'Tag Push Hook' }, 'other'],
    ['generic', {}, 'push'],
  ] as const)('%s %j → %s', (forge, headers, expected) => {
    expect(eventOf(forge, headers)).toBe(expected);
  });
});

// Payload shapes as each forge documents its push event (fields berth reads, others trimmed).
const PAYLOADS = {
  github: { ref: 'refs/heads/main', repository: { full_name: 'team/deploy', clone_url: 'https://github.com/team/deploy.git', html_url: 'https://github.com/team/deploy', ssh_url: 'git@github.com:team/deploy.git' } },
  gitea: { ref: 'refs/heads/main', repository: { full_name: 'team/deploy', clone_url: 'https://gitea.example.com/team/deploy.git', html_url: 'https://gitea.example.com/team/deploy' } },
  gitlab: {
    object_kind: 'push', ref: 'refs/heads/main',
    project: { path_with_namespace: 'team/deploy', git_http_url: 'https://gitlab.example.com/team/deploy.git', web_url: 'https://gitlab.example.com/team/deploy' },
    repository: { url: 'git@gitlab.example.com:team/deploy.git', git_http_url: 'https://gitlab.example.com/team/deploy.git' },
  },
};

describe('readPush and matchPush', () => {
  const sources = [
    { name: 'gh', repo: 'https://deploy:tok@GitHub.com/team/deploy.git', branch: 'main' },
    { name: 'gh-release', repo: 'https://github.com/team/deploy', branch: 'release' },
    { name: 'gitea', repo: 'https://gitea.example.com/team/deploy/', branch: 'main' },
    { name: 'gitlab', repo: 'https://gitlab.example.com/team/deploy.git', branch: 'main' },
    { name: 'local', repo: '/srv/git/deploy', branch: 'main' },
  ];
  it.each([
    ['github', PAYLOADS.github, ['gh']],
    ['gitea', PAYLOADS.gitea, ['gitea']],
    ['gitlab', PAYLOADS.gitlab, ['gitlab']],
    ['a push to another branch', { ...PAYLOADS.github, ref: 'refs/heads/feature' }, []],
    ['a push of a tag', { ...PAYLOADS.github, ref: 'refs/tags/v1' }, []],
    ['another repository', { ...PAYLOADS.github, repository: { clone_url: 'https://github.com/team/other.git' } }, []],
    ['a generic push of a branch of any repository', { ref: 'refs/heads/release' }, ['gh-release']],
    ['a generic push of anything', {}, ['gh', 'gh-release', 'gitea', 'gitlab', 'local']],
  ])('%s', (_name, payload, expected) => {
    const push = readPush(Buffer.from(JSON.stringify(payload)));
    if (!push) throw new Error('no push read');
    expect(matchPush(push, sources)).toEqual(expected);
  });

  it('reads an empty body as a push of anything, and refuses what is not a JSON object', () => {
    expect(readPush(Buffer.alloc(0))).toEqual({ urls: [] });
    expect(readPush(Buffer.from('not json'))).toBeUndefined();
    expect(readPush(Buffer.from('42'))).toBeUndefined();
  });

  it.each([
    ['https://GitHub.com/Team/Deploy.git/', 'github.com/team/deploy'],
    ['http://u:p@127.0.0.1:8080/x.git', '127.0.0.1:8080/x'],
  ])('repoIdentity(%s) = %s', (url, id) => {
    expect(repoIdentity(url)).toBe(id);
  });
});
