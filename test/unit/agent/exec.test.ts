import { describe, expect, it } from 'vitest';
import { parseExecRequest } from '../../../src/agent/exec.js';
import { CHANNEL, frame, unframe } from '../../../src/channels.js';
import { InvalidInputError } from '../../../src/errors.js';

describe('parseExecRequest', () => {
  it.each([
    ['/exec/shop/web-0?command=ls', { namespace: 'shop', pod: 'web-0', command: ['ls'], stdin: false, tty: false }],
    ['/exec/shop/web-0?command=sh&command=-c&command=echo%20a%20b&container=app&stdin=1&tty=1', { namespace: 'shop', pod: 'web-0', container: 'app', command: ['sh', '-c', 'echo a b'], stdin: true, tty: true }],
    ['/exec/shop/web-0?command=true&stdin=0&tty=0', { namespace: 'shop', pod: 'web-0', command: ['true'], stdin: false, tty: false }],
  ])('%s', (url, query) => {
    expect(parseExecRequest(url)).toEqual(query);
  });

  it.each([
    ['/logs/shop/web-0?command=ls', /expected \/exec\/<namespace>\/<pod>/],
    ['/exec/shop?command=ls', /expected/],
    ['/exec/shop/web-0/x?command=ls', /expected/],
    ['/exec/shop/web-0', /command is required/],
    ['/exec/shop/web-0?command=', /command is required/],
    ['/exec/shop/web-0?command=ls&stdin=yes', /stdin must be 0 or 1/],
    ['/exec/shop/web-0?command=ls&tty=2', /tty must be 0 or 1/],
    ['/exec/shop/web-0?command=ls&container=A_B', /container must be a container name/],
    ['/exec/shop/web-0?command=ls&user=root', /unknown parameter "user"/],
    [`/exec/shop/web-0?${Array.from({ length: 257 }, () => 'command=a').join('&')}`, /limited to 256 words/],
    [`/exec/shop/web-0?command=${'a'.repeat(70_000)}`, /65536 bytes/],
  ])('refuses %s', (url, message) => {
    expect(() => parseExecRequest(url)).toThrow(InvalidInputError);
    expect(() => parseExecRequest(url)).toThrow(message);
  });
});

describe('channel frames', () => {
  it.each([
    [CHANNEL.stdin, 'typed'],
    [CHANNEL.stderr, ''],
    [CHANNEL.status, '{"exitCode":3}'],
  ])('channel %i carries %j unchanged', (channel, text) => {
    expect(unframe(frame(channel, text))).toEqual({ channel, payload: Buffer.from(text) });
  });

  it('an empty message has no channel', () => {
    expect(unframe(Buffer.alloc(0))).toBeUndefined();
  });
});
