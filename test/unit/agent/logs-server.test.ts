import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/errors.js';
import { parseLogRequest } from '../../../src/agent/logs-server.js';
import { dockerDemuxer } from '../../../src/agent/pod-container.js';

const frame = (stream: number, text: string): Buffer => {
  const body = Buffer.from(text);
  const head = Buffer.alloc(8);
  head[0] = stream;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
};

describe('parseLogRequest', () => {
  it.each([
    ['/logs/shop/web-0', { namespace: 'shop', pod: 'web-0', follow: false }],
    ['/logs/shop/web-0?container=app&tail=10&since=600&follow=1', { namespace: 'shop', pod: 'web-0', container: 'app', tail: 10, sinceSeconds: 600, follow: true }],
    ['/logs/shop/web-0?follow=0&tail=0', { namespace: 'shop', pod: 'web-0', tail: 0, follow: false }],
  ])('%s', (url, query) => {
    expect(parseLogRequest(url)).toEqual(query);
  });

  it.each([
    ['/pods/shop/web-0', /expected \/logs\/<namespace>\/<pod>/],
    ['/logs/shop', /expected/],
    ['/logs/shop/web-0/more', /expected/],
    ['/logs/Shop/web-0', /expected/],
    ['/logs/shop/web-0?tail=-1', /tail must be a whole number/],
    ['/logs/shop/web-0?tail=1e3', /tail must be a whole number/],
    ['/logs/shop/web-0?since=x', /since must be a whole number/],
    ['/logs/shop/web-0?follow=yes', /follow must be 0 or 1/],
    ['/logs/shop/web-0?container=A_B', /container must be a container name/],
    ['/logs/shop/web-0?color=red', /unknown parameter "color"/],
  ])('refuses %s', (url, message) => {
    expect(() => parseLogRequest(url)).toThrow(InvalidInputError);
    expect(() => parseLogRequest(url)).toThrow(message);
  });
});

describe('dockerDemuxer', () => {
  const run = (chunks: Buffer[], raw?: boolean): string => {
    const out: Buffer[] = [];
    const push = dockerDemuxer((b, stream) => out.push(Buffer.from(`${stream}:${b.toString()}`)), raw);
    for (const c of chunks) push(c);
    return Buffer.concat(out).toString();
  };
  const stream = Buffer.concat([frame(1, 'out one\n'), frame(2, 'err one\n'), frame(1, 'out two\n')]);

  it.each([
    ['whole', [stream]],
    ['split inside a header and a payload', [stream.subarray(0, 3), stream.subarray(3, 12), stream.subarray(12, 30), stream.subarray(30)]],
    ['byte by byte', [...stream].map((b) => Buffer.from([b]))],
  ])('gives the payloads in order, chunked %s', (_name, chunks) => {
    expect(run(chunks)).toBe('1:out one\n2:err one\n1:out two\n');
  });

  it('passes a stream that is not multiplexed (a TTY) as it is', () => {
    expect(run([Buffer.from('plain '), Buffer.from('text\n')])).toBe('1:plain 1:text\n');
  });

  it('passes a TTY\'s stream whole when told it is one, whatever its first byte', () => {
    expect(run([Buffer.from([1, 65]), Buffer.from('B')], true)).toBe('1:\u0001A1:B');
  });
});
