import { describe, expect, it } from 'vitest';
import type { Entry, SealRecord } from '../../../src/store/index.js';
import { desiredChanged } from '../../../src/sync/repair.js';

const seal: SealRecord = {
  type: 'seal', source: 's', commit: 'c1', revision: 20, time: '2026-01-01T00:00:00.000Z', author: 'Ada', message: 'm',
  counts: { objects: 2, created: 2, updated: 0, deleted: 0 },
};
const entry = (key: string, modRevision: number): Entry => ({ key, value: '{}', modRevision, createRevision: modRevision });

describe('desiredChanged', () => {
  it.each<[string, Entry[], boolean]>([
    ['as sealed', [entry('a', 12), entry('b', 20)], false],
    ['a key deleted by hand', [entry('a', 12)], true],
    ['a key edited by hand (written after the seal)', [entry('a', 12), entry('b', 21)], true],
    ['a key added by hand', [entry('a', 12), entry('b', 20), entry('c', 25)], true],
    ['one deleted and one added: same count, newer revision', [entry('a', 12), entry('c', 25)], true],
  ])('%s', (_what, latest, changed) => {
    expect(desiredChanged(latest, seal)).toBe(changed);
  });
});
