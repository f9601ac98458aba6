// The node's address: where other nodes reach its published ports (pod status hostIP, the node record).
import { isIP } from 'node:net';
import os from 'node:os';
import { UsageError } from '../errors.js';

/** An interface as node:os describes it (only the fields used here). */
export interface InterfaceAddress {
  address: string;
  family: string;
  internal: boolean;
}

/** Interfaces Docker makes on the host (its bridges and their veth ends): other nodes cannot reach them. */
const DOCKER_INTERFACE = /^(docker\d*|docker_gwbridge|br-[0-9a-f]+|veth.*)$/;

/**
 * The default `--address`: the first IPv4 of a non-loopback interface that is not one of Docker's
 * bridges, interfaces taken in name order so the choice is stable; else the first such IPv6, else
 * the loopback (a single machine still works).
 */
export function defaultAddress(interfaces: Record<string, readonly InterfaceAddress[] | undefined> = os.networkInterfaces()): string {
  const usable = Object.keys(interfaces)
    .sort()
    .filter((name) => !DOCKER_INTERFACE.test(name))
    .flatMap((name) => (interfaces[name] ?? []).filter((a) => !a.internal));
  const v4 = usable.find((a) => a.family === 'IPv4' || String(a.family) === '4');
  const v6 = usable.find((a) => (a.family === 'IPv6' || String(a.family) === '6') && !a.address.startsWith('fe80:'));
  return v4?.address ?? v6?.address ?? '127.0.0.1';
}

/** Check an `--address` value: an IP literal, since pods on other nodes dial it. */
export function parseAddress(value: string): string {
  const v = value.trim();
  if (isIP(v) === 0) {
    throw new UsageError('EADDRESS', `--address "${value}" is not an IP address`, { hint: 'pass the IPv4 (or IPv6) address other nodes reach this one at, e.g. --address 192.0.2.10' });
  }
  return v;
}
