// The pure core of probing (kubelet's prober/worker, reduced): when each probe of a container is
// due, and how results fold through the thresholds into Ready / restart / started. No clock, no I/O:
// the runner (prober.ts) passes the time in and does the probing.
import type { ContainerSpec } from '../manifest/types.js';

/** The three probes of a container, in the order they are considered. */
export type ProbeKind = 'startup' | 'liveness' | 'readiness';

/** One probe's timing and thresholds, as the manifest normalized them. */
export type ProbeSpec = NonNullable<ContainerSpec['readinessProbe']>;

/** What the thresholds have made of a probe's results so far. */
export interface ProbeState {
  /** Consecutive successes and failures (one of them is 0). */
  successes: number;
  failures: number;
  /** success / failure once a threshold was crossed; unknown before. */
  result: 'unknown' | 'success' | 'failure';
  /** When it last ran (ms since the epoch); absent before its first run. */
  lastRunAt?: number;
  /** The last failure's message, for the pod status and the Unhealthy event. */
  message?: string;
}

/** A fresh probe: nothing run yet. */
export function initialProbeState(): ProbeState {
  return { successes: 0, failures: 0, result: 'unknown' };
}

/**
 * When the probe is next due (ms since the epoch): initialDelaySeconds after the container started,
 * then every periodSeconds after the previous run began.
 */
export function nextProbeAt(spec: ProbeSpec, startedAt: number, state: ProbeState): number {
  if (state.lastRunAt === undefined) return startedAt + spec.initialDelaySeconds * 1000;
  return Math.max(startedAt + spec.initialDelaySeconds * 1000, state.lastRunAt + spec.periodSeconds * 1000);
}

/** One result folded in: `successThreshold` successes in a row make success, `failureThreshold` failures make failure. */
export function foldProbe(spec: ProbeSpec, state: ProbeState, ok: boolean, at: number, message?: string): ProbeState {
  if (ok) {
    const successes = state.successes + 1;
    const result = successes >= spec.successThreshold ? 'success' : state.result;
    return { successes, failures: 0, result, lastRunAt: at };
  }
  const failures = state.failures + 1;
  const result = failures >= spec.failureThreshold ? 'failure' : state.result;
  return { successes: 0, failures, result, lastRunAt: at, ...(message === undefined ? {} : { message }) };
}

/** The probes of one container that exist, by kind. */
export type ContainerProbes = Partial<Record<ProbeKind, ProbeSpec>>;

/** The probes a container spec declares. */
export function probesOf(spec: ContainerSpec): ContainerProbes {
  const out: ContainerProbes = {};
  if (spec.startupProbe) out.startup = spec.startupProbe;
  if (spec.livenessProbe) out.liveness = spec.livenessProbe;
  if (spec.readinessProbe) out.readiness = spec.readinessProbe;
  return out;
}

/** What a container's probe states mean for it. */
export interface ProbeVerdict {
  /** The startup probe has succeeded (or there is none): liveness and readiness run from now on. */
  started: boolean;
  /** Counts as Ready: started, and its readiness probe succeeded (or it has none). */
  ready: boolean;
  /** The container must be restarted: liveness failed, or the startup probe failed before it succeeded. */
  restart?: { kind: 'liveness' | 'startup'; message: string };
  /** Why it is not ready, when it is not. */
  reason?: string;
}

/**
 * Kubernetes' rules: a startup probe holds the other two back until it succeeds once; a readiness
 * probe starts as not ready, liveness as alive; a failed liveness (or startup) probe restarts.
 */
export function probeVerdict(probes: ContainerProbes, states: Partial<Record<ProbeKind, ProbeState>>): ProbeVerdict {
  const startup = states.startup ?? initialProbeState();
  const started = probes.startup === undefined || startup.result === 'success';
  if (!started) {
    if (startup.result === 'failure') {
      const message = `Startup probe failed: ${startup.message ?? 'failed'}`;
      return { started, ready: false, restart: { kind: 'startup', message }, reason: message };
    }
    return { started, ready: false, reason: 'startup probe has not succeeded yet' };
  }
  const liveness = states.liveness ?? initialProbeState();
  if (probes.liveness !== undefined && liveness.result === 'failure') {
    const message = `Liveness probe failed: ${liveness.message ?? 'failed'}`;
    return { started, ready: false, restart: { kind: 'liveness', message }, reason: message };
  }
  if (probes.readiness === undefined) return { started, ready: true };
  const readiness = states.readiness ?? initialProbeState();
  if (readiness.result === 'success') return { started, ready: true };
  return { started, ready: false, reason: readiness.result === 'failure' ? `Readiness probe failed: ${readiness.message ?? 'failed'}` : 'readiness probe has not succeeded yet' };
}

/** The probes that run now: only the startup probe until it succeeded, then liveness and readiness. */
export function activeProbes(probes: ContainerProbes, started: boolean): ProbeKind[] {
  if (!started) return probes.startup ? ['startup'] : [];
  return (['liveness', 'readiness'] as const).filter((k) => probes[k] !== undefined);
}
