// The pod network on Docker: found, or made with a subnet whose upper half is free for static pod
// addresses (pod-address.ts). Part of the Docker adapter (docker.ts).
import { randomBytes } from 'node:crypto';
import type Docker from './dockerode.js';
import { BerthError } from '../errors.js';
import type { NetworkInfo } from './runtime.js';
import { compareText } from './runtime.js';
import type { DockerHost } from './docker-host.js';
import { dockerMessage, statusOf, translate } from './docker-host.js';
import { timeKey } from './docker-shapes.js';
import { lowerHalf } from './pod-address.js';

/** How long after making a network the list is read again (see makeNetwork). */
const NETWORK_SETTLE_MS = 300;
/** How many times a network is made before giving up (a subnet taken since the probe, a network gone as made). */
const MAKE_NETWORK_ATTEMPTS = 3;

/**
 * Find the bridge network `name`, or make it with a subnet Docker picks (see freeSubnet) and an IP
 * range of its lower half; when several of that name exist (processes raced), keep the oldest.
 */
export async function makeNetwork(docker: Docker, host: DockerHost, name: string, labels: Record<string, string>): Promise<NetworkInfo> {
  let found = await networksNamed(docker, host, name);
  for (let attempt = 1; found.length === 0; attempt++) {
    if (attempt > MAKE_NETWORK_ATTEMPTS) throw new BerthError('EDOCKER', `network ${name} vanished as it was made`);
    const subnet = await freeSubnet(docker, host, name, labels);
    const ipRange = subnet === undefined ? undefined : lowerHalf(subnet);
    try {
      await docker.createNetwork({
        Name: name, Driver: 'bridge', CheckDuplicate: true, Labels: labels,
        // Docker's own addresses (containers without one of their own) from the lower half; static pod addresses from the upper.
        ...(subnet === undefined || ipRange === undefined ? {} : { IPAM: { Driver: 'default', Config: [{ Subnet: subnet, IPRange: ipRange }] } }),
      });
    } catch (err) {
      // 409: another agent on this engine made it first, which is what we wanted. An overlap: the subnet
      // was taken since the probe (by another network being made): the next attempt probes again.
      if (statusOf(err) !== 409 && !(/overlap/i.test(dockerMessage(err)) && attempt < MAKE_NETWORK_ATTEMPTS)) throw translate(err, `cannot create network ${name}`, host);
    }
    // NOTE: CheckDuplicate is best effort: processes racing here can make two networks of one name
    // (measured on 20.10), and a network shows in the list only once made, after its creation time is
    // set. So the list is read again after a pause long enough for a creation begun meanwhile to
    // show; every caller keeps the oldest and removes the others, which nothing uses yet.
    await new Promise((resolve) => setTimeout(resolve, NETWORK_SETTLE_MS));
    found = await networksNamed(docker, host, name);
  }
  const [keep, ...extra] = found;
  for (const n of extra) await docker.getNetwork(n.Id).remove().catch(() => undefined);
  if (keep === undefined) throw new BerthError('EDOCKER', `network ${name} vanished as it was made`);
  const ipv4 = (keep.IPAM?.Config ?? []).find((c) => c.Subnet !== undefined && !c.Subnet.includes(':'));
  return { id: keep.Id, ...(ipv4?.Subnet === undefined ? {} : { subnet: ipv4.Subnet }), ...(ipv4?.IPRange === undefined || ipv4.IPRange === '' ? {} : { ipRange: ipv4.IPRange }) };
}

/**
 * The IPv4 subnet Docker would give a new network now, from its address pools (which know the
 * host's routes and every network of the engine): a probe network is made, read and removed.
 * Undefined when Docker gave it none berth can halve.
 */
async function freeSubnet(docker: Docker, host: DockerHost, name: string, labels: Record<string, string>): Promise<string | undefined> {
  let probe: Docker.Network;
  try {
    probe = await docker.createNetwork({ Name: `${name}-probe-${randomBytes(4).toString('hex')}`, Driver: 'bridge', Labels: labels });
  } catch (err) {
    throw translate(err, `cannot create network ${name}`, host);
  }
  try {
    const info = (await probe.inspect()) as Docker.NetworkInspectInfo;
    return (info.IPAM?.Config ?? []).map((c) => c.Subnet ?? '').find((subnet) => lowerHalf(subnet) !== undefined);
  } catch (err) {
    throw translate(err, `cannot inspect network ${name}`, host);
  } finally {
    await probe.remove().catch(() => undefined);
  }
}

/** The networks named exactly `name` (Docker's filter matches parts of names), oldest first. */
async function networksNamed(docker: Docker, host: DockerHost, name: string): Promise<Docker.NetworkInspectInfo[]> {
  try {
    const all = await docker.listNetworks({ filters: { name: [name] } });
    return all.filter((n) => n.Name === name).sort((a, b) => compareText(timeKey(a.Created), timeKey(b.Created)) || compareText(a.Id, b.Id));
  } catch (err) {
    throw translate(err, `cannot list networks named ${name}`, host);
  }
}
