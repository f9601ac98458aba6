// Makes a container's image present as its imagePullPolicy says: pulls with the operator's registry
// credentials, streams progress (throttled) to the log and to the pods waiting for it, and keeps
// kubelet's per-pod image back-off, so a failing pull is ErrImagePull, then ImagePullBackOff.
import type { Logger } from '../log.js';
import { InvalidInputError, messageOf } from '../errors.js';
import type { ContainerRuntime } from './runtime.js';
import { isRuntimeDown } from './runtime.js';
import type { PullPolicy } from './pull.js';
import type { RegistryAuth } from './registry-auth.js';
import { addProgress, describeTally, newTally, tallyCounts } from './pull-progress.js';
import { afterFailure, backOffUntil, expired, type ImageBackOffSchedule, type PullBackOff } from './pull-backoff.js';

/** How a container's image stands after `ensure`. */
export type ImageOutcome =
  | { kind: 'present' }
  | { kind: 'pulled' }
  /** A pull of it for this pod failed lately; not tried again before `until`. */
  | { kind: 'backoff'; until: number; error: string }
  /**
   * The pull failed now; the next try waits until `until`. A round at `retryAt` (a second later) shows
   * ImagePullBackOff meanwhile, as kubelet's pod worker does.
   */
  | { kind: 'failed'; error: unknown; until: number; retryAt: number };

/** What an ImagePuller needs besides the runtime and the log. */
export interface ImagePullerOptions {
  /** The operator's registry credentials (none: anonymous pulls). */
  auth?: RegistryAuth;
  /** Milliseconds since the epoch (tests pass their own). */
  now?: () => number;
  /** kubelet's image back-off by default. */
  schedule?: ImageBackOffSchedule;
  /** How often a pull in progress is reported (default 2 s). */
  progressEveryMs?: number;
  /** A pull's progress, throttled: the slots waiting for it and one line for people. */
  onProgress?: (slots: readonly string[], image: string, line: string) => void;
}

/** The image is missing and the policy forbids a pull: a person must act, so no quick retry. */
export class ImageNeverPulledError extends InvalidInputError {}

/** Pulls images for the agent; one per agent, since the back-off must outlive a round. */
export class ImagePuller {
  /** Per `<namespace>/<pod> <image>`, as kubelet keys it. */
  private readonly backOff = new Map<string, PullBackOff>();
  private readonly now: () => number;

  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly log: Logger,
    private readonly opts: ImagePullerOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** One round's puller: a given image is pulled at most once per round, whatever the number of pods. */
  round(): (slot: string, pod: string, image: string, policy: PullPolicy) => Promise<ImageOutcome> {
    const pulls = new Map<string, { slots: string[]; done: Promise<unknown> }>();
    const now = this.now();
    for (const [key, b] of this.backOff) if (expired(b, now, this.opts.schedule)) this.backOff.delete(key);
    return async (slot, pod, image, policy) => {
      const key = `${pod} ${image}`;
      const waiting = backOffUntil(this.backOff.get(key), this.now());
      if (waiting !== undefined) return { kind: 'backoff', until: waiting, error: this.backOff.get(key)?.error ?? '' };
      const pullKey = `${policy} ${image}`;
      let pull = pulls.get(pullKey);
      if (pull) pull.slots.push(slot);
      else {
        const slots = [slot];
        pull = { slots, done: this.fetch(image, policy, slots).then((pulled) => pulled, (err: unknown) => ({ err })) };
        pulls.set(pullKey, pull);
      }
      const got = await pull.done;
      if (typeof got === 'boolean') {
        this.backOff.delete(key);
        return got ? { kind: 'pulled' } : { kind: 'present' };
      }
      const err = (got as { err: unknown }).err;
      if (isRuntimeDown(err) || err instanceof ImageNeverPulledError) throw err;
      const b = afterFailure(this.backOff.get(key), this.now(), messageOf(err), this.opts.schedule);
      this.backOff.set(key, b);
      this.log.warn({ image, pod, err: b.error, backOffMs: b.delayMs }, 'image pull failed');
      return { kind: 'failed', error: err, until: b.at + b.delayMs, retryAt: Math.min(b.at + 1000, b.at + b.delayMs) };
    };
  }

  /** Make `image` present; true when it pulled. */
  private async fetch(image: string, policy: PullPolicy, slots: readonly string[]): Promise<boolean> {
    if (policy !== 'Always' && (await this.runtime.hasImage(image))) return false;
    if (policy === 'Never') {
      throw new ImageNeverPulledError('EIMAGENEVERPULL', `image ${image} is not on this node and its imagePullPolicy is Never`, {
        hint: `load it into the node's Docker (docker pull ${image}), or change imagePullPolicy in the manifest`,
      });
    }
    const auth = await this.opts.auth?.credentialFor(image);
    // Never the credentials themselves: only whether there were any, and whose.
    this.log.info({ image, policy, credentials: auth === undefined ? 'none' : auth.serveraddress }, 'pulling image');
    const started = this.now();
    const tally = newTally();
    const every = this.opts.progressEveryMs ?? 2000;
    let last = Number.NEGATIVE_INFINITY;
    let trailing: NodeJS.Timeout | undefined;
    const report = (): void => {
      trailing = undefined;
      last = this.now();
      this.log.info({ image, ...tallyCounts(tally) }, 'pulling image');
      this.opts.onProgress?.(slots, image, `pulling image ${image}: ${describeTally(tally)}`);
    };
    try {
      await this.runtime.pull(
        image,
        (p) => {
          addProgress(tally, p);
          // At most one report per period; the last lines of a quiet stretch are reported at its end.
          const wait = last + every - this.now();
          if (wait <= 0) report();
          else trailing ??= setTimeout(report, wait);
        },
        auth,
      );
    } finally {
      clearTimeout(trailing);
    }
    this.log.info({ image, ...tallyCounts(tally), ms: this.now() - started }, 'pulled image');
    return true;
  }
}
