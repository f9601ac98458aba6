import { describe, expect, it } from 'vitest';
import type { OutboxRecord, StatusState } from '../../../src/store/index.js';
import {
  MAX_DESCRIPTION, appendStatusLines, appliedStatus, formatStatusLine, groupByCommit, rejectedStatus,
} from '../../../src/sync/index.js';
import { NO_TOKEN_NOTE, appliedNotes } from '../../../src/sync/status.js';
import { parseFiles, type DesiredObject } from '../../../src/manifest/index.js';

const NOW = new Date('2030-01-02T03:04:05.000Z');
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

function entry(commit: string, state: StatusState, description: string, time = NOW.toISOString()): OutboxRecord {
  return { type: 'outbox', source: 'main', commit, context: 'berth/sync', state, description, time };
}

describe('appliedStatus', () => {
  it.each([
    [{ objects: 3, created: 3, updated: 0, deleted: 0 }, 'applied: 3 objects, 3 created, 0 updated, 0 deleted'],
    [{ objects: 1, created: 0, updated: 1, deleted: 2 }, 'applied: 1 object, 0 created, 1 updated, 2 deleted'],
    [{ objects: 0, created: 0, updated: 0, deleted: 0 }, 'applied: 0 objects, 0 created, 0 updated, 0 deleted'],
  ])('%j → %s', (counts, description) => {
    expect(appliedStatus('main', A, counts, NOW)).toEqual({
      type: 'outbox', source: 'main', commit: A, context: 'berth/sync', state: 'success', description, time: NOW.toISOString(),
    });
  });
});

describe('rejectedStatus', () => {
  const long = `apps/web.yaml:17:9: spec.template.spec.containers[0].bogus: unknown field (supported here: ${'name, image, '.repeat(20)}env)`;
  it.each([
    ['one error', ['apps/web.yaml:17:9: unknown field'], 'rejected: 1 error; first: apps/web.yaml:17:9: unknown field'],
    ['two errors', ['a.yaml:1:1: first', 'b.yaml:2:2: second'], 'rejected: 2 errors; first: a.yaml:1:1: first'],
    ['no error text (never happens, still one line)', [], 'rejected: 0 errors'],
    ['a URL with credentials in the message', ['a.yaml:3:5: image https://bob:s3cret@registry.example/x: bad'], 'rejected: 1 error; first: a.yaml:3:5: image https://[redacted]@registry.example/x: bad'],
    ['line breaks in the message', ['a.yaml:1:1: one\ntwo\r\n  three'], 'rejected: 1 error; first: a.yaml:1:1: one two three'],
    ['control characters in the message, escaped', ['a.yaml:1:1: kind \u001b[2J\u0085x\u2028y'], 'rejected: 1 error; first: a.yaml:1:1: kind \\x1b[2J\\x85x y'], // U+2028 is whitespace: a space, like a newline
    ['a capped list, counted whole', ['a.yaml:1:1: first', 'b.yaml:2:2: second', '… and 998 more errors'], 'rejected: 1000 errors; first: a.yaml:1:1: first'],
  ])('%s', (_what, errors, description) => {
    expect(rejectedStatus('main', A, errors, NOW)).toEqual({
      type: 'outbox', source: 'main', commit: A, context: 'berth/sync', state: 'failure', description, time: NOW.toISOString(),
    });
  });

  it(`cuts a long first error to ${MAX_DESCRIPTION} characters, keeping its position`, () => {
    const { description } = rejectedStatus('main', A, [long, 'b.yaml:1:1: x'], NOW);
    expect(description).toHaveLength(MAX_DESCRIPTION);
    expect(description.startsWith('rejected: 2 errors; first: apps/web.yaml:17:9: spec.template')).toBe(true);
    expect(description.endsWith('…')).toBe(true);
  });
});

describe('formatStatusLine', () => {
  it.each([
    [entry(A, 'success', 'applied: 1 object, 1 created, 0 updated, 0 deleted'), '2030-01-02T03:04:05.000Z berth/sync success applied: 1 object, 1 created, 0 updated, 0 deleted'],
    [{ ...entry(A, 'pending', 'rolling out: 0/3 ready'), context: 'berth/health' as const }, '2030-01-02T03:04:05.000Z berth/health pending rolling out: 0/3 ready'],
    [entry(A, 'error', 'pull https://u:p@r.example/x failed\n'), '2030-01-02T03:04:05.000Z berth/sync error pull https://[redacted]@r.example/x failed'],
  ])('%j', (e, line) => {
    expect(formatStatusLine(e)).toBe(line);
  });
});

describe('appendStatusLines', () => {
  const ok = entry(A, 'success', 'applied: 1 object, 1 created, 0 updated, 0 deleted');
  const okLine = formatStatusLine(ok);
  const later = { ...entry(A, 'pending', 'rolling out', '2030-01-02T03:04:06.000Z'), context: 'berth/health' as const };
  const laterLine = formatStatusLine(later);

  it.each<[string, string | undefined, OutboxRecord[], string]>([
    ['no note yet', undefined, [ok], `${okLine}\n`],
    ['an empty note', '', [ok], `${okLine}\n`],
    ['several entries, in order', undefined, [ok, later], `${okLine}\n${laterLine}\n`],
    ["another writer's text is kept", 'reviewed by Ada\n', [ok], `reviewed by Ada\n${okLine}\n`],
    ['a note without a final newline', 'reviewed by Ada', [ok], `reviewed by Ada\n${okLine}\n`],
    ['a line already there is not added again (a second delivery)', `${okLine}\n`, [ok], `${okLine}\n`],
    ['only the new lines of a redelivered batch are added', `${okLine}\n`, [ok, later], `${okLine}\n${laterLine}\n`],
    ['a line already there with trailing blanks', `${okLine}  \n`, [ok], `${okLine}  \n`],
    ['the same entry twice in one batch', undefined, [ok, ok], `${okLine}\n`],
    ['nothing to add', 'x\n', [], 'x\n'],
    ['nothing to add to no note', undefined, [], ''],
  ])('%s', (_what, note, entries, expected) => {
    expect(appendStatusLines(note, entries)).toBe(expected);
  });

  it('is idempotent: appending the same entries to its own result changes nothing', () => {
    const once = appendStatusLines('other\n', [ok, later]);
    expect(appendStatusLines(once, [ok, later])).toBe(once);
    expect(appendStatusLines(once, [later])).toBe(once);
  });
});

describe('groupByCommit', () => {
  it('keeps commits in order of their first entry and each commit’s entries in order', () => {
    const [a1, b1, a2, b2] = [entry(A, 'success', 'a1'), entry(B, 'failure', 'b1'), entry(A, 'pending', 'a2'), entry(B, 'success', 'b2')];
    expect(groupByCommit([a1, b1, a2, b2])).toEqual([
      { commit: A, entries: [a1, a2] },
      { commit: B, entries: [b1, b2] },
    ]);
    expect(groupByCommit([])).toEqual([]);
  });
});

describe('appliedNotes: said once, by the commit that creates or changes what asks for it', () => {
  const deployment = (podSpec: string): DesiredObject[] => {
    const text = `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n${podSpec}      containers: [{name: web, image: nginx:1.27}]\n`;
    const { objects, errors } = parseFiles([{ path: 'web.yaml', text }]);
    expect(errors).toEqual([]);
    return objects;
  };
  it.each([
    ['no service account', '', []],
    ['a serviceAccountName', '      serviceAccountName: web\n', [NO_TOKEN_NOTE]],
    ['automountServiceAccountToken: true', '      automountServiceAccountToken: true\n', [NO_TOKEN_NOTE]],
    ['a serviceAccountName whose token is not wanted', '      serviceAccountName: web\n      automountServiceAccountToken: false\n', []],
  ])('%s', (_what, podSpec, want) => {
    expect(appliedNotes(deployment(podSpec))).toEqual(want);
  });
  it.each([
    ['a ServiceAccount', 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: web}\n', [NO_TOKEN_NOTE]],
    ['a ServiceAccount whose token is not wanted', 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: web}\nautomountServiceAccountToken: false\n', []],
  ])('%s', (_what, text, want) => {
    const { objects, errors } = parseFiles([{ path: 'sa.yaml', text }]);
    expect(errors).toEqual([]);
    expect(objects).toMatchObject([{ kind: 'ServiceAccount', name: 'web', namespace: 'default' }]);
    expect(appliedNotes(objects)).toEqual(want);
  });
  it('ends the applied description, within the length a forge shows', () => {
    const s = appliedStatus('main', A, { objects: 2, created: 1, updated: 0, deleted: 0 }, NOW, [NO_TOKEN_NOTE]);
    expect(s.description).toBe('applied: 2 objects, 1 created, 0 updated, 0 deleted; service accounts kept; berth mounts no service account token');
    expect(s.description.length).toBeLessThanOrEqual(MAX_DESCRIPTION);
  });
});
