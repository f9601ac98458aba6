import { describe, expect, it } from 'vitest';
import { parseListen } from '../../../src/api/listen.js';
import { bearerMatches, isLoopback } from '../../../src/api/token.js';

describe('bearerMatches', () => {
  it.each([
    ['Bearer s3cret', true],
    ['bearer s3cret', true],
    ['Bearer   s3cret  ', true],
    [undefined, false],
    ['', false],
    ['s3cret', false],
    ['Basic s3cret', false],
    ['Bearer s3cre', false],
    ['Bearer s3cretX', false],
    ['Bearer ', false],
    ['Bearer s3cret extra', false],
  ])('%j → %s', (header, ok) => {
    expect(bearerMatches(header, 's3cret')).toBe(ok);
  });
});

describe('isLoopback', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.1.2.3', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['192.0.2.2', false],
    ['::ffff:192.0.2.2', false],
    ['fd00::2', false],
    ['1270::1', false],
    [undefined, false],
  ])('%j → %s', (address, loopback) => {
    expect(isLoopback(address)).toBe(loopback);
  });
});

describe('parseListen', () => {
  it.each([
    ['127.0.0.1:7420', { host: '127.0.0.1', port: 7420 }],
    ['0.0.0.0:0', { host: '0.0.0.0', port: 0 }],
    ['localhost:8080', { host: 'localhost', port: 8080 }],
    ['[::1]:7420', { host: '::1', port: 7420 }],
  ])('%s → %j', (text, address) => {
    expect(parseListen(text)).toEqual(address);
  });

  it.each(['7420', '127.0.0.1', '127.0.0.1:', '127.0.0.1:65536', '::1:7420', 'host:port', ''])('refuses %j with a one-line ELISTEN', (text) => {
    expect(() => parseListen(text)).toThrow(expect.objectContaining({ code: 'ELISTEN', message: expect.stringMatching(/^--listen must be host:port/) }));
  });
});
