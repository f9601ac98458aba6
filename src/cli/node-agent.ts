// `berth agent`: the node agent alone. Kept apart from up.ts so that an agent process loads only
// the agent and the store (no Git, API server or scheduler code): it runs on every node.
import os from 'node:os';
import path from 'node:path';
import { loggerFor } from './logger.js';
import { AgeIdentities, DockerRuntime, DockerStubs, type AgentOptions, RegistryAuth, defaultAddress, metered, parseAddress, parseAllow, parseNodeLabels, registryAuthPath, startAgent } from '../agent/index.js';
import { parseListen } from '../api/listen.js';
import { loadToken } from '../api/token.js';
import { runStack } from './stack.js';
import { parseDuration } from './duration.js';
import { UsageError } from '../errors.js';
import { readSecretFile } from '../secret-file.js';
import { connectStore } from './etcd-connect.js';
import type { UpFlags } from './up.js';

/** The node agent's options from its flags, checked before anything starts (a bad credentials file fails here). */
export async function agentFlags(flags: Omit<UpFlags, 'listen'>): Promise<Pick<AgentOptions, 'labels' | 'registryAuth' | 'dataDir' | 'allow' | 'address' | 'hostIp' | 'podNetwork' | 'sandboxImage' | 'services' | 'leaseTtlSeconds' | 'leaseRenewMs' | 'selfFence' | 'ageIdentities'>> {
  const labels = parseNodeLabels(flags.label);
  const lease = nodeLease(flags);
  const allow = parseAllow(flags.allow);
  const address = flags.address === undefined ? undefined : parseAddress(flags.address);
  const where = registryAuthPath(flags.registryAuthFile);
  const registryAuth = new RegistryAuth(where.file, where.explicit);
  await registryAuth.check();
  // The operator's age identities: refused when open to others, or holding none, before anything starts.
  const ageIdentities = flags.ageKeyFile === undefined ? undefined : await AgeIdentities.parse((await readSecretFile(flags.ageKeyFile, '--age-key-file', 'EAGEKEY')).toString('utf8'), `--age-key-file ${flags.ageKeyFile}`);
  return { ...lease, selfFence: flags.selfFence, ...(ageIdentities === undefined ? {} : { ageIdentities }), labels, registryAuth, allow, dataDir: path.resolve(flags.dataDir), hostIp: flags.hostIp, podNetwork: flags.podNetwork, sandboxImage: flags.sandboxImage, services: { stubs: new DockerStubs({ docker: flags.docker }), network: flags.podNetwork, image: flags.serviceImage }, ...(address === undefined ? {} : { address }) };
}

/** `--node-lease-ttl` (whole seconds, as etcd grants them) and `--node-lease-renew`, which must be shorter. */
function nodeLease(flags: Pick<UpFlags, 'nodeLeaseTtl' | 'nodeLeaseRenew'>): { leaseTtlSeconds: number; leaseRenewMs: number } {
  const ttlMs = parseDuration(flags.nodeLeaseTtl, '--node-lease-ttl');
  const leaseRenewMs = parseDuration(flags.nodeLeaseRenew, '--node-lease-renew');
  if (ttlMs % 1000 !== 0) throw new UsageError('EFLAGS', `--node-lease-ttl must be whole seconds, got '${flags.nodeLeaseTtl}'`, { hint: 'etcd grants leases in seconds: use a value such as 4s' });
  if (leaseRenewMs >= ttlMs) throw new UsageError('EFLAGS', `--node-lease-renew (${flags.nodeLeaseRenew}) must be shorter than --node-lease-ttl (${flags.nodeLeaseTtl})`, { hint: 'renew a few times per TTL, such as --node-lease-ttl 4s --node-lease-renew 1s' });
  return { leaseTtlSeconds: ttlMs / 1000, leaseRenewMs };
}

/** Run the agent of this node against an existing etcd (default http://127.0.0.1:2379); with `--listen`, its endpoint too. */
export async function runAgent(flags: Omit<UpFlags, 'listen'> & { listen?: string }): Promise<never> {
  const log = loggerFor(flags);
  return runStack(log, async (stack) => {
    const agentOpts = await agentFlags(flags);
    // `--listen`: the node endpoint for `berth logs` and `berth exec` (kubelet's :10250), behind the API server's token.
    const endpoint = flags.listen === undefined ? undefined : { listen: parseListen(flags.listen), token: await loadToken(path.resolve(flags.tokenFile ?? path.join(flags.dataDir, 'api-token'))) };
    const runtime = metered(new DockerRuntime({ docker: flags.docker }));
    await runtime.ping();
    const store = await connectStore(flags, stack, false, undefined, 'http');
    const node = flags.node ?? os.hostname();
    stack.stops.push((await startAgent({ store, runtime, node, log, ...agentOpts })).stop);
    if (endpoint) {
      // Listening on every address, the API server reaches it at the node's address.
      const advertise = endpoint.listen.host === '0.0.0.0' || endpoint.listen.host === '::' ? (agentOpts.address ?? defaultAddress()) : undefined;
      // Loaded only here: ws and the exec and logs code are no cost to an agent without --listen.
      const { startNodeServer } = await import('../agent/node-server.js');
      stack.stops.push((await startNodeServer({ store, log, node, ...endpoint, ...(advertise === undefined ? {} : { advertise }), ...(flags.docker === undefined ? {} : { docker: flags.docker }) })).stop);
    }
    log.info({ component: 'agent' }, 'berth agent is running');
  });
}
