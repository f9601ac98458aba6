import { describe, expect, it } from 'vitest';
import { DEFAULT_NODE_LEASE, leaseTiming } from '../../../src/agent/registration.js';

describe('leaseTiming', () => {
  it.each([
    [1, DEFAULT_NODE_LEASE],
    [50, DEFAULT_NODE_LEASE],
    // Past 50 renewals a second in all, each node renews less often and keeps three renewals of TTL.
    [100, { renewMs: 2_000, ttlSeconds: 6 }],
    [1_000, { renewMs: 20_000, ttlSeconds: 60 }],
  ])('%i nodes at the default lease', (nodes, want) => {
    expect(leaseTiming(DEFAULT_NODE_LEASE, nodes)).toEqual(want);
  });
  it('never shortens what the operator asked for', () => {
    expect(leaseTiming({ ttlSeconds: 30, renewMs: 10_000 }, 100)).toEqual({ ttlSeconds: 30, renewMs: 10_000 });
  });
});
