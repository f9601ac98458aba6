// Self-fencing: a node that lost its lease stops its own pods, so a pod moved away never runs twice.
import type { Logger } from '../log.js';
import type { Store } from '../store/store.js';
import { messageOf } from '../errors.js';
import { LABEL } from './labels.js';
import type { Container, ContainerRuntime } from './runtime.js';
import { isSandbox } from './sandbox.js';
import { stopPlanOf } from './stop.js';

/**
 * The longest a self-fencing stop waits for a container after SIGTERM: the controller may start the
 * pods' replacements once `--node-grace` (default 5 s) has passed after the lease expired, and the
 * old copies must be gone by then.
 */
export const SELF_FENCE_GRACE_SECONDS = 2;

/**
 * How long an agent whose lease was lost waits for etcd to answer before it fences: an agent that
 * etcd answers registers again within the controller's `--node-grace`, so its pods are not moved
 * and may keep running (a lease lost to a slow renewal on a busy machine stops nothing).
 */
export const REACH_TIMEOUT_MS = 1_000;

/** Whether etcd answers a read within `ms`. */
export async function etcdAnswers(store: Pick<Store, 'revision'>, ms = REACH_TIMEOUT_MS): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([store.revision().then(() => true, () => false), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The running containers of this node's pods, in the order they stop: members, then their
 * sandboxes (a sandbox stopped first would cut its members off the network while they still run).
 * Service stubs carry another label and are never here. Pure.
 */
export function planSelfFence(observed: readonly Container[], node: string): Container[] {
  const mine = observed.filter((c) => c.labels[LABEL.node] === node && c.state === 'running');
  return [...mine.filter((c) => !isSandbox(c)), ...mine.filter(isSandbox)];
}

/**
 * Stop every pod of `node` (SIGTERM, SIGKILL after the pod's grace period, at most
 * SELF_FENCE_GRACE_SECONDS). Needs Docker only, never etcd: it runs when etcd cannot be reached.
 * The containers stay on the engine; when the node registers again, fencing removes those of pods
 * bound elsewhere meanwhile, and the agent starts the others again. Returns how many it stopped.
 */
export async function selfFence(runtime: ContainerRuntime, node: string, log: Logger): Promise<number> {
  const running = planSelfFence(await runtime.list({ [LABEL.node]: node }), node);
  if (running.length === 0) return 0;
  log.warn({ containers: running.length }, 'self-fencing: the node lease expired (etcd unreachable or the lease lost), stopping this node\'s pods: they may be made again on other nodes');
  const stop = async (list: Container[]): Promise<void> => {
    await Promise.all(list.map(async (c) => {
      const grace = Math.min(stopPlanOf(c, SELF_FENCE_GRACE_SECONDS).graceSeconds, SELF_FENCE_GRACE_SECONDS);
      await runtime.stop(c.id, grace).catch((err: unknown) => log.warn({ container: c.name, err: messageOf(err) }, 'self-fencing: cannot stop a container'));
    }));
  };
  await stop(running.filter((c) => !isSandbox(c)));
  await stop(running.filter(isSandbox));
  return running.length;
}
