import { describe, expect, it } from 'vitest';
import { DRIFT_DAMP_MS, MAX_HEALTH_REPORTS, planHealthReport, type CommitHealth } from '../../../src/controller/index.js';
import type { HealthRecord } from '../../../src/store/index.js';
import { sealOf } from './healthFixtures.js';

const NOW = new Date('2025-06-01T12:00:00.000Z');
const C1 = 'c1'.padEnd(40, '1');
const C2 = 'c2'.padEnd(40, '2');

/** A verdict; `conditions` do not matter here. */
function verdict(state: CommitHealth['state'], reason: string, description: string, o: Partial<CommitHealth> = {}): CommitHealth {
  return { state, reason, description, ready: 3, replicas: 5, settling: false, conditions: [], ...o };
}

/** What was reported last, for `commit`. */
function last(commit: string, state: HealthRecord['state'], reason: string, description: string, detail?: string): HealthRecord {
  return {
    type: 'health', source: 'main', commit, state, reason, description, ...(detail ? { detail } : {}), conditions: [], time: '2025-06-01T11:00:00.000Z',
  };
}

const rolling = verdict('pending', 'RollingOut', 'rolling out: 3/5 ready');
const running = verdict('success', 'Running', '5/5 replicas of 2 deployments running c111111', { ready: 5 });
const crash = verdict('failure', 'CrashLoopBackOff', 'crash loop: demo/web-1 container main exited with code 1', { detail: 'demo/web-1 container main exited with code 1' });
const drifting = verdict('failure', 'Drifted', 'drift: demo/web-0 container main was stopped from outside; healing', {
  detail: 'demo/web-0 container main was stopped from outside', settling: true,
});

describe('planHealthReport', () => {
  it.each<{ case: string; last?: HealthRecord; health: CommitHealth; report: string[] }>([
    { case: 'a new commit starts pending', health: rolling, report: ['pending rolling out: 3/5 ready'] },
    {
      case: 'a new commit already running (nothing of it runs differently): success alone',
      health: running, report: ['success 5/5 replicas of 2 deployments running c111111'],
    },
    {
      case: 'a new commit already failing: pending, then the failure',
      health: crash, report: ['pending rolling out: 3/5 ready', 'failure crash loop: demo/web-1 container main exited with code 1'],
    },
    {
      case: 'the previous commit’s report does not count for a new one (a revert of a rejected commit: success again, for it)',
      last: last(C2, 'success', 'Running', 'running'), health: running,
      report: ['success 5/5 replicas of 2 deployments running c111111'],
    },
    { case: 'same state and reason, another ready count: nothing new', last: last(C1, 'pending', 'RollingOut', 'rolling out: 1/5 ready'), health: rolling, report: [] },
    { case: 'same failure, another pod or message: nothing new', last: last(C1, 'failure', 'CrashLoopBackOff', 'crash loop: demo/api-0 …'), health: crash, report: [] },
    { case: 'still running: nothing new', last: last(C1, 'success', 'Running', 'healed: …'), health: running, report: [] },
    {
      case: 'pending for another reason',
      last: last(C1, 'pending', 'RollingOut', 'rolling out: 3/5 ready'),
      health: verdict('pending', 'Unschedulable', 'unschedulable: demo/web-1 has no node after 60s; 3/5 ready'),
      report: ['pending unschedulable: demo/web-1 has no node after 60s; 3/5 ready'],
    },
    { case: 'rolled out', last: last(C1, 'pending', 'RollingOut', 'rolling out: 3/5 ready'), health: running, report: ['success 5/5 replicas of 2 deployments running c111111'] },
    {
      case: 'failing during a rollout',
      last: last(C1, 'pending', 'RollingOut', 'rolling out: 3/5 ready'), health: crash,
      report: ['failure crash loop: demo/web-1 container main exited with code 1'],
    },
    {
      case: 'a drift of a running commit, even settling, is reported',
      last: last(C1, 'success', 'Running', 'running'), health: drifting,
      report: ['failure drift: demo/web-0 container main was stopped from outside; healing'],
    },
    {
      case: 'success after a failure says what was healed',
      last: last(C1, 'failure', 'Drifted', 'drift: demo/web-0 container main was stopped from outside; healing', 'demo/web-0 container main was stopped from outside'),
      health: running,
      report: ['success healed: demo/web-0 container main was stopped from outside; 5/5 replicas of 2 deployments running c111111'],
    },
    {
      case: 'a settling verdict does not replace a failure already reported (one reason per crash loop)',
      last: last(C1, 'failure', 'CrashLoopBackOff', 'crash loop: …', 'demo/web-1 container main exited with code 1'), health: drifting, report: [],
    },
    {
      case: 'a standing failure of another reason replaces one already reported',
      last: last(C1, 'failure', 'CrashLoopBackOff', 'crash loop: …'),
      health: verdict('failure', 'ErrImagePull', 'image pull failed: demo/web-1 container main: denied'),
      report: ['failure image pull failed: demo/web-1 container main: denied'],
    },
    {
      case: 'back to pending after a failure (no "healed" until it runs)',
      last: last(C1, 'failure', 'NodeLost', 'node lost: …'), health: rolling, report: ['pending rolling out: 3/5 ready'],
    },
  ])('$case', ({ last: before, health, report }) => {
    const planned = planHealthReport(before, sealOf(C1), health, NOW);
    expect(planned?.entries.map((e) => `${e.state} ${e.description}`) ?? []).toEqual(report);
    if (planned) {
      const final = planned.entries.at(-1);
      expect(planned.record).toMatchObject({ type: 'health', source: 'main', commit: C1, state: health.state, reason: health.reason, description: final?.description });
    }
  });

  it('writes berth/health entries for the seal’s source and commit, stamped now', () => {
    const planned = planHealthReport(undefined, sealOf(C1, 'apps'), crash, NOW);
    expect(planned?.entries).toEqual([
      { type: 'outbox', source: 'apps', commit: C1, context: 'berth/health', state: 'pending', description: 'rolling out: 3/5 ready', time: NOW.toISOString() },
      { type: 'outbox', source: 'apps', commit: C1, context: 'berth/health', state: 'failure', description: crash.description, time: NOW.toISOString() },
    ]);
    expect(planned?.record).toEqual({
      type: 'health', source: 'apps', commit: C1, state: 'failure', reason: 'CrashLoopBackOff', description: crash.description, detail: crash.detail,
      conditions: [], time: NOW.toISOString(), reports: 2,
    });
  });
});

describe('planHealthReport damps drift flapping and bounds what one commit gets', () => {
  const at = (minutes: number): Date => new Date(NOW.getTime() + minutes * 60_000);
  const standing = { ...drifting, settling: false };
  const healedRunning = verdict('success', 'Running', '5/5 replicas of 2 deployments running c111111', { ready: 5 });

  it('reports a drift, its heal, and then no drift again until DRIFT_DAMP_MS after the last one reported', () => {
    let record = planHealthReport(undefined, sealOf(C1), healedRunning, NOW)?.record;
    const texts: string[] = [];
    // A container killed every minute for half an hour, healed each time.
    for (let m = 1; m <= 30; m++) {
      for (const [h, when] of [[standing, at(m)], [healedRunning, at(m + 0.5)]] as const) {
        const planned = planHealthReport(record, sealOf(C1), h, when);
        if (!planned) continue;
        record = planned.record;
        texts.push(...planned.entries.map((e) => `${e.state} ${e.description.split(':')[0] ?? ''}`));
      }
    }
    // Drift at 1, 11, 21 (then the next flap after ten minutes), each with its heal: 6 statuses, not 60.
    expect(texts).toEqual(['failure drift', 'success healed', 'failure drift', 'success healed', 'failure drift', 'success healed']);
    expect(record?.reports).toBe(7);
  });

  it('reports a drift that outlasts the damping once the damping is over', () => {
    const first = planHealthReport(last(C1, 'success', 'Running', 'ok'), sealOf(C1), standing, NOW);
    const healed = planHealthReport(first?.record, sealOf(C1), healedRunning, at(1));
    expect(planHealthReport(healed?.record, sealOf(C1), standing, at(5))).toBeUndefined();
    expect(planHealthReport(healed?.record, sealOf(C1), standing, at(DRIFT_DAMP_MS / 60_000 + 1))?.entries.map((e) => e.state)).toEqual(['failure']);
  });

  it('sends nothing more past MAX_HEALTH_REPORTS for one commit, while the record still follows the verdict', () => {
    const full = { ...last(C1, 'success', 'Running', 'ok'), reports: MAX_HEALTH_REPORTS };
    const planned = planHealthReport(full, sealOf(C1), crash, NOW);
    expect(planned?.entries).toEqual([]);
    expect(planned?.record).toMatchObject({ state: 'failure', reason: 'CrashLoopBackOff', reports: MAX_HEALTH_REPORTS });
    // A new commit starts its own count.
    expect(planHealthReport(full, sealOf(C2), crash, NOW)?.entries).toHaveLength(2);
  });
});
