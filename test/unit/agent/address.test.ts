import { describe, expect, it } from 'vitest';
import { defaultAddress, parseAddress, type InterfaceAddress } from '../../../src/agent/address.js';

const v4 = (address: string, internal = false): InterfaceAddress => ({ address, family: 'IPv4', internal });
const v6 = (address: string): InterfaceAddress => ({ address, family: 'IPv6', internal: false });

describe('defaultAddress: where other nodes reach this one', () => {
  it.each<[string, Record<string, InterfaceAddress[]>, string]>([
    ['the host interface, not loopback or docker0', { lo: [v4('127.0.0.1', true)], docker0: [v4('172.17.0.1')], eth0: [v4('192.0.2.2')] }, '192.0.2.2'],
    ['user-defined Docker bridges and veths are skipped', { 'br-0123abcd': [v4('172.18.0.1')], veth12ab: [v4('169.254.1.1')], ens3: [v4('10.1.2.3')] }, '10.1.2.3'],
    ['interfaces in name order, whatever order the OS lists them', { wlan0: [v4('10.9.9.9')], eth1: [v4('10.0.0.2')] }, '10.0.0.2'],
    ['IPv4 before IPv6', { eth0: [v6('2001:db8::1'), v4('192.0.2.7')] }, '192.0.2.7'],
    ['IPv6 when no IPv4, never link-local', { eth0: [v6('fe80::1'), v6('2001:db8::5')] }, '2001:db8::5'],
    ['the loopback when nothing else is there', { lo: [v4('127.0.0.1', true)], docker0: [v4('172.17.0.1')] }, '127.0.0.1'],
  ])('%s', (_name, interfaces, want) => {
    expect(defaultAddress(interfaces)).toBe(want);
  });
});

describe('parseAddress', () => {
  it.each(['192.0.2.10', ' 10.0.0.1 ', '2001:db8::2'])('accepts the IP %j', (v) => {
    expect(parseAddress(v)).toBe(v.trim());
  });
  it.each(['node-1.example', '', '300.1.1.1'])('refuses %j with a hint', (v) => {
    expect(() => parseAddress(v)).toThrow(/--address ".*" is not an IP address/);
  });
});
