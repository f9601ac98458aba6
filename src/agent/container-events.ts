// The agent's watch of Docker's events for its node's containers: a change that can alter the plan
// kicks the loop; a broken stream is reopened with back-off, then a round catches up with what was
// missed meanwhile.
import type { Logger } from '../log.js';
import { messageOf } from '../errors.js';
import { LABEL } from './labels.js';
import type { ContainerRuntime } from './runtime.js';

/** Docker actions that can change what the plan decides (exec and attach churn are ignored). */
const WAKING = new Set(['create', 'start', 'die', 'stop', 'destroy', 'oom', 'pause', 'unpause', 'rename', 'update']);

/** A watch of a node's container events. */
export interface ContainerEvents {
  /** A round succeeded: Docker answers again, so the next break is a new outage (logged again). */
  recovered(): void;
  close(): Promise<void>;
}

/** Watch the events of containers labelled `berth.node=<node>`, calling `kick` on each that matters. */
export function watchContainerEvents(runtime: ContainerRuntime, node: string, log: Logger, kick: () => void): ContainerEvents {
  let closed = false;
  /** Consecutive breaks of the stream; reset by recovered(). */
  let failures = 0;
  let reopenTimer: NodeJS.Timeout | undefined;
  let stream: { close(): Promise<void> } | undefined;
  const open = (): void => {
    stream = runtime.events(
      { [LABEL.node]: node },
      (e) => {
        if (WAKING.has(e.action)) kick();
      },
      (err) => {
        if (closed) return;
        failures++;
        // Logged once per outage; reopened with back-off, then a reconcile for what was missed meanwhile.
        if (failures === 1) log.warn({ err: messageOf(err) }, 'container events broke; reopening');
        reopenTimer = setTimeout(() => {
          if (closed) return;
          open();
          kick();
        }, Math.min(10_000, 1000 * 2 ** (failures - 1)));
        reopenTimer.unref();
      },
    );
  };
  open();
  return {
    recovered: () => {
      failures = 0;
    },
    close: async () => {
      closed = true;
      clearTimeout(reopenTimer);
      await stream?.close();
    },
  };
}
