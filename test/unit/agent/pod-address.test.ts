import { describe, expect, it } from 'vitest';
import type { Container } from '../../../src/agent/runtime.js';
import { POD_IP_LABEL, REFUSED_ADDRESS_MS, RefusedAddresses, addressTaken, formatIPv4, inPool, lowerHalf, parseIPv4, planAddresses, staticPool } from '../../../src/agent/pod-address.js';
import { binding, observed } from './fixtures.js';

describe('staticPool', () => {
  it.each<[string, { subnet?: string; ipRange?: string }, string]>([
    ['a /16 with its lower half as the range: the upper half but its broadcast', { subnet: '172.30.0.0/16', ipRange: '172.30.0.0/17' }, '172.30.128.0 … 172.30.255.254'],
    ['a /20 of Docker\'s 192.168 pools', { subnet: '192.168.16.0/20', ipRange: '192.168.16.0/21' }, '192.168.24.0 … 192.168.31.254'],
    ['a range smaller than the lower half', { subnet: '10.1.0.0/16', ipRange: '10.1.64.0/18' }, '10.1.128.0 … 10.1.255.254'],
    ['no subnet (an address Docker chose itself is not configured)', {}, 'none: it has no IPv4 subnet'],
    ['a subnet without a range (an older berth\'s network, or one made by hand)', { subnet: '172.18.0.0/16' }, 'none: its subnet 172.18.0.0/16 has no IP range that keeps Docker\'s own addresses to the lower half'],
    ['a range in the upper half', { subnet: '172.30.0.0/16', ipRange: '172.30.128.0/17' }, 'none: its IP range 172.30.128.0/17 is not within the lower half of its subnet 172.30.0.0/16'],
    ['a range as large as the subnet', { subnet: '172.30.0.0/16', ipRange: '172.30.0.0/16' }, 'none: its IP range 172.30.0.0/16 is not within the lower half of its subnet 172.30.0.0/16'],
    ['an IPv6 subnet', { subnet: 'fd00::/64', ipRange: 'fd00::/65' }, 'none: it has no IPv4 subnet'],
  ])('%s', (_name, net, want) => {
    const p = staticPool(net);
    expect('none' in p ? `none: ${p.none}` : `${formatIPv4(p.first)} … ${formatIPv4(p.first + p.size - 1)}`).toBe(want);
  });
});

describe('addresses', () => {
  it.each([
    ['172.30.0.0/16', '172.30.0.0/17'],
    ['192.168.16.0/20', '192.168.16.0/21'],
    ['10.0.0.7/24', '10.0.0.0/25'],
    ['10.0.0.0/29', undefined],
    ['not/an/address', undefined],
    ['300.1.1.1/16', undefined],
  ])('the lower half of %s is %s', (subnet, want) => {
    expect(lowerHalf(subnet)).toBe(want);
  });

  it('reads and writes dotted addresses', () => {
    expect(parseIPv4('172.30.128.5')).toBe(0xac1e8005);
    expect(formatIPv4(0xac1e8005)).toBe('172.30.128.5');
    expect(parseIPv4('1.2.3')).toBeUndefined();
    expect(inPool({ first: 0xac1e8000, size: 10 }, '172.30.128.9')).toBe(true);
    expect(inPool({ first: 0xac1e8000, size: 10 }, '172.30.128.10')).toBe(false);
  });
});

describe('planAddresses', () => {
  const pool = { first: parseIPv4('10.9.128.0') ?? 0, size: 4 };
  const at = (ref: string, ip: string, over: Partial<Container> = {}): Container => {
    const c = observed(binding(ref.split('/')[1] ?? ''), 'app', over);
    return { ...c, labels: { ...c.labels, [POD_IP_LABEL]: ip } };
  };
  const all = ['default/a', 'default/b', 'default/c', 'default/d'];

  it('gives every pod its own address of the pool, the same whatever the order', () => {
    const got = planAddresses(all, [], pool);
    expect(new Set(got.values()).size).toBe(4);
    for (const ip of got.values()) expect(inPool(pool, ip)).toBe(true);
    expect(planAddresses([...all].reverse(), [], pool)).toEqual(got);
  });

  it('keeps the address a pod\'s container carries, and never hands out one a container carries, running or not', () => {
    const first = planAddresses(['default/a'], [], pool).get('default/a') ?? '';
    const got = planAddresses(['default/a', 'default/b'], [at('default/b', first, { state: 'exited' })], pool);
    expect(got.get('default/b')).toBe(first);
    expect(got.get('default/a')).not.toBe(first);
  });

  it('passes over a refused address, even the pod\'s own', () => {
    const own = '10.9.128.2';
    const got = planAddresses(['default/a'], [at('default/a', own, { state: 'created', error: 'Address already in use' })], pool, new Set([own]));
    expect(got.get('default/a')).not.toBe(own);
    expect(got.get('default/a')).toMatch(/^10\.9\.128\.[0-3]$/);
  });

  it('gives none when the pool is spent (that pod then runs in a sandbox)', () => {
    const got = planAddresses([...all, 'default/e'], [], pool);
    expect(got.size).toBe(4);
  });

  it('ignores an address outside the pool (the network was made again with another subnet)', () => {
    const got = planAddresses(['default/a'], [at('default/a', '172.30.128.9')], pool);
    expect(inPool(pool, got.get('default/a') ?? '')).toBe(true);
  });
});

describe('addressTaken and RefusedAddresses', () => {
  const c = (over: Partial<Container>, ip: string | null = '10.9.128.1'): Container => {
    const o = observed(binding('a'), 'app', over);
    return ip === null ? o : { ...o, labels: { ...o.labels, [POD_IP_LABEL]: ip } };
  };
  it.each<[string, Container, boolean]>([
    ['Docker refused its static address', c({ state: 'created', error: 'Address already in use' }), true],
    ['a restart refused the same way', c({ state: 'exited', exitCode: 128, error: 'Address already in use' }), true],
    ['a host port held elsewhere is not its address', c({ state: 'created', error: 'driver failed programming external connectivity on endpoint x: listen tcp4 0.0.0.0:8080: bind: address already in use' }), false],
    ['running now', c({ state: 'running', error: 'Address already in use' }), false],
    ['no static address', c({ state: 'created', error: 'Address already in use' }, null), false],
  ])('%s', (_name, container, want) => {
    expect(addressTaken(container)).toBe(want);
  });

  it('remembers a refused address for a while', () => {
    const r = new RefusedAddresses();
    expect([...r.refused([c({ state: 'created', error: 'Address already in use' })], 0)]).toEqual(['10.9.128.1']);
    expect([...r.refused([], REFUSED_ADDRESS_MS)]).toEqual(['10.9.128.1']);
    expect([...r.refused([], REFUSED_ADDRESS_MS + 1)]).toEqual([]);
  });
});
