import { describe, expect, it } from 'vitest';
import { Interner } from '../../../src/store/intern.js';
import { decode, encode, type PodRecord } from '../../../src/store/index.js';
import { pod } from '../scheduler/fixtures.js';
import { statusOf } from '../controller/healthFixtures.js';

/** A record as a cache holds it: decoded afresh from its stored text, then compacted. */
const held = <T extends PodRecord | ReturnType<typeof statusOf>>(interner: Interner, r: T): T => interner.compact(decode(r.type, 'k', encode(r)) as T);

describe('Interner', () => {
  it.each([
    ['replicas of one template share it', pod('web-0'), pod('web-1'), true],
    ['another template (a hostPort) keeps its own', pod('web-0'), pod('web-1', { hostPorts: [8080] }), false],
    ['the same hash with another image keeps its own (the content decides, not the hash)', pod('web-0'), pod('web-1', { image: 'nginx:1.28' }), false],
  ])('pods: %s', (_, a, b, shared) => {
    const interner = new Interner();
    const [x, y] = [held(interner, a), held(interner, b)];
    expect(x.template === y.template).toBe(shared);
    expect([x, y]).toEqual([a, b]);
  });

  it("statuses read as they were written", () => {
    const interner = new Interner();
    const p = pod('web-0', { node: 'n1' });
    const written = statusOf(p, {});
    const x = held(interner, written);
    expect(x).toEqual(written);
  });
});
