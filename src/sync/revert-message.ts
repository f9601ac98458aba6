// Pure: the messages of the commits `berth rollback` makes, and what a commit's message says it reverts.

/** Reverted commits named in one message at most (a `--to` over a long stretch names the newest). */
export const MAX_REVERTS_NAMED = 100;

const REVERTS_LINE = /^This reverts commit ([0-9a-f]{40})\.?\s*$/gm;

/** The first line of a commit message. */
export function subjectOf(message: string): string {
  return message.split('\n', 1)[0]?.trim() ?? '';
}

/** The paragraph an automatic revert's message carries, naming why (automaticReason reads it back). */
export function automaticParagraph(reason: string): string {
  return `berth reverted it automatically: ${reason.replace(/\s+/g, ' ').trim()}`;
}

/** The reason of an automatic revert, read from its message; undefined for any other commit. */
export function automaticReason(message: string): string | undefined {
  return /^berth reverted it automatically: (.*)$/m.exec(message)?.[1];
}

/** What a reverted commit's status says: `rolled back by <sha>`, or `rolled back automatically by <sha>: <reason>`. */
export function rolledBackNote(revert: string, message: string): string {
  const reason = automaticReason(message);
  return reason === undefined ? `rolled back by ${revert.slice(0, 7)}` : `rolled back automatically by ${revert.slice(0, 7)}: ${reason}`;
}

/**
 * Git's own message for `git revert <sha>`: `Revert "<subject>"` and `This reverts commit <sha>.`
 * (Git 2.43 and later say `Reapply "…"` for the revert of a revert); `reason`, for a revert berth
 * made by itself, is a paragraph after it.
 */
export function revertMessage(subject: string, commit: string, reason?: string): string {
  const m = /^Revert "(.*)"$/.exec(subject);
  const title = m ? `Reapply "${m[1] ?? ''}"` : `Revert "${subject}"`;
  return `${title}\n\nThis reverts commit ${commit}.\n${reason === undefined ? '' : `\n${reason}\n`}`;
}

/**
 * The message of `berth rollback --to <sha>`: the tree of `<sha>` committed again, naming each
 * commit it undoes (newest first) as `git revert` names one, so a reader (and berth) can tell.
 */
export function restoreMessage(subject: string, commit: string, undone: readonly string[]): string {
  const named = undone.slice(0, MAX_REVERTS_NAMED);
  const more = undone.length > named.length ? `\n(and ${undone.length - named.length} older commits)` : '';
  return `Roll back to "${subject}"\n\nThis restores the tree of commit ${commit}.\n${named.map((c) => `\nThis reverts commit ${c}.`).join('')}${more}\n`;
}

/** The commits a message says it reverts (Git's `This reverts commit <sha>.` lines), in order, each once. */
export function revertedBy(message: string): string[] {
  return [...new Set([...message.matchAll(REVERTS_LINE)].map((m) => m[1] ?? ''))].filter((c) => c !== '');
}
