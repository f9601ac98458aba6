import type { Condition } from './records.js';

// The records of a source's side of the keyspace: the commit statuses on their way to Git (outbox,
// health) and what sync, the API and `berth suspend`/`rollback` tell each other about a source.
// records.ts re-exports them, so every record type is still found there.

/**
 * `outboxsending/<source>`: the outbox entry being sent to a reporter that would show it twice (a
 * forge), written before the request and deleted with the entry: one left behind names the entry a
 * crash cut short, whose arrival is asked of the forge before it is sent again (sync/outbox.ts).
 */
export interface OutboxSendingRecord {
  type: 'outboxSending';
  source: string;
  /** The outbox key of the entry. */
  key: string;
}

/** The commit-status contexts berth reports (DESIGN.md, "Commit statuses"). */
export type StatusContext = 'berth/sync' | 'berth/health';
/** The commit-status states every reporter knows (git notes, GitHub/Gitea, GitLab). */
export type StatusState = 'pending' | 'success' | 'failure' | 'error';

/** `outbox/<source>/<seq>`: a commit-status update not yet delivered; sync drains them in order. */
export interface OutboxRecord {
  type: 'outbox';
  source: string;
  commit: string;
  context: StatusContext;
  state: StatusState;
  /** One line for people: counts, manifest error positions and messages; never a secret. */
  description: string;
  /** When the status was decided (not when it was delivered). */
  time: string;
}

/** `health/<source>`: the `berth/health` the controller last put into the outbox for the source's commit in force. */
export interface HealthRecord {
  type: 'health';
  source: string;
  commit: string;
  state: Exclude<StatusState, 'error'>;
  /**
   * One CamelCase word for the situation (RollingOut, Running, CrashLoopBackOff, Drifted …): a new
   * report is due only when the commit, the state or this changes, never for a changed count.
   */
  reason: string;
  description: string;
  /** For a failure: what failed ("web/api-…-0 container api exited with code 1"), named again by "healed: …". */
  detail?: string;
  /** Ready, Progressing, Degraded: the same words as pod conditions. */
  conditions: Condition[];
  /** When it was reported. */
  time: string;
  /** `berth/health` statuses put into the outbox for this commit so far (bounded: MAX_HEALTH_REPORTS). */
  reports?: number;
  /** When a drift of this commit was last reported (drift reports are damped: DRIFT_DAMP_MS). */
  driftAt?: string;
}

/**
 * `syncerrors/<source>`: sync cannot do its job (a repository it cannot reach for a while, a branch
 * that is gone); deleted once it can. `berth status` shows it as the source's `error`.
 */
export interface SyncErrorRecord {
  type: 'syncError';
  source: string;
  /** The error's code (EREPOUNREACHABLE, ENOBRANCH …). */
  code: string;
  /** One line for people, with the hint; never a secret (URLs are redacted where the error is made). */
  message: string;
  /** When it was first seen in this streak. */
  since: string;
  /** A refusal retrying cannot mend (a forge's 401 or 404): not retried on the clock, only when something changes. */
  permanent?: boolean;
}

/**
 * `suspended/<source>`: sync applies no new commit of the source while this exists (`berth suspend`,
 * or `berth suspend --at`, which also names the earlier applied `commit` to put back and keep); deleted by `berth resume`.
 */
export interface SuspensionRecord {
  type: 'suspension';
  source: string;
  /** When it was suspended. */
  since: string;
  /** Pinned (`berth suspend --at`): this earlier applied commit is applied and kept until resume. */
  commit?: string;
}

/**
 * `requests/rollback/<source>`: a `berth rollback` asked through the API. Sync makes the revert
 * commit (or, for `to`, the commit of that tree), pushes it to the branch, and writes the outcome
 * into the same record (`done` or `failed`); the next request replaces it.
 */
export interface RollbackRequestRecord {
  type: 'rollbackRequest';
  source: string;
  /** Tells this request's outcome from an earlier one's. */
  id: string;
  /** `revert`: a revert commit of `commit`; `to`: a commit of `commit`'s tree on top of the branch. */
  mode: 'revert' | 'to';
  /** The commit, whole or its first 4 or more digits. */
  commit: string;
  requestedAt: string;
  done?: RollbackDone;
  failed?: { code: string; message: string; hint?: string };
}

/** `followed/<source>`: the repository (its URL without credentials) and branch the source's sync follows; written at its start. */
export interface FollowedRecord {
  type: 'followed';
  source: string;
  repo: string;
  branch: string;
}

/** A commit `berth rollback` (or an automatic revert) pushed. */
export interface RollbackDone {
  /** The new commit, now the branch head. */
  commit: string;
  /** The commit reverted (or whose tree was restored), whole. */
  target: string;
  message: string;
}
