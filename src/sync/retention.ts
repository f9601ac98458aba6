// How much of a source's past etcd keeps: the newest `--history-limit` history records, and the
// statuses (notes/) of the commits they name. A pure choice of what to delete (prune.ts deletes it),
// so etcd never grows without bound however many commits a branch gets. Imports nothing: the CLI
// shows the default in its help.

/** History records kept per source unless `--history-limit` says otherwise. */
export const DEFAULT_HISTORY_LIMIT = 1000;

/** A source's stored past: its history records (key and commit, in key order: oldest first) and its note keys. */
export interface StoredPast {
  history: readonly { key: string; commit: string | undefined }[];
  notes: readonly string[];
  /** The commit in force (sealed): its records and statuses stay, however old. */
  inForce?: string;
}

/**
 * The keys to delete: history records beyond the newest `limit` (a record that does not decode goes
 * with them once it is that old), except those of the commit in force, and the notes of every
 * commit no kept record names. Sorted, so the same input always gives the same answer.
 */
export function expiredPast(past: StoredPast, limit: number): string[] {
  const cut = Math.max(0, past.history.length - limit);
  const drop = past.history.slice(0, cut).filter((h) => h.commit === undefined || h.commit !== past.inForce).map((h) => h.key);
  const kept = new Set(past.history.slice(cut).flatMap((h) => (h.commit === undefined ? [] : [h.commit])));
  if (past.inForce !== undefined) kept.add(past.inForce);
  // notes/<source>/<commit>/<seq>
  const orphans = past.notes.filter((key) => !kept.has(key.split('/')[2] ?? ''));
  return [...drop, ...orphans].sort();
}

