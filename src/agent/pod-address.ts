// Static pod addresses, pure. A pod that runs as one container has no sandbox to hold its address,
// and on Docker 20.10 a container's address on a user-defined network is not kept across a stop and
// start when another container took it meanwhile; a static address is kept. So the pod network is
// made with a subnet whose lower half is Docker's own range (`IPRange`), and the agent gives each such
// pod an address of the upper half, chosen here and kept in the container's label.
import { createHash } from 'node:crypto';
import type { Container, NetworkInfo } from './runtime.js';
import { LABEL, podRef } from './labels.js';

/** Label of a container that runs a pod alone: the static address the agent chose for it. */
export const POD_IP_LABEL = 'berth.pod-ip';

/** Where static pod addresses come from: `size` addresses from `first` (as 32-bit numbers). */
export interface AddressPool {
  first: number;
  size: number;
}

/** An IPv4 address as a number; undefined when `s` is not one. */
export function parseIPv4(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

/** A number as a dotted IPv4 address. */
export function formatIPv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/** `a.b.c.d/len` as its first address and length; undefined when it is not an IPv4 CIDR. */
export function parseCidr(s: string): { base: number; bits: number } | undefined {
  const [ip, len, ...rest] = s.split('/');
  const base = parseIPv4(ip ?? '');
  const bits = Number(len);
  if (base === undefined || rest.length > 0 || !/^\d{1,2}$/.test(len ?? '') || bits > 32) return undefined;
  const size = 2 ** (32 - bits);
  return { base: base - (base % size), bits };
}

/** The lower half of an IPv4 subnet, as CIDR: the IPRange berth gives Docker's own allocations. */
export function lowerHalf(subnet: string): string | undefined {
  const c = parseCidr(subnet);
  if (c === undefined || c.bits > 28) return undefined;
  return `${formatIPv4(c.base)}/${c.bits + 1}`;
}

/**
 * The static addresses of a pod network, or why it has none: Docker allows a container a static
 * address only on a network made with a configured subnet, and berth keeps to the upper half of it
 * when Docker's own allocations stay in the lower half (`IPRange`, as berth makes the network). A
 * network made otherwise (by an older berth, or by hand) has none: its pods run in sandboxes.
 */
export function staticPool(n: Pick<NetworkInfo, 'subnet' | 'ipRange'>): AddressPool | { none: string } {
  const subnet = n.subnet === undefined ? undefined : parseCidr(n.subnet);
  if (subnet === undefined) return { none: 'it has no IPv4 subnet' };
  if (n.ipRange === undefined) return { none: `its subnet ${n.subnet ?? ''} has no IP range that keeps Docker's own addresses to the lower half` };
  const range = parseCidr(n.ipRange);
  const half = 2 ** (32 - subnet.bits - 1);
  if (subnet.bits > 28 || range === undefined || range.bits <= subnet.bits || range.base < subnet.base || range.base + 2 ** (32 - range.bits) > subnet.base + half) {
    return { none: `its IP range ${n.ipRange} is not within the lower half of its subnet ${n.subnet ?? ''}` };
  }
  // The upper half without its last address (the subnet's broadcast).
  return { first: subnet.base + half, size: half - 1 };
}

/** True when `ip` is an address of `pool`. */
export function inPool(pool: AddressPool, ip: string): boolean {
  const n = parseIPv4(ip);
  return n !== undefined && n >= pool.first && n < pool.first + pool.size;
}

/**
 * The static address of each pod in `pods` (`<namespace>/<pod>`): the one its container already
 * carries (label; only a container `keeps` says is the pod's as it is now: one of a replaced template
 * still holds its address), unless Docker refused it (`refused`: another container holds it); else the first
 * free one from a hash of the pod's name, past the addresses this node's containers carry (running or
 * not: a stopped one takes its address back when it starts) and those refused. The same pod gets the
 * same address again after its container was removed, unless it was taken meanwhile.
 */
export function planAddresses(pods: readonly string[], observed: readonly Container[], pool: AddressPool, refused: ReadonlySet<string> = new Set(), keeps: (c: Container) => boolean = () => true): Map<string, string> {
  const out = new Map<string, string>();
  const held = new Set<string>();
  const own = new Map<string, string>();
  for (const c of observed) {
    const ip = c.labels[POD_IP_LABEL];
    if (ip === undefined) continue;
    held.add(ip);
    const ref = podRef(c.labels[LABEL.namespace] ?? '', c.labels[LABEL.pod] ?? '');
    if (!refused.has(ip) && inPool(pool, ip) && keeps(c)) own.set(ref, ip);
  }
  const wanting: string[] = [];
  for (const ref of pods) {
    const ip = own.get(ref);
    if (ip === undefined) wanting.push(ref);
    else out.set(ref, ip);
  }
  for (const ref of [...wanting].sort()) {
    const start = createHash('sha256').update(ref).digest().readUInt32BE(0) % pool.size;
    for (let i = 0; i < pool.size; i++) {
      const ip = formatIPv4(pool.first + ((start + i) % pool.size));
      if (held.has(ip) || refused.has(ip)) continue;
      held.add(ip);
      out.set(ref, ip);
      break;
    }
  }
  return out;
}

/**
 * True when Docker refused to start `c` because its static address is held by another container
 * (Docker's State.Error; not a host port's `bind: address already in use`).
 */
export function addressTaken(c: Pick<Container, 'error' | 'labels' | 'state'>): boolean {
  return c.state !== 'running' && c.labels[POD_IP_LABEL] !== undefined && c.error !== undefined && /^address already in use$/i.test(c.error.trim());
}

/** How long an address Docker refused is avoided (the container that holds it may go meanwhile). */
export const REFUSED_ADDRESS_MS = 10 * 60_000;

/**
 * The static addresses Docker refused lately: a pod whose address was taken gets another, and
 * the next pick must not come back to it while the other container may still hold it.
 */
export class RefusedAddresses {
  private readonly at = new Map<string, number>();

  /** Note the addresses refused to `observed` containers (addressTaken) at `now`; the set refused within REFUSED_ADDRESS_MS. */
  refused(observed: readonly Container[], now: number): Set<string> {
    for (const c of observed) {
      const ip = c.labels[POD_IP_LABEL];
      if (ip !== undefined && addressTaken(c)) this.at.set(ip, now);
    }
    for (const [ip, at] of this.at) if (now - at > REFUSED_ADDRESS_MS) this.at.delete(ip);
    return new Set(this.at.keys());
  }
}
