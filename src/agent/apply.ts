// Carries out a converge plan against the runtime. Failures are per action: they become a pod's
// status message, never an exception for the whole round (except an unreachable runtime).
import type { Logger } from '../log.js';
import { InvalidInputError, messageOf } from '../errors.js';
import type { ContainerRuntime } from './runtime.js';
import { isRuntimeDown } from './runtime.js';
import type { ContainerAction } from './plan.js';
import type { PullPolicy } from './pull.js';
import type { Problem } from './status.js';

/** What a round of applying achieved. */
export interface ApplyResult {
  /** Per slot (`<namespace>/<pod>/<container>`): why it is not running as planned. */
  problems: Map<string, Problem>;
  /** Slots whose container was started again after it had run. */
  restarted: Set<string>;
  /** Slots whose container was created in this round. */
  created: Set<string>;
  /** True when anything on the engine changed (worth a fresh look before writing status). */
  changed: boolean;
  /** Failures worth a quick retry (not a wrong image name, which a person must fix). */
  transient: number;
  /** Earliest back-off deadline among `wait` actions (ms since the epoch). */
  wakeAt: number | undefined;
}

/** Runs plans; removals that nothing waits for continue in the background. */
export class Applier {
  /** Removals in progress, by container id: the next round must not start them twice. */
  private readonly removing = new Map<string, Promise<void>>();

  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly log: Logger,
    private readonly graceSeconds: number,
    private readonly concurrency: number,
  ) {}

  /** Apply `actions` phase by phase; throws only when the runtime cannot be reached at all. */
  async apply(actions: ContainerAction[]): Promise<ApplyResult> {
    const result: ApplyResult = { problems: new Map(), restarted: new Set(), created: new Set(), changed: false, transient: 0, wakeAt: undefined };
    const failed = (a: ContainerAction, reason: string, err: unknown): void => {
      if (isRuntimeDown(err)) throw err;
      if (!(err instanceof InvalidInputError)) result.transient++;
      const message = messageOf(err);
      this.log.warn({ action: a.kind, container: a.kind === 'create' ? a.spec.name : a.name, err: message }, 'container action failed');
      if (a.kind !== 'remove') result.problems.set(a.slot, { reason, message });
    };

    const phase1 = actions.filter((a) => a.phase === 1);
    await Promise.all(phase1.map((a) => (a.kind === 'remove' ? this.removeNow(a, result, failed) : Promise.resolve())));

    const pulls = new Map<string, Promise<void>>();
    const steps = actions.filter((a) => a.phase === 2);
    for (const a of steps) {
      if (a.kind === 'remove') this.removeInBackground(a, result);
      if (a.kind === 'wait') {
        result.problems.set(a.slot, { reason: 'CrashLoopBackOff', message: a.reason });
        const at = Date.parse(a.until);
        result.wakeAt = Math.min(result.wakeAt ?? at, at);
      }
    }
    await pool(
      steps.filter((a) => a.kind === 'create' || a.kind === 'start'),
      this.concurrency,
      async (a) => {
        if (a.kind === 'create') {
          const ok = await this.ensureImage(a.spec.image, a.pullPolicy, pulls).then(
            () => true,
            (err: unknown) => (failed(a, err instanceof ImageNeverPulledError ? 'ErrImageNeverPull' : 'ErrImagePull', err), false),
          );
          if (!ok) return;
          let id: string;
          try {
            id = await this.runtime.create(a.spec);
          } catch (err) {
            return failed(a, 'CreateFailed', err);
          }
          result.changed = true;
          result.created.add(a.slot);
          this.log.info({ container: a.spec.name, reason: a.reason }, 'created container');
          await this.runtime.start(id).then(
            () => undefined,
            (err: unknown) => failed(a, 'StartFailed', err),
          );
        } else if (a.kind === 'start') {
          try {
            await this.runtime.start(a.id);
          } catch (err) {
            return failed(a, 'StartFailed', err);
          }
          result.changed = true;
          if (a.restart) result.restarted.add(a.slot);
          this.log.info({ container: a.name, reason: a.reason }, 'started container');
        }
      },
    );
    return result;
  }

  /** Ids of the containers being removed right now. */
  removingIds(): ReadonlySet<string> {
    return new Set(this.removing.keys());
  }

  /** Wait for the removals still in progress. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.removing.values()]);
  }

  private async removeNow(a: Extract<ContainerAction, { kind: 'remove' }>, result: ApplyResult, failed: (a: ContainerAction, reason: string, err: unknown) => void): Promise<void> {
    const running = this.removing.get(a.id);
    try {
      await (running ?? this.removeContainer(a));
      result.changed = true;
    } catch (err) {
      failed(a, 'RemoveFailed', err);
    }
  }

  private removeInBackground(a: Extract<ContainerAction, { kind: 'remove' }>, result: ApplyResult): void {
    if (this.removing.has(a.id)) return;
    result.changed = true;
    // A failure is logged and left to the next round (the container is still there, so it is planned again).
    this.removeContainer(a).catch((err: unknown) => this.log.warn({ container: a.name, err: messageOf(err) }, 'cannot remove container'));
  }

  private removeContainer(a: Extract<ContainerAction, { kind: 'remove' }>): Promise<void> {
    const work = (async () => {
      this.log.info({ container: a.name, reason: a.reason }, 'removing container');
      // Stop first so the program gets SIGTERM and its grace period; remove alone would SIGKILL.
      await this.runtime.stop(a.id, this.graceSeconds);
      await this.runtime.remove(a.id);
    })();
    const tracked = work.finally(() => this.removing.delete(a.id));
    this.removing.set(a.id, tracked);
    return tracked;
  }

  /** Make `image` present as `policy` says; one pull per image and policy per round. */
  private async ensureImage(image: string, policy: PullPolicy, pulls: Map<string, Promise<void>>): Promise<void> {
    const key = `${policy} ${image}`;
    let p = pulls.get(key);
    if (!p) {
      p = (async () => {
        if (policy !== 'Always' && (await this.runtime.hasImage(image))) return;
        if (policy === 'Never') {
          throw new ImageNeverPulledError('EIMAGENEVERPULL', `image ${image} is not on this node and its imagePullPolicy is Never`, {
            hint: `load it into the node's Docker (docker pull ${image}), or change imagePullPolicy in the manifest`,
          });
        }
        this.log.info({ image, policy }, 'pulling image');
        await this.runtime.pull(image);
      })();
      pulls.set(key, p);
    }
    await p;
  }
}

/** The image is missing and the policy forbids a pull: a person must act, so no quick retry. */
class ImageNeverPulledError extends InvalidInputError {}

/** Run `fn` over `items`, at most `n` at a time. */
async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++];
      if (item !== undefined) await fn(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(n, items.length)) }, worker));
}

