import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/errors.js';
import { parseNodeLabels } from '../../../src/agent/node-labels.js';

describe('parseNodeLabels', () => {
  it.each([
    [[], {}],
    [['zone=eu-1'], { zone: 'eu-1' }],
    [['zone=eu-1', 'disk=ssd'], { zone: 'eu-1', disk: 'ssd' }],
    [['example.com/gpu=true'], { 'example.com/gpu': 'true' }],
    [['empty='], { empty: '' }],
    [['a.b_c-d=X.y_z-1'], { 'a.b_c-d': 'X.y_z-1' }],
  ])('%j → %j', (pairs, want) => {
    expect(parseNodeLabels(pairs)).toEqual(want);
  });

  it.each([
    ['zone', '--label "zone": expected key=value'],
    ['=eu', '--label "=eu": "" is not a valid key'],
    ['-zone=a', '--label "-zone=a": "-zone" is not a valid key'],
    ['zone=eu 1', '--label "zone=eu 1": "eu 1" is not a valid label value'],
    [`zone=${'a'.repeat(64)}`, 'is not a valid label value'],
    ['Bad_Prefix/x=1', 'the prefix before \'/\' must be a DNS-1123 subdomain'],
    ['berth.io/hostname=web-1', '--label "berth.io/hostname=web-1": keys under berth.io/ are set by berth itself'],
  ])('refuses %s', (pair, message) => {
    const err: unknown = (() => {
      try {
        return parseNodeLabels([pair]);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).message).toContain(message);
    expect((err as InvalidInputError).hint).toBe('pass --label key=value, e.g. --label zone=eu-1 (repeat it for more labels)');
  });

  it('refuses a key given twice', () => {
    expect(() => parseNodeLabels(['zone=a', 'zone=b'])).toThrow('--label "zone=b": zone is given twice');
  });
});
