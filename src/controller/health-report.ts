// Pure: which `berth/health` statuses a new verdict adds to what was last reported.
import type { HealthRecord, OutboxRecord, SealRecord } from '../store/index.js';
import { oneLine, type CommitHealth } from './health.js';

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
  const record = (description: string): HealthRecord => ({
    type: 'health',
    source: seal.source,
    commit: seal.commit,
    state: health.state,
    reason: health.reason,
    description,
    ...(health.detail === undefined ? {} : { detail: health.detail }),
    conditions: health.conditions,
    time,
  });

  if (last?.commit !== seal.commit) {
    // Nothing to roll out (a revert, a commit that changes nothing that runs): straight to success.
    if (health.state === 'success') return { entries: [entry('success', health.description)], record: record(health.description) };
    const entries = [entry('pending', health.state === 'pending' ? health.description : `rolling out: ${health.ready}/${health.replicas} ready`)];
    if (health.state !== 'pending') entries.push(entry(health.state, health.description));
    return { entries, record: record(health.description) };
  }
  if (last.state === health.state && last.reason === health.reason) return undefined;
  if (health.settling && last.state === 'failure') return undefined;
  const description = last.state === 'failure' && health.state === 'success' ? oneLine(`healed: ${last.detail ?? last.description}; ${health.description}`) : health.description;
  return { entries: [entry(health.state, description)], record: record(description) };
}
