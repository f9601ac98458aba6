import { describe, expect, it } from 'vitest';
import { expiredPast } from '../../../src/sync/retention.js';

const h = (seq: number, commit?: string): { key: string; commit: string | undefined } => ({ key: `history/s/${String(seq).padStart(12, '0')}`, commit });
const note = (commit: string, seq = 1): string => `notes/s/${commit}/${String(seq).padStart(12, '0')}`;

describe('expiredPast', () => {
  it.each([
    ['nothing past the limit', { history: [h(1, 'a'), h(2, 'b')], notes: [note('a'), note('b')] }, 2, []],
    ['the oldest records and their commits\' notes', { history: [h(1, 'a'), h(2, 'b'), h(3, 'c')], notes: [note('a'), note('a', 2), note('b'), note('c')] }, 2, [h(1).key, note('a'), note('a', 2)]],
    ['a commit seen twice keeps its notes while one record stays', { history: [h(1, 'a'), h(2, 'b'), h(3, 'a')], notes: [note('a'), note('b')] }, 2, [h(1).key]],
    ['the commit in force stays however old', { history: [h(1, 'a'), h(2, 'b'), h(3, 'c')], notes: [note('a'), note('b')], inForce: 'a' }, 1, [h(2).key, note('b')]],
    ['a record that does not decode goes once it is old', { history: [h(1), h(2, 'b')], notes: [] }, 1, [h(1).key]],
    ['notes of a commit with no record', { history: [h(1, 'a')], notes: [note('zzz')] }, 5, [note('zzz')]],
  ])('%s', (_name, past, limit, expired) => {
    expect(expiredPast(past, limit)).toEqual([...expired].sort());
  });
});
