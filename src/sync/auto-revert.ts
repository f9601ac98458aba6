// Pure: when `--auto-revert` makes a revert commit of the commit in force, and why.
import type { HealthRecord, HistoryRecord, SealRecord } from '../store/index.js';
import { revertedBy } from './revert-message.js';

/**
 * `berth/health` failure reasons a rollout causes: the commit's own pods crash, cannot pull their
 * image, or never turn ready within the progress deadline. Drift, a lost node, a conflict with
 * another source and the rest are not the commit's fault, and a revert would not help.
 */
export const ROLLOUT_FAILURES: ReadonlySet<string> = new Set(['CrashLoopBackOff', 'ErrImagePull', 'ProgressDeadlineExceeded']);

/** What planAutoRevert weighs. */
export interface AutoRevertInput {
  seal: SealRecord | undefined;
  health: HealthRecord | undefined;
  /** The source's history (a revert already applied shows here). */
  history: readonly HistoryRecord[];
  /** Commits this process already tried to revert (a refused revert is not tried again and again). */
  tried: ReadonlySet<string>;
  /** The source is suspended: its commit in force is a person's choice. */
  suspended: boolean;
}

/**
 * The commit to revert and the reason, when the commit in force turned `berth/health failure` for
 * a reason its rollout caused; undefined otherwise: never for other failures, never for a commit
 * that is itself a revert (berth's or anyone's: reverting it would bring back what was undone),
 * never twice.
 */
export function planAutoRevert(input: AutoRevertInput): { commit: string; reason: string } | undefined {
  const { seal, health } = input;
  if (!seal || !health || input.suspended) return undefined;
  if (health.commit !== seal.commit || health.state !== 'failure' || !ROLLOUT_FAILURES.has(health.reason)) return undefined;
  if (revertedBy(seal.message).length > 0 || input.tried.has(seal.commit)) return undefined;
  if (input.history.some((h) => h.outcome === 'applied' && (h.reverts ?? []).includes(seal.commit))) return undefined;
  return { commit: seal.commit, reason: health.description };
}
