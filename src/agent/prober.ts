// The probe runner: one timer per probed container, runs bounded in number, results folded by the
// pure core (probe-core.ts). It never blocks the agent's loop: the loop hands it the running
// containers (sync) and reads verdicts; the runner kicks the loop when a verdict changes.
import type { Logger } from '../log.js';
import { activeProbes, foldProbe, initialProbeState, nextProbeAt, probeVerdict, type ContainerProbes, type ProbeKind, type ProbeState, type ProbeVerdict } from './probe-core.js';
import { runCheck, type CheckTarget } from './probe-checks.js';
import type { ContainerRuntime } from './runtime.js';

/** A running container with probes, as the agent's loop sees it. */
export interface ProbeTarget extends CheckTarget {
  /** One run of one container (`<id>@<startedAt>`): a restarted container starts its probes afresh. */
  key: string;
  /** `pod/<namespace>/<pod>`: what events are about. */
  object: string;
  /** The container's name in the manifest. */
  container: string;
  probes: ContainerProbes;
  /** When this run of the container started (ms since the epoch). */
  startedAt: number;
}

/** What the runner tells the agent. */
export interface ProberHooks {
  /** A verdict changed (ready, started or restart): the pod status needs a fresh look. */
  changed(): void;
  /** A probe's result turned to failure: Kubernetes' Unhealthy event. */
  unhealthy(target: ProbeTarget, kind: ProbeKind, message: string): void;
}

interface Entry {
  target: ProbeTarget;
  states: Partial<Record<ProbeKind, ProbeState>>;
  verdict: ProbeVerdict;
  timer?: NodeJS.Timeout;
  running: boolean;
}

/** Runs the probes of this node's containers. */
export class Prober {
  private readonly entries = new Map<string, Entry>();
  private inFlight = 0;
  private readonly queue: (() => void)[] = [];
  private stopped = false;

  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly hooks: ProberHooks,
    private readonly log: Logger,
    /** Probe runs at once, over all containers (default 16). */
    private readonly concurrency = 16,
    private readonly now: () => number = Date.now,
  ) {}

  /** The containers to probe now (keyed by run): new ones start, gone ones stop. */
  sync(targets: readonly ProbeTarget[]): void {
    if (this.stopped) return;
    const keep = new Set(targets.map((t) => t.key));
    for (const [id, e] of this.entries) {
      if (keep.has(id)) continue;
      clearTimeout(e.timer);
      this.entries.delete(id);
    }
    for (const t of targets) {
      const e = this.entries.get(t.key);
      if (e) {
        e.target = t; // an address or port list may have been filled in since
        continue;
      }
      const entry: Entry = { target: t, states: {}, verdict: probeVerdict(t.probes, {}), running: false };
      this.entries.set(t.key, entry);
      this.schedule(entry);
    }
  }

  /** The verdict of a container's run (`key`); undefined when it is not probed. */
  verdict(key: string): ProbeVerdict | undefined {
    return this.entries.get(key)?.verdict;
  }

  /** Stop every timer; runs in flight finish and are dropped. */
  stop(): void {
    this.stopped = true;
    for (const e of this.entries.values()) clearTimeout(e.timer);
    this.entries.clear();
    this.queue.length = 0;
  }

  private schedule(e: Entry): void {
    clearTimeout(e.timer);
    if (this.stopped || e.running) return;
    const kinds = activeProbes(e.target.probes, e.verdict.started);
    let at = Infinity;
    for (const k of kinds) {
      const spec = e.target.probes[k];
      if (spec) at = Math.min(at, nextProbeAt(spec, e.target.startedAt, e.states[k] ?? initialProbeState()));
    }
    if (at === Infinity) return;
    e.timer = setTimeout(() => void this.fire(e), Math.max(0, at - this.now()));
    e.timer.unref();
  }

  private async fire(e: Entry): Promise<void> {
    if (this.entries.get(e.target.key) !== e) return;
    e.running = true;
    try {
      await this.slot();
      try {
        await this.runDue(e);
      } finally {
        this.release();
      }
    } finally {
      e.running = false;
    }
    // After a restart verdict the container is about to go; its probes stop until it is back.
    if (e.verdict.restart === undefined) this.schedule(e);
  }

  /** Run the probes of `e` that are due, fold their results, and tell the agent what changed. */
  private async runDue(e: Entry): Promise<void> {
    const now = this.now();
    const kinds = activeProbes(e.target.probes, e.verdict.started).filter((k) => {
      const spec = e.target.probes[k];
      return spec !== undefined && nextProbeAt(spec, e.target.startedAt, e.states[k] ?? initialProbeState()) <= now;
    });
    const results = await Promise.all(
      kinds.map(async (k) => {
        const spec = e.target.probes[k];
        return spec ? { k, spec, r: await runCheck(this.runtime, e.target, spec, spec.timeoutSeconds * 1000) } : undefined;
      }),
    );
    if (this.entries.get(e.target.key) !== e) return; // the container went while its probes ran
    for (const x of results) {
      if (!x) continue;
      const before = e.states[x.k] ?? initialProbeState();
      const after = foldProbe(x.spec, before, x.r.ok, now, x.r.message);
      e.states[x.k] = after;
      if (after.result === 'failure' && before.result !== 'failure') this.hooks.unhealthy(e.target, x.k, after.message ?? 'failed');
    }
    const verdict = probeVerdict(e.target.probes, e.states);
    const changed = verdict.ready !== e.verdict.ready || verdict.started !== e.verdict.started || (verdict.restart === undefined) !== (e.verdict.restart === undefined);
    e.verdict = verdict;
    if (changed) {
      this.log.debug({ container: e.target.id.slice(0, 12), ready: verdict.ready, started: verdict.started, restart: verdict.restart?.kind }, 'probe verdict changed');
      this.hooks.changed();
    }
  }

  private slot(): Promise<void> {
    if (this.inFlight < this.concurrency) {
      this.inFlight++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.queue.push(() => (this.inFlight++, resolve())));
  }

  private release(): void {
    this.inFlight--;
    this.queue.shift()?.();
  }
}
