import { redactUrl } from '../log.js';
import { countErrors, escapeControl } from '../manifest/index.js';
import type { DesiredObject } from '../manifest/types.js';
import type { OutboxRecord, SealRecord } from '../store/index.js';
import { plural, shorten } from '../text.js';

// Pure: the `berth/sync` statuses of a commit, and the lines they become in a git note.

/** Longest description a status carries; forges cut theirs near here too (GitHub: 140). */
export const MAX_DESCRIPTION = 140;

/** What an applied commit's status says once, when the Deployments or ServiceAccounts it creates or changes ask for a service account. */
export const NO_TOKEN_NOTE = 'service accounts kept; berth mounts no service account token';

/** What the status of a commit applied again by `berth suspend --at` says: the source stays on it until resumed. */
export const PINNED_NOTE = 'pinned: the source stays on this commit until `berth resume`';

/** What the status of a force-pushed head says: the commit it replaced, no longer in the branch's history. */
export function rewriteNote(previous: string): string {
  return `history rewritten: replaces ${previous.slice(0, 7)}, no longer in the branch`;
}

/** The notes an applied commit's status carries for the objects it creates or changes (at most one of each kind). */
export function appliedNotes(changed: readonly DesiredObject[]): string[] {
  const asks = changed.some(
    (o) =>
      (o.kind === 'Deployment' && o.spec.template.automountServiceAccountToken !== false && (o.spec.template.serviceAccountName !== undefined || o.spec.template.automountServiceAccountToken === true)) ||
      (o.kind === 'ServiceAccount' && o.spec.automountServiceAccountToken !== false),
  );
  return asks ? [NO_TOKEN_NOTE] : [];
}

/** `berth/sync success` for an applied commit: counts, then any notes (see appliedNotes). */
export function appliedStatus(source: string, commit: string, counts: SealRecord['counts'], now: Date, notes: readonly string[] = []): OutboxRecord {
  const applied = `applied: ${plural(counts.objects, 'object')}, ${counts.created} created, ${counts.updated} updated, ${counts.deleted} deleted`;
  const description = notes.length === 0 ? applied : shortLine([applied, ...notes].join('; '));
  return { type: 'outbox', source, commit, context: 'berth/sync', state: 'success', description, time: now.toISOString() };
}

/**
 * `berth/sync failure` for a rejected commit: how many errors, and the first as `file:line:col:
 * message`; or `description` when the commit was refused whole before its files were read (an
 * unsigned commit).
 */
export function rejectedStatus(source: string, commit: string, errors: string[], now: Date, refusal?: string): OutboxRecord {
  const first = errors[0];
  const head = `rejected: ${plural(countErrors(errors), 'error')}`;
  const description = shortLine(refusal ?? (first === undefined ? head : `${head}; first: ${first}`));
  return { type: 'outbox', source, commit, context: 'berth/sync', state: 'failure', description, time: now.toISOString() };
}

/** One note line: `<ISO-8601 time> <context> <state> <description>`. */
export function formatStatusLine(entry: OutboxRecord): string {
  return `${entry.time} ${entry.context} ${entry.state} ${oneLine(entry.description)}`;
}

/**
 * The note of a commit with a line appended per entry, in order. The existing text is kept as it is;
 * a line already in it is not added again, so delivering the same entries twice (a crash between
 * the report and the outbox delete) leaves the note as the first delivery made it.
 */
export function appendStatusLines(note: string | undefined, entries: OutboxRecord[]): string {
  const existing = note ?? '';
  const present = new Set(existing.split('\n').map((l) => l.trimEnd()));
  const added: string[] = [];
  for (const entry of entries) {
    const line = formatStatusLine(entry);
    if (present.has(line)) continue;
    present.add(line);
    added.push(line);
  }
  if (added.length === 0) return existing;
  const base = existing === '' || existing.endsWith('\n') ? existing : `${existing}\n`;
  return `${base}${added.join('\n')}\n`;
}

/** Entries per commit, commits in order of their first entry, each commit's entries in order. */
export function groupByCommit(entries: OutboxRecord[]): { commit: string; entries: OutboxRecord[] }[] {
  const groups = new Map<string, OutboxRecord[]>();
  for (const e of entries) {
    const group = groups.get(e.commit);
    if (group) group.push(e);
    else groups.set(e.commit, [e]);
  }
  return [...groups].map(([commit, list]) => ({ commit, entries: list }));
}

/** One line, no URL credentials: a description must neither break (or forge) the note's lines nor leak a secret. */
function oneLine(text: string): string {
  return escapeControl(redactUrl(text).replace(/\s+/g, ' ').trim());
}

/** A status description: one line, no control characters or URL credentials, at most MAX_DESCRIPTION characters. */
export function shortLine(text: string): string {
  return shorten(oneLine(text), MAX_DESCRIPTION);
}
