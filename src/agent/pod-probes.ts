// The agent's side of probing: which running containers the prober watches, the verdicts it gives
// per pod, and the stop of a container whose liveness or startup probe failed (in the background,
// with its pod's grace period; the plan then starts it again as a restart, not as drift).
import type { Logger } from '../log.js';
import { messageOf } from '../errors.js';
import type { EventInput, EventRecorder } from '../events/recorder.js';
import type { BindingRecord } from '../store/records.js';
import { podRef } from './labels.js';
import { Prober, type ProbeTarget } from './prober.js';
import { probesOf, type ProbeVerdict } from './probe-core.js';
import type { Container, ContainerRuntime } from './runtime.js';
import { containersOf } from './status.js';
import { stopContainer, stopPlanOf } from './stop.js';

/** What PodProbes needs from the agent. */
export interface PodProbesOptions {
  runtime: ContainerRuntime;
  log: Logger;
  recorder: EventRecorder;
  /** Ask the agent's loop for a round (a verdict changed, a stop ended). */
  kick(): void;
  /** SIGTERM → SIGKILL grace of a pod that sets none. */
  graceSeconds: number;
  /** Probe runs at once, over all containers. */
  concurrency: number;
}

/** The probes of this node's pods, as the agent's rounds see them. */
export class PodProbes {
  private readonly prober: Prober;
  /** Containers stopped because a probe failed: container id → startedAt of the run that was stopped. */
  private readonly killed = new Map<string, number>();
  private readonly stops = new Set<Promise<void>>();

  constructor(private readonly opts: PodProbesOptions) {
    this.prober = new Prober(
      opts.runtime,
      {
        changed: () => opts.kick(),
        unhealthy: (t, kind, message) => {
          const what = `${kind[0]?.toUpperCase() ?? ''}${kind.slice(1)} probe failed: ${message}`;
          opts.log.info({ pod: t.object, container: t.container, probe: kind }, what);
          void opts.recorder.record([{ object: t.object, reason: 'Unhealthy', message: what, severity: 'Warning' }]).catch(() => undefined);
        },
      },
      opts.log,
      opts.concurrency,
    );
  }

  /** Ids of the containers stopped for a failed probe whose restart is still to come: their exit is no drift. */
  killedIds(): ReadonlySet<string> {
    return new Set(this.killed.keys());
  }

  /**
   * Hand the running, probed containers to the prober and read its verdicts (per pod, per container
   * name). A container whose liveness or startup probe failed is stopped here, in the background;
   * its Killing event goes into `events`.
   */
  run(bindings: readonly BindingRecord[], observed: Container[], events: EventInput[]): Map<string, Map<string, ProbeVerdict>> {
    const targets: ProbeTarget[] = [];
    const out = new Map<string, Map<string, ProbeVerdict>>();
    for (const b of bindings) {
      const mine = containersOf(b, observed);
      for (const spec of b.template.containers) {
        const c = mine.get(spec.name);
        const probes = probesOf(spec);
        if (!c || c.state !== 'running' || c.startedAt === undefined || Object.keys(probes).length === 0) continue;
        const object = `pod/${podRef(b.namespace, b.pod)}`;
        targets.push({ key: `${c.id}@${c.startedAt}`, id: c.id, ...(c.ip === undefined ? {} : { ip: c.ip }), ports: spec.ports, object, container: spec.name, probes, startedAt: Date.parse(c.startedAt) });
      }
    }
    this.prober.sync(targets);
    // Forget a stopped run once its container runs again (a later kill from outside is drift again) or is gone.
    for (const [id, started] of this.killed) {
      const c = observed.find((o) => o.id === id);
      if (!c || (c.state === 'running' && c.startedAt !== undefined && Date.parse(c.startedAt) !== started)) this.killed.delete(id);
    }
    for (const t of targets) {
      const v = this.prober.verdict(t.key);
      if (!v) continue;
      const ref = t.object.slice('pod/'.length);
      out.set(ref, (out.get(ref) ?? new Map<string, ProbeVerdict>()).set(t.container, v));
      if (v.restart === undefined || this.killed.get(t.id) === t.startedAt) continue;
      this.killed.set(t.id, t.startedAt);
      events.push({ object: t.object, reason: 'Killing', message: `Container ${t.container} failed ${v.restart.kind} probe, will be restarted` });
      this.opts.log.info({ pod: t.object, container: t.container }, v.restart.message);
      this.stopInBackground(t, observed.find((o) => o.id === t.id));
    }
    return out;
  }

  private stopInBackground(t: ProbeTarget, c: Container | undefined): void {
    const { runtime, log, recorder, graceSeconds } = this.opts;
    const hookFailed = (message: string): void => void recorder.record([{ object: t.object, reason: 'FailedPreStopHook', message, severity: 'Warning' }]).catch(() => undefined);
    const stopping = stopContainer(runtime, { id: t.id, ...(t.ip === undefined ? {} : { ip: t.ip }), running: true }, stopPlanOf(c ?? { labels: {} }, graceSeconds), log, hookFailed)
      .catch((err: unknown) => log.warn({ container: t.id, err: messageOf(err) }, 'cannot stop an unhealthy container'))
      .finally(() => {
        this.stops.delete(stopping);
        this.opts.kick();
      });
    this.stops.add(stopping);
  }

  /** Stop probing (the stops under way go on; see settled). */
  stop(): void {
    this.prober.stop();
  }

  /** Resolves once the stops of unhealthy containers under way have ended. */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.stops]);
  }
}
