// Carries out a converge plan against the runtime. Failures are per action: they become a pod's
// status message, never an exception for the whole round (except an unreachable runtime).
import type { Logger } from '../log.js';
import { InvalidInputError, messageOf } from '../errors.js';
import type { ContainerRuntime } from './runtime.js';
import { isRuntimeDown } from './runtime.js';
import type { ContainerAction } from './plan.js';
import { ImageNeverPulledError, ImagePuller, type ImageOutcome } from './images.js';
import type { Problem } from './status.js';
import type { EventInput } from '../events/recorder.js';
import type { TerminatedState } from '../store/records.js';
import { stopContainer } from './stop.js';
import type { PodNetwork } from './pod-network.js';

/** What a round of applying achieved. */
export interface ApplyResult {
  /** Per slot (`<namespace>/<pod>/<container>`): why it is not running as planned. */
  problems: Map<string, Problem>;
  /** Slots whose container was started again after it had run. */
  restarted: Set<string>;
  /** Per restarted slot: its back-off count now (see ContainerStatus.backOff). */
  backOff: Map<string, number>;
  /** Per restarted slot: how the run before the restart ended. */
  ended: Map<string, TerminatedState>;
  /** Slots whose container was created in this round. */
  created: Set<string>;
  /** True when anything on the engine changed (worth a fresh look before writing status). */
  changed: boolean;
  /** Failures worth a quick retry (not a wrong image name, which a person must fix). */
  transient: number;
  /** Earliest back-off deadline among `wait` actions (ms since the epoch). */
  wakeAt: number | undefined;
  /** What happened, in order, for `berth events`: Pulling, Pulled, Created, Started, Killing, BackOff, Failed. */
  events: EventInput[];
}

/** Runs plans; removals that nothing waits for continue in the background. */
export class Applier {
  /** Removals in progress, by container id: the next round must not start them twice. */
  private readonly removing = new Map<string, Promise<void>>();
  /** FailedPreStopHook events of stops that ran in the background, handed out by the next apply. */
  private hookFailures: EventInput[] = [];

  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly log: Logger,
    private readonly graceSeconds: number,
    private readonly concurrency: number,
    private readonly images: ImagePuller = new ImagePuller(runtime, log),
    /** The pod network sandboxes (and pods without one) attach to, made when missing. */
    private readonly network?: PodNetwork,
  ) {}

  /** Apply `actions` phase by phase; throws only when the runtime cannot be reached at all. */
  async apply(actions: ContainerAction[]): Promise<ApplyResult> {
    const result: ApplyResult = { problems: new Map(), restarted: new Set(), backOff: new Map(), ended: new Map(), created: new Set(), changed: false, transient: 0, wakeAt: undefined, events: this.hookFailures };
    this.hookFailures = [];
    const note = (a: ContainerAction, reason: string, message: string, severity: 'Normal' | 'Warning' = 'Normal'): void => {
      result.events.push({ object: objectOf(a), reason, message, severity, at: new Date() });
    };
    const failed = (a: ContainerAction, reason: string, err: unknown): void => {
      if (isRuntimeDown(err)) throw err;
      if (!(err instanceof InvalidInputError)) result.transient++;
      const message = messageOf(err);
      this.log.warn({ action: a.kind, container: a.kind === 'create' ? a.spec.name : a.name, err: message }, 'container action failed');
      if (a.kind === 'remove') return;
      result.problems.set(a.slot, { reason, message });
      // Kubernetes' words: ErrImageNeverPull under its own name, any other failure as Failed.
      note(a, reason === 'ErrImageNeverPull' ? reason : 'Failed', `Error: ${message}`, 'Warning');
    };

    const phase1 = actions.filter((a) => a.phase === 1);
    await Promise.all(phase1.map((a) => (a.kind === 'remove' ? this.removeNow(a, result, failed, note) : Promise.resolve())));

    const ensureImage = this.images.round();
    const steps = actions.filter((a) => a.phase === 2);
    for (const a of steps) {
      if (a.kind === 'remove') this.removeInBackground(a, result, note);
      if (a.kind === 'wait') {
        result.problems.set(a.slot, { reason: 'CrashLoopBackOff', message: a.reason });
        note(a, 'BackOff', `Back-off restarting failed container ${containerOf(a)}: ${a.exited}`, 'Warning');
        const at = Date.parse(a.until);
        result.wakeAt = Math.min(result.wakeAt ?? at, at);
      }
    }
    // A pod's containers join its running sandbox: a pod with a new sandbox is one unit of work, the
    // sandbox first, then its containers, so the first pods run while later sandboxes are still made
    // (a sandbox's start, with its network, costs Docker several times a joined container's). A pod
    // whose sandbox failed waits, its containers untouched.
    const sandboxes = steps.filter((a): a is Create => a.kind === 'create' && a.sandbox === true);
    const noSandbox = new Map<string, Problem>();
    const network = await this.podNetwork(sandboxes, failed, noSandbox);
    const members = steps.filter((a): a is Member => (a.kind === 'create' && a.sandbox !== true) || a.kind === 'start');
    const ofPod = new Map<string, Member[]>();
    for (const a of members) ofPod.set(a.pod, [...(ofPod.get(a.pod) ?? []), a]);
    const joining = new Set(sandboxes.map((a) => a.pod));
    // Containers of pods whose sandbox runs already (restarts, a template change) go first: each is quick.
    const units: (Create | Member)[][] = [...members.filter((a) => !joining.has(a.pod)).map((a) => [a]), ...sandboxes.map((a) => [a, ...(ofPod.get(a.pod) ?? [])])];
    await pool(units, this.concurrency, async (unit) => {
      for (const a of unit) {
        if (a.kind === 'create' && a.sandbox === true) {
          if (!noSandbox.has(a.pod)) await this.makeSandbox(a, network, result, failed, noSandbox, ensureImage);
          continue;
        }
        const blocked = noSandbox.get(a.pod);
        if (blocked !== undefined) result.problems.set(a.slot, blocked);
        else await this.runMember(a, result, failed, note, ensureImage);
      }
    });
    return result;
  }

  /** Create or start one of a pod's own containers. */
  private async runMember(a: Member, result: ApplyResult, failed: Failed, note: Note, ensureImage: EnsureImage): Promise<void> {
    if (a.kind === 'start') {
      try {
        await this.runtime.start(a.id);
      } catch (err) {
        return failed(a, 'StartFailed', err);
      }
      result.changed = true;
      if (a.restart) result.restarted.add(a.slot);
      if (a.backOff !== undefined) result.backOff.set(a.slot, a.backOff);
      if (a.ended !== undefined) result.ended.set(a.slot, a.ended);
      this.log.info({ container: a.name, reason: a.reason }, 'started container');
      note(a, 'Started', `Started container ${containerOf(a)}`);
      return;
    }
    if (a.spec.configError !== undefined) {
      // Kubernetes' CreateContainerConfigError: a person must fix the ConfigMap; its next commit wakes the agent.
      const hint = 'fix the ConfigMap (or key) or the volume the pod names in the repository, or mark a ConfigMap reference `optional: true`';
      return failed(a, 'CreateContainerConfigError', new InvalidInputError('ECONFIGMAP', a.spec.configError, { hint }));
    }
    const pulling = new Date();
    let image: ImageOutcome;
    try {
      image = await ensureImage(a.slot, a.pod, a.spec.image, a.pullPolicy);
    } catch (err) {
      return failed(a, err instanceof ImageNeverPulledError ? 'ErrImageNeverPull' : 'ErrImagePull', err);
    }
    if (!imageReady(a, image, pulling, result)) return;
    let id: string;
    try {
      id = await this.runtime.create(a.spec);
    } catch (err) {
      // A pod network removed from outside: made again (with its new id) for the next round.
      if (a.spec.network !== undefined && /network .*not found/i.test(messageOf(err))) this.network?.forget();
      return failed(a, 'CreateFailed', err);
    }
    result.changed = true;
    result.created.add(a.slot);
    this.log.info({ container: a.spec.name, reason: a.reason }, 'created container');
    note(a, 'Created', `Created container ${containerOf(a)}`);
    await this.runtime.start(id).then(
      () => note(a, 'Started', `Started container ${containerOf(a)}`),
      (err: unknown) => failed(a, 'StartFailed', err),
    );
  }

  /**
   * The pod network's id when `sandboxes` are to be made (made first when missing). When it cannot
   * be made, every one of their pods goes into `noSandbox`, with why.
   */
  private async podNetwork(sandboxes: Create[], failed: Failed, noSandbox: Map<string, Problem>): Promise<string | undefined> {
    if (sandboxes.length === 0 || !this.network) return undefined;
    try {
      return (await this.network.info()).id;
    } catch (err) {
      for (const a of sandboxes) sandboxFailed(a, err, failed, noSandbox);
      return undefined;
    }
  }

  /** Create and start a pod's sandbox; a failure puts its pod into `noSandbox`, with why: its containers wait for the next round. */
  private async makeSandbox(a: Create, network: string | undefined, result: ApplyResult, failed: Failed, noSandbox: Map<string, Problem>, ensureImage: EnsureImage): Promise<void> {
    try {
      const image = await ensureImage(a.slot, a.pod, a.spec.image, a.pullPolicy);
      if (image.kind === 'failed' || image.kind === 'backoff') {
        const why = image.kind === 'backoff' ? image.error : image.error instanceof Error ? image.error.message : String(image.error);
        throw new InvalidInputError('ESANDBOXIMAGE', `the sandbox image ${a.spec.image} is not on this node and cannot be pulled (${why})`, {
          hint: `build it with scripts/build-image.sh --sandbox ${a.spec.image}, or pass the agent --sandbox-image`,
        });
      }
      // The pod network by its id; a hostNetwork pod's sandbox keeps the node's own ('host').
      const id = await this.runtime.create(network === undefined || a.spec.network === 'host' ? a.spec : { ...a.spec, network });
      result.changed = true;
      await this.runtime.start(id);
      this.log.info({ container: a.spec.name, reason: a.reason }, 'started pod sandbox');
    } catch (err) {
      if (/network .*not found/i.test(messageOf(err))) this.network?.forget();
      sandboxFailed(a, err, failed, noSandbox);
    }
  }

  /** Ids of the containers being removed right now. */
  removingIds(): ReadonlySet<string> {
    return new Set(this.removing.keys());
  }

  /** Wait for the removals still in progress. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.removing.values()]);
  }

  private async removeNow(a: Remove, result: ApplyResult, failed: (a: ContainerAction, reason: string, err: unknown) => void, note: Note): Promise<void> {
    const running = this.removing.get(a.id);
    if (!running) note(a, 'Killing', `Stopping container ${a.name}: ${a.reason}`);
    try {
      await (running ?? this.removeContainer(a));
      result.changed = true;
    } catch (err) {
      failed(a, 'RemoveFailed', err);
    }
  }

  private removeInBackground(a: Remove, result: ApplyResult, note: Note): void {
    if (this.removing.has(a.id)) return;
    result.changed = true;
    note(a, 'Killing', `Stopping container ${a.name}: ${a.reason}`);
    // A failure is logged and left to the next round (the container is still there, so it is planned again).
    this.removeContainer(a).catch((err: unknown) => this.log.warn({ container: a.name, err: messageOf(err) }, 'cannot remove container'));
  }

  private removeContainer(a: Remove): Promise<void> {
    const work = (async () => {
      this.log.info({ container: a.name, reason: a.reason }, 'removing container');
      // Stop first so the program gets its preStop hook, SIGTERM and its grace period; remove alone would SIGKILL.
      const stop = a.stop;
      if (stop) {
        const plan = { graceSeconds: stop.graceSeconds ?? this.graceSeconds, ...(stop.preStop ? { preStop: stop.preStop } : {}) };
        await stopContainer(this.runtime, { id: a.id, ...(stop.ip === undefined ? {} : { ip: stop.ip }), running: stop.running }, plan, this.log, (message) =>
          this.hookFailures.push({ object: objectOf(a), reason: 'FailedPreStopHook', message, severity: 'Warning', at: new Date() }),
        );
      } else {
        await this.runtime.stop(a.id, this.graceSeconds);
      }
      await this.runtime.remove(a.id);
    })();
    const tracked = work.finally(() => this.removing.delete(a.id));
    this.removing.set(a.id, tracked);
    return tracked;
  }

}

/**
 * Note what became of a create's image (Kubernetes' events and reasons); true when the container may
 * be created. A failed pull waits for kubelet's image back-off, not for the quick transient retry.
 */
function imageReady(a: Create, image: ImageOutcome, pulling: Date, result: ApplyResult): boolean {
  const event = (reason: string, message: string, severity: 'Normal' | 'Warning', at = new Date()): void => {
    result.events.push({ object: objectOf(a), reason, message, severity, at });
  };
  const wake = (at: number): void => {
    result.wakeAt = Math.min(result.wakeAt ?? at, at);
  };
  switch (image.kind) {
    case 'present':
      return true;
    case 'pulled':
      event('Pulling', `Pulling image ${a.spec.image}`, 'Normal', pulling);
      event('Pulled', `Successfully pulled image ${a.spec.image}`, 'Normal');
      return true;
    case 'backoff':
      result.problems.set(a.slot, { reason: 'ImagePullBackOff', message: `Back-off pulling image ${a.spec.image}: ${image.error}` });
      event('BackOff', `Back-off pulling image ${a.spec.image}`, 'Warning');
      wake(image.until);
      return false;
    case 'failed': {
      const message = messageOf(image.error);
      result.problems.set(a.slot, { reason: 'ErrImagePull', message });
      event('Pulling', `Pulling image ${a.spec.image}`, 'Normal', pulling);
      event('Failed', `Error: ${message}`, 'Warning');
      wake(image.retryAt);
      return false;
    }
  }
}

type Remove = Extract<ContainerAction, { kind: 'remove' }>;
type Create = Extract<ContainerAction, { kind: 'create' }>;
/** A step on one of a pod's own containers (not its sandbox). */
type Member = Create | Extract<ContainerAction, { kind: 'start' }>;
type EnsureImage = ReturnType<ImagePuller['round']>;
type Failed = (a: ContainerAction, reason: string, err: unknown) => void;
type Note = (a: ContainerAction, reason: string, message: string, severity?: 'Normal' | 'Warning') => void;

/** A sandbox that could not be made: its failure, and its pod's containers held with why. */
function sandboxFailed(a: Create, err: unknown, failed: Failed, noSandbox: Map<string, Problem>): void {
  failed(a, 'FailedCreatePodSandBox', err);
  noSandbox.set(a.pod, { reason: 'FailedCreatePodSandBox', message: `cannot make the pod sandbox: ${messageOf(err)}` });
}

/** The object an action's events are about: its pod, or the container itself when it has none. */
function objectOf(a: ContainerAction): string {
  if (a.kind === 'remove') return a.pod === undefined ? `container/${a.name}` : `pod/${a.pod}`;
  return `pod/${a.pod}`;
}

/** The manifest's name of the container an action is about (the last part of its slot). */
function containerOf(a: Exclude<ContainerAction, Remove>): string {
  return a.slot.slice(a.slot.lastIndexOf('/') + 1);
}

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

