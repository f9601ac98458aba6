// The agent's Docker operations counted and timed for /metrics (berth_container_operations_total,
// berth_container_operation_duration_seconds), around whatever runtime the agent is given.
import { timedContainerOp } from '../metrics.js';
import type { ContainerRuntime } from './runtime.js';

/** The operations that change or read a container or image; list, events and the like are not counted. */
const OPERATIONS = ['create', 'start', 'stop', 'remove', 'pull', 'exec', 'removeVolume'] as const;

/** `runtime`, with each of its container operations timed and counted by result. */
export function metered(runtime: ContainerRuntime): ContainerRuntime {
  const wrapped: Partial<ContainerRuntime> = {};
  for (const op of OPERATIONS) {
    const fn = runtime[op].bind(runtime) as (...args: unknown[]) => Promise<unknown>;
    (wrapped as Record<string, unknown>)[op] = (...args: unknown[]) => timedContainerOp(op, () => fn(...args));
  }
  return new Proxy(runtime, {
    get(target, prop, receiver) {
      const own = typeof prop === 'string' ? (wrapped as Record<string, unknown>)[prop] : undefined;
      if (own !== undefined) return own;
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
