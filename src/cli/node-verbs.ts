// `berth cordon|uncordon|drain NODE`: writes through the API server, as the other verbs.
import type { NodeControlView } from '../api/nodes-control.js';
import type { NodeView } from '../api/views.js';
import { BerthError } from '../errors.js';
import { parseDuration } from './duration.js';
import { client, print, type VerbFlags } from './verbs.js';

const nodePath = (node: string, verb: string): string => `/api/v1/nodes/${encodeURIComponent(node)}/${verb}`;

/** `berth cordon NODE`: no new pod is scheduled on it; what runs there stays. */
export async function runCordon(node: string, flags: VerbFlags): Promise<void> {
  const answer = await client(flags).post<NodeControlView>(nodePath(node, 'cordon'));
  print(flags, answer, answer.changed ? `node ${node} cordoned: no new pod is scheduled on it` : `node ${node} was cordoned already${answer.draining ? ' (and is being drained)' : ''}`);
}

/** `berth uncordon NODE`: pods may be scheduled on it again; a drain in progress stops. */
export async function runUncordon(node: string, flags: VerbFlags): Promise<void> {
  const answer = await client(flags).post<NodeControlView>(nodePath(node, 'uncordon'));
  print(flags, answer, answer.changed ? `node ${node} uncordoned: pods may be scheduled on it again` : `node ${node} was not cordoned`);
}

/**
 * `berth drain NODE`: cordon it and have the controller move its pods off, never leaving a Deployment
 * with fewer than `replicas − maxUnavailable` ready pods; waits until none is left, or `--timeout`.
 */
export async function runDrain(node: string, flags: VerbFlags & { timeout: string }): Promise<void> {
  const timeoutMs = parseDuration(flags.timeout, '--timeout');
  const api = client(flags);
  const answer = await api.post<NodeControlView>(nodePath(node, 'drain'));
  if (flags.output === 'table') process.stdout.write(`node ${node} cordoned; draining: its pods are made again on other nodes, within each Deployment's maxUnavailable\n`);
  const deadline = Date.now() + timeoutMs;
  let left = Number.POSITIVE_INFINITY;
  for (;;) {
    const { items } = await api.get<{ items: NodeView[] }>('/api/v1/nodes', { name: node });
    left = items[0]?.pods ?? 0;
    if (left === 0) break;
    if (Date.now() > deadline) {
      throw new BerthError('EDRAINTIMEOUT', `node ${node} still has ${left} pod(s) after ${flags.timeout}`, {
        hint: "each Deployment keeps replicas − maxUnavailable pods ready: see `berth get pods` and the controller's log; the drain goes on (berth uncordon stops it)",
      });
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  print(flags, { ...answer, pods: 0 }, `node ${node} drained: no pod is bound to it`);
}
