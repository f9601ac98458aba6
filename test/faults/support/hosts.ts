// Hosts simulated on this machine: each a network namespace made here (a veth pair to a bridge of
// the test's own, an address on a private subnet) with a dockerd of its own inside. Nothing touches
// the host's firewall: a link is cut by taking the host end of its veth down.
import { randomBytes } from 'node:crypto';
import { startPrivateDockerd, type PrivateDocker } from '../../support/docker.js';
import { cleanupAfterExit, run, searchPath, type RunResult } from '../../support/process.js';

/** One simulated host. */
export interface SimHost {
  /** The network namespace. */
  netns: string;
  /** Its address on the private subnet. */
  address: string;
  /** Its own dockerd (inside the namespace; its socket is a file, reachable from here). */
  docker: PrivateDocker;
  /** Take its link down (a cable pulled): nothing reaches it, nothing leaves it. */
  cut(): Promise<void>;
  /** Bring its link back up. */
  restore(): Promise<void>;
}

/** A private subnet with simulated hosts; `gateway` is this machine's address on it. */
export interface SimNetwork {
  gateway: string;
  hosts: SimHost[];
  /** Stop the dockerds (their containers removed), delete the namespaces and the bridge. */
  remove(): Promise<void>;
}

const env = { ...process.env, PATH: searchPath() };
const ip = (...args: string[]): Promise<RunResult> => run('ip', args, { env });

/** Bash for the watchdog and remove(): delete the namespaces ($2…) and the bridge ($1). */
const removeScript = 'for ns in "${@:2}"; do ip netns del "$ns" 2>/dev/null; done; ip link del "$1" 2>/dev/null; true';

/**
 * Make `count` hosts on a new 10.214.N.0/24 (N chosen free of this machine's addresses): a bridge
 * with the gateway address, one namespace per host joined to it by a veth pair, and a dockerd in
 * each. On failure, whatever was made is removed again.
 */
export async function makeHosts(count: number): Promise<SimNetwork> {
  const id = randomBytes(2).toString('hex');
  const bridge = `bfl${id}`; // interface names are at most 15 characters
  const names = Array.from({ length: count }, (_, i) => `berth-f${id}-${i}`);
  const subnet = await freeSubnet();
  const cancelWatchdog = cleanupAfterExit(removeScript, [bridge, ...names]);
  const hosts: SimHost[] = [];
  const remove = async (): Promise<void> => {
    await Promise.all(hosts.map((h) => h.docker.stop().catch(() => undefined)));
    await run('bash', ['-c', removeScript, 'berth-faults', bridge, ...names], { env });
    cancelWatchdog();
  };
  try {
    await ip('link', 'add', 'name', bridge, 'type', 'bridge');
    await ip('addr', 'add', `${subnet}.1/24`, 'dev', bridge);
    await ip('link', 'set', bridge, 'up');
    for (const [i, netns] of names.entries()) {
      const outside = `vfl${id}${i}`;
      const inside = `vfl${id}${i}n`;
      const address = `${subnet}.${i + 2}`;
      await ip('netns', 'add', netns);
      await ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside);
      await ip('link', 'set', outside, 'master', bridge);
      await ip('link', 'set', outside, 'up');
      await ip('link', 'set', inside, 'netns', netns);
      await ip('-n', netns, 'addr', 'add', `${address}/24`, 'dev', inside);
      await ip('-n', netns, 'link', 'set', inside, 'up');
      await ip('-n', netns, 'link', 'set', 'lo', 'up');
      const docker = await startPrivateDockerd(60_000, { netns });
      hosts.push({
        netns, address, docker,
        cut: async () => {
          await ip('link', 'set', outside, 'down');
        },
        restore: async () => {
          await ip('link', 'set', outside, 'up');
        },
      });
    }
  } catch (err) {
    await remove().catch(() => undefined);
    throw err;
  }
  return { gateway: `${subnet}.1`, hosts, remove };
}

/** A `10.214.N` /24 no address or route of this machine is in. */
async function freeSubnet(): Promise<string> {
  const { stdout } = await ip('-4', '-o', 'addr', 'show');
  const { stdout: routes } = await ip('-4', '-o', 'route', 'show', 'table', 'all');
  const start = randomBytes(1)[0] ?? 0;
  for (let i = 0; i < 256; i++) {
    const candidate = `10.214.${(start + i) % 256}`;
    if (!`${stdout}\n${routes}`.includes(`${candidate}.`)) return candidate;
  }
  throw new Error('no free 10.214.N.0/24 subnet for the simulated hosts');
}
