// `berth agent`: the node agent alone. Kept apart from up.ts so that an agent process loads only
// the agent and the store (no Git, API server or scheduler code): it runs on every node.
import os from 'node:os';
import path from 'node:path';
import { createLogger } from '../log.js';
import { DockerRuntime, DockerStubs, type AgentOptions, RegistryAuth, parseAddress, parseAllow, parseNodeLabels, registryAuthPath, startAgent } from '../agent/index.js';
import { runStack } from './stack.js';
import { parseDuration } from './duration.js';
import { InvalidInputError } from '../errors.js';
import { connectStore } from './etcd-connect.js';
import type { UpFlags } from './up.js';

/** The node agent's options from its flags, checked before anything starts (a bad credentials file fails here). */
export async function agentFlags(flags: UpFlags): Promise<Pick<AgentOptions, 'labels' | 'registryAuth' | 'dataDir' | 'allow' | 'address' | 'hostIp' | 'podNetwork' | 'sandboxImage' | 'services' | 'leaseTtlSeconds' | 'leaseRenewMs'>> {
  const labels = parseNodeLabels(flags.label);
  const lease = nodeLease(flags);
  const allow = parseAllow(flags.allow);
  const address = flags.address === undefined ? undefined : parseAddress(flags.address);
  const where = registryAuthPath(flags.registryAuthFile);
  const registryAuth = new RegistryAuth(where.file, where.explicit);
  await registryAuth.check();
  return { ...lease, labels, registryAuth, allow, dataDir: path.resolve(flags.dataDir), hostIp: flags.hostIp, podNetwork: flags.podNetwork, sandboxImage: flags.sandboxImage, services: { stubs: new DockerStubs({ docker: flags.docker }), network: flags.podNetwork, image: flags.serviceImage }, ...(address === undefined ? {} : { address }) };
}

/** `--node-lease-ttl` (whole seconds, as etcd grants them) and `--node-lease-renew`, which must be shorter. */
function nodeLease(flags: Pick<UpFlags, 'nodeLeaseTtl' | 'nodeLeaseRenew'>): { leaseTtlSeconds: number; leaseRenewMs: number } {
  const ttlMs = parseDuration(flags.nodeLeaseTtl, '--node-lease-ttl');
  const leaseRenewMs = parseDuration(flags.nodeLeaseRenew, '--node-lease-renew');
  if (ttlMs % 1000 !== 0) throw new InvalidInputError('EFLAGS', `--node-lease-ttl must be whole seconds, got '${flags.nodeLeaseTtl}'`, { hint: 'etcd grants leases in seconds: use a value such as 4s' });
  if (leaseRenewMs >= ttlMs) throw new InvalidInputError('EFLAGS', `--node-lease-renew (${flags.nodeLeaseRenew}) must be shorter than --node-lease-ttl (${flags.nodeLeaseTtl})`, { hint: 'renew a few times per TTL, such as --node-lease-ttl 4s --node-lease-renew 1s' });
  return { leaseTtlSeconds: ttlMs / 1000, leaseRenewMs };
}

/** Run the agent of this node against an existing etcd (default http://127.0.0.1:2379). */
export async function runAgent(flags: UpFlags): Promise<never> {
  const log = createLogger({ level: flags.logLevel });
  return runStack(log, async (stack) => {
    const agentOpts = await agentFlags(flags);
    const runtime = new DockerRuntime({ docker: flags.docker });
    await runtime.ping();
    const store = await connectStore(flags, stack, false);
    stack.stops.push((await startAgent({ store, runtime, node: flags.node ?? os.hostname(), log, ...agentOpts })).stop);
    log.info({ component: 'agent' }, 'berth agent is running');
  });
}
