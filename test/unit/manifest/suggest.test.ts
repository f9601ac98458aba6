import { describe, expect, it } from 'vitest';
import { suggest } from '../../../src/manifest/suggest.js';

const FIELDS = ['replicas', 'selector', 'strategy', 'template', 'revisionHistoryLimit'];

describe('suggest', () => {
  it.each([
    ['replcas', 'replicas'],
    ['replica', 'replicas'],
    ['Replicas', 'replicas'],
    ['repilcas', 'replicas'], // a swap is one edit
    ['templates', 'template'],
    ['selectr', 'selector'],
    ['foo', undefined],
    ['paused', undefined],
  ])('%s → %s', (word, expected) => {
    expect(suggest(word, FIELDS)).toBe(expected);
  });

  it('allows only one edit in short words', () => {
    expect(suggest('evn', ['env'])).toBe('env');
    expect(suggest('ab', ['env'])).toBeUndefined();
  });
});
