import { describe, expect, it } from 'vitest';
import { chooseLogFormat } from '../../src/log.js';

describe('chooseLogFormat', () => {
  it.each([
    { flag: undefined, terminal: true, format: 'pretty' },
    { flag: undefined, terminal: false, format: 'json' },
    { flag: 'auto', terminal: true, format: 'pretty' },
    { flag: 'auto', terminal: false, format: 'json' },
    { flag: 'json', terminal: true, format: 'json' },
    { flag: 'pretty', terminal: false, format: 'pretty' },
  ])('--log-format $flag with stderr a terminal: $terminal → $format', ({ flag, terminal, format }) => {
    expect(chooseLogFormat(flag, terminal)).toBe(format);
  });
});
