import { describe, expect, it } from 'vitest';
import { BerthError } from '../../../src/errors.js';
import { atField, parseConfig } from '../../../src/sync/config.js';

const FILE = '/etc/berth/berth.yaml';

function errorsOf(text: string): string[] {
  try {
    parseConfig(text, FILE);
  } catch (err) {
    if (!(err instanceof BerthError)) throw err;
    expect(err.code).toBe('ECONFIG');
    const [head, ...lines] = err.message.split('\n');
    expect(head).toBe(`invalid config file ${FILE}:`);
    return lines;
  }
  throw new Error('the config was accepted');
}

describe('parseConfig', () => {
  it('reads every field, with the flags\' defaults for those left out and paths against the file\'s folder', () => {
    const sources = parseConfig(
      `sources:
  - name: web
    repo: https://git.example.com/team/web.git
    branch: release
    path: deploy
    interval: 5s
    repoCredentialsFile: secrets/web.creds
    status: none
    skipKinds: [Service, Ingress]
    verifyCommits: keys/allowed_signers
    autoRevert: true
    historyLimit: 50
    allowPlainSecrets: true
  - name: local
    repo: ../repos/ops
`,
      FILE,
    );
    expect(sources.map(({ at: _at, ...s }) => s)).toEqual([
      {
        name: 'web', repo: 'https://git.example.com/team/web.git', branch: 'release', path: 'deploy', interval: '5s',
        repoCredentialsFile: '/etc/berth/secrets/web.creds', status: ['none'], skipKinds: ['Service', 'Ingress'],
        verifyCommits: '/etc/berth/keys/allowed_signers', autoRevert: true, historyLimit: 50, allowPlainSecrets: true,
      },
      { name: 'local', repo: '/etc/repos/ops', branch: 'main', path: '.', interval: '30s', status: ['git-notes'], skipKinds: [], autoRevert: false, allowPlainSecrets: false },
    ]);
    expect(sources[0]?.at.interval).toEqual({ file: FILE, line: 6, col: 15 });
    expect(sources[1]?.at.source).toEqual({ file: FILE, line: 14, col: 5 });
  });

  it('takes a list of reporters as status', () => {
    expect(parseConfig('sources:\n- {name: a, repo: /r, status: [git-notes, gitea]}\n', FILE)[0]?.status).toEqual(['git-notes', 'gitea']);
    expect(errorsOf('sources:\n- {name: a, repo: /r, status: [git-notes, gitee]}\n')).toEqual([`${FILE}:2:31: status 'gitee' must be one of git-notes, none, github, gitea, gitlab`]);
  });

  it('takes autoRevert and allowPlainSecrets as true or false only', () => {
    expect(errorsOf('sources:\n- {name: a, repo: /r, autoRevert: yes please}\n')).toEqual([`${FILE}:2:35: autoRevert must be true or false`]);
    expect(errorsOf('sources:\n- {name: a, repo: /r, allowPlainSecrets: 1}\n')).toEqual([`${FILE}:2:42: allowPlainSecrets must be true or false`]);
  });

  it('takes a bare number of seconds as an interval', () => {
    expect(parseConfig('sources:\n- {name: a, repo: /r, interval: 10}\n', FILE)[0]?.interval).toBe('10');
  });

  it.each([
    ['an unknown field, by name', 'sources:\n  - name: a\n    repo: /r\n    brnach: main\n', [`${FILE}:4:5: unknown field 'brnach' in a source; the fields are name, repo, branch, path, interval, repoCredentialsFile, status, skipKinds, verifyCommits, forgeUrl, forgeTokenFile, publicUrl, statusContextSuffix, autoRevert, historyLimit, allowPlainSecrets`]],
    ['an unknown top-level field', 'source:\n  - name: a\n', [`${FILE}:1:1: unknown field 'source'; the config file has only 'sources'`, `${FILE}:1:1: 'sources' must be a list of at least one source`]],
    ['a missing name and repo', 'sources:\n  - branch: main\n', [`${FILE}:2:5: a source needs 'name'`, `${FILE}:2:5: a source needs 'repo'`]],
    ['a name given twice', 'sources:\n  - {name: a, repo: /r}\n  - {name: a, repo: /s}\n', [`${FILE}:3:12: source name 'a' is used twice (first at 2:12); each source needs its own name`]],
    ['a name that is no key segment', 'sources:\n  - {name: a/b, repo: /r}\n', [`${FILE}:2:12: source name 'a/b' must be letters, digits, '-', '.' or '_', starting and ending with a letter or digit, at most 253 characters`]],
    ['a branch that YAML reads as a number', 'sources:\n  - name: a\n    repo: /r\n    branch: 2024\n', [`${FILE}:4:13: branch must be a non-empty string (quote it)`]],
    ['an unknown status', 'sources:\n  - {name: a, repo: /r, status: gitee}\n', [`${FILE}:2:33: status 'gitee' must be one of git-notes, none, github, gitea, gitlab`]],
    ['skipKinds as text', 'sources:\n  - {name: a, repo: /r, skipKinds: Service}\n', [`${FILE}:2:36: skipKinds must be a list of kinds, such as [Service, Ingress]`]],
    ['a historyLimit of 0', 'sources:\n  - {name: a, repo: /r, historyLimit: 0}\n', [`${FILE}:2:39: historyLimit must be a whole number from 1 to 1000000`]],
    ['a historyLimit as text', 'sources:\n  - {name: a, repo: /r, historyLimit: "5"}\n', [`${FILE}:2:39: historyLimit must be a whole number from 1 to 1000000`]],
    ['a historyLimit with a fraction', 'sources:\n  - {name: a, repo: /r, historyLimit: 2.5}\n', [`${FILE}:2:39: historyLimit must be a whole number from 1 to 1000000`]],
    ['no sources', 'sources: []\n', [`${FILE}:1:10: 'sources' must be a list of at least one source`]],
    ['a duplicate key', 'sources:\n  - name: a\n    name: b\n    repo: /r\n', [`${FILE}:3:5: Map keys must be unique`]],
    ['broken YAML', 'sources:\n  - name: [a\n', [expect.stringMatching(new RegExp(`^${FILE}:3:1: `))]],
  ])('refuses %s, at its line and column', (_name, text, expected) => {
    expect(errorsOf(text)).toEqual(expected);
  });

  it('puts an error found later at the field it comes from', () => {
    const [source] = parseConfig('sources:\n  - name: a\n    repo: /r\n    interval: soon\n', FILE);
    if (!source) throw new Error('no source');
    expect(() => atField(source, 'interval', () => {
      throw new BerthError('EDURATION', "invalid interval 'soon'", { hint: 'use 30s' });
    })).toThrow(`${FILE}:4:15: invalid interval 'soon'`);
  });
});
