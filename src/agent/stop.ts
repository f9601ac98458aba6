// How a container stops, as kubelet stops one: its preStop hook first, then SIGTERM, then SIGKILL
// once the pod's grace period is spent. The hook and the grace period ride on the container's labels
// (as kubelet keeps them), so a container whose pod is gone still stops the way its pod asked.
import type { Logger } from '../log.js';
import type { ContainerSpec, PodTemplate } from '../manifest/types.js';
import { runCheck, type Handler } from './probe-checks.js';
import type { Container, ContainerRuntime } from './runtime.js';

/** Labels that carry how a container stops (only on containers whose pod asks for it). */
export const STOP_LABEL = {
  /** terminationGracePeriodSeconds of the pod, in seconds. */
  grace: 'berth.grace',
  /** The preStop handler as JSON, its port resolved to a number. */
  preStop: 'berth.prestop',
} as const;

/** After a preStop hook, the stop gets at least this long (kubelet's minimum grace after a hook). */
const MIN_GRACE_AFTER_HOOK_S = 2;

/** The stop labels of one container of `template`. */
export function stopLabels(template: PodTemplate, spec: ContainerSpec): Record<string, string> {
  const out: Record<string, string> = {};
  if (template.terminationGracePeriodSeconds !== undefined) out[STOP_LABEL.grace] = String(template.terminationGracePeriodSeconds);
  const hook = spec.lifecycle?.preStop;
  if (hook?.exec) out[STOP_LABEL.preStop] = JSON.stringify({ exec: { command: hook.exec.command } });
  if (hook?.httpGet) {
    const named = hook.httpGet.port;
    const port = typeof named === 'number' ? named : spec.ports.find((p) => p.name === named)?.containerPort;
    if (port !== undefined) out[STOP_LABEL.preStop] = JSON.stringify({ httpGet: { ...hook.httpGet, port } });
  }
  return out;
}

/** How a container is to be stopped, read back from its labels. */
export interface StopPlan {
  graceSeconds: number;
  preStop?: Handler;
}

/** The stop plan of `c`: its own grace period (or `fallbackGrace`) and its preStop hook, if it has one. */
export function stopPlanOf(c: Pick<Container, 'labels'>, fallbackGrace: number): StopPlan {
  const raw = Number(c.labels[STOP_LABEL.grace]);
  const graceSeconds = c.labels[STOP_LABEL.grace] !== undefined && Number.isInteger(raw) && raw >= 0 ? raw : fallbackGrace;
  const hook = parseHook(c.labels[STOP_LABEL.preStop]);
  return hook ? { graceSeconds, preStop: hook } : { graceSeconds };
}

function parseHook(text: string | undefined): Handler | undefined {
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as Handler;
    if (Array.isArray(v.exec?.command) && v.exec.command.every((s) => typeof s === 'string')) return { exec: { command: v.exec.command } };
    if (v.httpGet && typeof v.httpGet.port === 'number' && typeof v.httpGet.path === 'string') {
      return { httpGet: { path: v.httpGet.path, port: v.httpGet.port, scheme: 'HTTP', httpHeaders: Array.isArray(v.httpGet.httpHeaders) ? v.httpGet.httpHeaders : [] } };
    }
  } catch {
    // A label someone edited by hand: stop without the hook.
  }
  return undefined;
}

/** Whether `c` carries stop labels (then its removal follows its own stop plan). */
export function hasStopLabels(c: Pick<Container, 'labels'>): boolean {
  return c.labels[STOP_LABEL.grace] !== undefined || c.labels[STOP_LABEL.preStop] !== undefined;
}

/**
 * Stop container `id` as `plan` says: its preStop hook (when it runs, bounded by the grace period),
 * then SIGTERM with what is left of the grace (at least 2 s after a hook), then SIGKILL. A failed
 * hook is reported through `onHookFailed` and the stop goes on, as in Kubernetes (FailedPreStopHook).
 */
export async function stopContainer(
  runtime: ContainerRuntime,
  c: { id: string; ip?: string; running: boolean },
  plan: StopPlan,
  log: Logger,
  onHookFailed?: (message: string) => void,
): Promise<void> {
  let grace = plan.graceSeconds;
  if (plan.preStop && c.running) {
    const started = Date.now();
    const target = { id: c.id, ...(c.ip === undefined ? {} : { ip: c.ip }), ports: [] };
    const result = await runCheck(runtime, target, plan.preStop, Math.max(1, grace) * 1000);
    if (!result.ok) {
      const message = `PreStopHook failed: ${result.message ?? 'failed'}`;
      log.warn({ container: c.id.slice(0, 12), err: result.message }, 'preStop hook failed');
      onHookFailed?.(message);
    }
    const spent = (Date.now() - started) / 1000;
    grace = Math.max(MIN_GRACE_AFTER_HOOK_S, Math.ceil(grace - spent));
  }
  await runtime.stop(c.id, grace);
}
