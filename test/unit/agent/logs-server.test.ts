import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../src/errors.js';
import { dockerTime, lastLines, logWindow, parseLogRequest } from '../../../src/agent/logs-server.js';
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
    ['/logs/shop/web-0', { namespace: 'shop', pod: 'web-0', follow: false, previous: false }],
    ['/logs/shop/web-0?previous=1', { namespace: 'shop', pod: 'web-0', follow: false, previous: true }],
    ['/logs/shop/web-0?container=app&tail=10&since=600&follow=1', { namespace: 'shop', pod: 'web-0', container: 'app', tail: 10, sinceSeconds: 600, follow: true, previous: false }],
    ['/logs/shop/web-0?follow=0&tail=0', { namespace: 'shop', pod: 'web-0', tail: 0, follow: false, previous: false }],
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

describe('dockerTime', () => {
  it.each([
    ['2026-11-30T08:53:53.123456789Z', '1796028833.123456789'],
    ['2026-11-30T08:53:53.5Z', '1796028833.500000000'],
    ['2026-11-30T08:53:53Z', '1796028833.000000000'],
    ['2026-11-30T09:53:53.25+01:00', '1796028833.250000000'],
    ['yesterday', undefined],
    ['0001-01-01T00:00:00Z', undefined], // Docker's zero time: never started
  ])('%s → %s', (iso, docker) => {
    expect(dockerTime(iso)).toBe(docker);
  });
});

describe('logWindow', () => {
  const q = parseLogRequest('/logs/shop/web-0');
  // Run 2 ended at 08:00:05.25 after running since the end of run 1 (08:00:00); run 3 started at 08:00:10.5.
  const current = { id: 'c1', startedAt: '2026-11-30T08:00:10.5Z' };
  const last = { exitCode: 3, reason: 'Error' as const, containerId: 'c1', startedAt: '2026-11-30T08:00:00.1Z', finishedAt: '2026-11-30T08:00:05.25Z', logsSince: '2026-11-30T08:00:00Z' };
  const at = (iso: string): string => dockerTime(iso) ?? '';
  const now = Date.parse('2026-11-30T09:00:00Z') / 1000;

  it.each([
    ['the current run: after the end of the last', q, current, last, { id: 'c1', since: at(last.finishedAt) }],
    ['--since later than that', { ...q, sinceSeconds: 60 }, current, last, { id: 'c1', since: `${now - 60}.000000000` }],
    ['--since earlier than that', { ...q, sinceSeconds: 7200 }, current, last, { id: 'c1', since: at(last.finishedAt) }],
    ['a container that never restarted: all of it', q, current, undefined, { id: 'c1' }],
    ['a container waiting to restart: still its last run', q, { id: 'c1', startedAt: last.startedAt }, last, { id: 'c1', since: at(last.logsSince) }],
    ['a container made anew: all of it', q, { id: 'c2', startedAt: current.startedAt }, last, { id: 'c2' }],
    ['--previous: the kept run, of its container', { ...q, previous: true }, current, last, { id: 'c1', since: at(last.logsSince), until: at(last.finishedAt) }],
    ['--previous of a container\'s first run: from its start', { ...q, previous: true }, current, { ...last, logsSince: undefined }, { id: 'c1', until: at(last.finishedAt) }],
    ['--previous --since inside it', { ...q, previous: true, sinceSeconds: 3598 }, current, last, { id: 'c1', since: `${now - 3598}.000000000`, until: at(last.finishedAt) }],
    ['--previous of a replaced container: that container', { ...q, previous: true }, { id: 'c2', startedAt: current.startedAt }, last, { id: 'c1', since: at(last.logsSince), until: at(last.finishedAt) }],
  ])('%s', (_name, query, container, kept, window) => {
    expect(logWindow(query, 'web', container, kept, now)).toEqual(window);
  });

  it('says, as kubectl, that there is no previous run', () => {
    expect(() => logWindow({ ...q, previous: true }, 'web', current, undefined, now)).toThrow('previous terminated container "web" in pod "web-0" not found');
  });
});

describe('lastLines', () => {
  it.each([
    ['a\nb\nc\n', 2, 'b\nc\n'],
    ['a\nb\nc', 2, 'b\nc'],
    ['a\nb\n', 5, 'a\nb\n'],
    ['a\nb\n', 0, ''],
    ['', 3, ''],
  ])('%j, last %i → %j', (text, n, out) => {
    expect(lastLines(Buffer.from(text), n).toString()).toBe(out);
  });
});
