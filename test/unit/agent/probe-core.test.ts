import { describe, expect, it } from 'vitest';
import { activeProbes, foldProbe, initialProbeState, nextProbeAt, probeVerdict, type ProbeSpec, type ProbeState } from '../../../src/agent/probe-core.js';
import { healthCheckRequest, healthCheckStatus } from '../../../src/agent/probe-checks.js';

const spec = (o: Partial<ProbeSpec> = {}): ProbeSpec => ({
  exec: { command: ['true'] },
  initialDelaySeconds: 0,
  periodSeconds: 10,
  timeoutSeconds: 1,
  successThreshold: 1,
  failureThreshold: 3,
  ...o,
});
const T0 = 1_000_000;

describe('nextProbeAt: when a probe is due', () => {
  it.each([
    ['first run at the start, no delay', spec(), initialProbeState(), T0],
    ['first run after initialDelaySeconds', spec({ initialDelaySeconds: 5 }), initialProbeState(), T0 + 5000],
    ['then every periodSeconds after the last run', spec({ periodSeconds: 3 }), { ...initialProbeState(), lastRunAt: T0 + 1000 }, T0 + 4000],
    ['never before the initial delay', spec({ initialDelaySeconds: 30, periodSeconds: 1 }), { ...initialProbeState(), lastRunAt: T0 }, T0 + 30_000],
  ])('%s', (_, s, state, due) => {
    expect(nextProbeAt(s, T0, state)).toBe(due);
  });
});

/** Fold a string of results (`s` success, `f` failure) and return the result after each. */
function fold(s: ProbeSpec, results: string): ProbeState['result'][] {
  let state = initialProbeState();
  return [...results].map((r, i) => (state = foldProbe(s, state, r === 's', T0 + i, 'boom')).result);
}

describe('foldProbe: thresholds', () => {
  it.each([
    ['one success is enough by default', spec(), 's', ['success']],
    ['three failures in a row fail by default', spec(), 'fff', ['unknown', 'unknown', 'failure']],
    ['a success resets the failures', spec(), 'ffsff', ['unknown', 'unknown', 'success', 'success', 'success']],
    ['then the third failure in a row fails', spec(), 'sfff', ['success', 'success', 'success', 'failure']],
    ['successThreshold 2 needs two in a row to recover', spec({ successThreshold: 2, failureThreshold: 1 }), 'fssfs', ['failure', 'failure', 'success', 'failure', 'failure']],
    ['failureThreshold 1 fails at once', spec({ failureThreshold: 1 }), 'sf', ['success', 'failure']],
  ])('%s', (_, s, results, expected) => {
    expect(fold(s, results)).toEqual(expected);
  });

  it('keeps the last failure message and the run time', () => {
    const st = foldProbe(spec(), initialProbeState(), false, T0, 'HTTP probe failed with statuscode: 500');
    expect(st).toEqual({ successes: 0, failures: 1, result: 'unknown', lastRunAt: T0, message: 'HTTP probe failed with statuscode: 500' });
  });
});

const ok: ProbeState = { successes: 1, failures: 0, result: 'success' };
const bad: ProbeState = { successes: 0, failures: 3, result: 'failure', message: 'boom' };
const fresh = initialProbeState();

describe('probeVerdict: startup holds the others back, readiness gates Ready, liveness restarts', () => {
  it.each([
    ['no probes: ready', {}, {}, { started: true, ready: true }],
    ['readiness not yet run: not ready', { readiness: spec() }, {}, { started: true, ready: false, reason: 'readiness probe has not succeeded yet' }],
    ['readiness passing: ready', { readiness: spec() }, { readiness: ok }, { started: true, ready: true }],
    ['readiness failing: not ready, no restart', { readiness: spec() }, { readiness: bad }, { started: true, ready: false, reason: 'Readiness probe failed: boom' }],
    ['liveness alone, not yet run: ready (alive until proven dead)', { liveness: spec() }, {}, { started: true, ready: true }],
    [
      'liveness failing: restart',
      { liveness: spec(), readiness: spec() },
      { liveness: bad, readiness: ok },
      { started: true, ready: false, restart: { kind: 'liveness', message: 'Liveness probe failed: boom' }, reason: 'Liveness probe failed: boom' },
    ],
    ['startup pending: not started, readiness ignored', { startup: spec(), readiness: spec() }, { startup: fresh, readiness: ok }, { started: false, ready: false, reason: 'startup probe has not succeeded yet' }],
    ['startup pending: liveness failure ignored', { startup: spec(), liveness: spec() }, { liveness: bad }, { started: false, ready: false, reason: 'startup probe has not succeeded yet' }],
    [
      'startup failed: restart',
      { startup: spec() },
      { startup: bad },
      { started: false, ready: false, restart: { kind: 'startup', message: 'Startup probe failed: boom' }, reason: 'Startup probe failed: boom' },
    ],
    ['startup succeeded, readiness not yet: not ready', { startup: spec(), readiness: spec() }, { startup: ok }, { started: true, ready: false, reason: 'readiness probe has not succeeded yet' }],
    ['startup succeeded, no readiness: ready', { startup: spec() }, { startup: ok }, { started: true, ready: true }],
  ])('%s', (_, probes, states, expected) => {
    expect(probeVerdict(probes, states)).toEqual(expected);
  });

  it.each([
    ['before startup succeeds, only startup runs', { startup: spec(), liveness: spec(), readiness: spec() }, false, ['startup']],
    ['after, liveness and readiness run', { startup: spec(), liveness: spec(), readiness: spec() }, true, ['liveness', 'readiness']],
    ['no startup probe: the others run at once', { readiness: spec() }, true, ['readiness']],
  ] as const)('activeProbes: %s', (_, probes, started, expected) => {
    expect(activeProbes(probes, started)).toEqual(expected);
  });
});

describe('grpc.health.v1 framing', () => {
  it.each([
    ['empty service', '', [0, 0, 0, 0, 0]],
    ['a service', 'cart', [0, 0, 0, 0, 6, 0x0a, 4, 0x63, 0x61, 0x72, 0x74]],
  ])('HealthCheckRequest of %s', (_, service, bytes) => {
    expect([...healthCheckRequest(service)]).toEqual(bytes);
  });

  it.each([
    ['SERVING', [0, 0, 0, 0, 2, 0x08, 1], 1],
    ['NOT_SERVING', [0, 0, 0, 0, 2, 0x08, 2], 2],
    ['UNKNOWN (empty message)', [0, 0, 0, 0, 0], 0],
    ['a compressed frame', [1, 0, 0, 0, 2, 0x08, 1], undefined],
    ['too short', [0, 0], undefined],
    ['another field', [0, 0, 0, 0, 2, 0x10, 1], undefined],
  ])('HealthCheckResponse %s', (_, bytes, status) => {
    expect(healthCheckStatus(Buffer.from(bytes))).toBe(status);
  });
});
