// Pure: which `berth/health` statuses a new verdict adds to what was last reported.
import type { HealthRecord, OutboxRecord, SealRecord } from '../store/index.js';
import { oneLine, type CommitHealth } from './health.js';

/**
 * A drift is reported at most once in this long per commit: a container killed again and again
 * would otherwise add two statuses each time (GitHub keeps at most 1,000 per context and commit).
 * A drift that outlasts it is reported once it is over.
 */
export const DRIFT_DAMP_MS = 10 * 60_000;
/** Health statuses per commit, at most; after that `health/<source>` still changes but nothing is sent. */
export const MAX_HEALTH_REPORTS = 500;

/** The statuses to put into the outbox, in order, and the record of what was reported last. */
export interface HealthReport {
  entries: OutboxRecord[];
  record: HealthRecord;
}

/**
 * What to report for `health`, the verdict on `seal`'s commit, after `last` was reported, or
 * undefined when nothing is new. A new commit whose pods are all ready already (nothing of it runs
 * differently) is reported `success` alone; any other new commit starts with `pending` (then, in the
 * same report, a failure if that is already decided). After that a status is due only when the state
 * or the reason changes: a changed ready count, pod name or message alone is no news. A failure
 * resting on containers that restarted moments ago does not replace a failure already reported
 * (a crash loop keeps one reason), and success after a failure says what was healed.
 */
export function planHealthReport(last: HealthRecord | undefined, seal: SealRecord, health: CommitHealth, now: Date): HealthReport | undefined {
  const time = now.toISOString();
  const entry = (state: CommitHealth['state'], description: string): OutboxRecord => ({
    type: 'outbox', source: seal.source, commit: seal.commit, context: 'berth/health', state, description, time,
  });
  const same = last?.commit === seal.commit;
  const reports = same ? (last.reports ?? 0) : 0;
  const drift = health.state === 'failure' && health.reason === 'Drifted';
  const record = (description: string, sent: number): HealthRecord => ({
    type: 'health',
    source: seal.source,
    commit: seal.commit,
    state: health.state,
    reason: health.reason,
    description,
    ...(health.detail === undefined ? {} : { detail: health.detail }),
    conditions: health.conditions,
    time,
    reports: reports + sent,
    ...(drift && sent > 0 ? { driftAt: time } : same && last.driftAt !== undefined ? { driftAt: last.driftAt } : {}),
  });

  if (last?.commit !== seal.commit) {
    // Nothing to roll out (a revert, a commit that changes nothing that runs): straight to success.
    if (health.state === 'success') return { entries: [entry('success', health.description)], record: record(health.description, 1) };
    const entries = [entry('pending', health.state === 'pending' ? health.description : `rolling out: ${health.ready}/${health.replicas} ready`)];
    if (health.state !== 'pending') entries.push(entry(health.state, health.description));
    return { entries, record: record(health.description, entries.length) };
  }
  if (last.state === health.state && last.reason === health.reason) return undefined;
  if (health.settling && last.state === 'failure') return undefined;
  // Drift flapping: a drift again within DRIFT_DAMP_MS of the last one reported is not news yet.
  if (drift && last.driftAt !== undefined && now.getTime() - Date.parse(last.driftAt) < DRIFT_DAMP_MS) return undefined;
  const description = last.state === 'failure' && health.state === 'success' ? oneLine(`healed: ${last.detail ?? last.description}; ${health.description}`) : health.description;
  // Past the bound the record still follows the verdict (berth status), and nothing more is sent.
  if (reports >= MAX_HEALTH_REPORTS) return { entries: [], record: record(description, 0) };
  return { entries: [entry(health.state, description)], record: record(description, 1) };
}
