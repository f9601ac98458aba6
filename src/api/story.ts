// A commit's story, as `git log --notes=berth` tells it and more: each time sync looked at it, every
// status it was given (delivered to the git note, or still waiting in the outbox), and its drifts and heals. Pure.
import type { HealthRecord, HistoryRecord, OutboxRecord, SealRecord, SuspensionRecord } from '../store/records.js';
import { compareText } from '../text.js';
import { historyViews, type HistoryView } from './views.js';
import { humanAge, shortCommit } from './units.js';

/** One commit status of a commit. */
export interface StatusView {
  context: OutboxRecord['context'];
  state: OutboxRecord['state'];
  description: string;
  time: string;
  /** False while it waits in the outbox (the git note does not have it yet). */
  delivered: boolean;
}

/** One drift of a commit's pods and its heal (if it healed yet), from the commit's `berth/health` statuses. */
export interface DriftView {
  drifted: string;
  description: string;
  healed?: string;
  healDescription?: string;
  /** Seconds from the drift to the heal. */
  healSeconds?: number;
}

/** GET /api/v1/sources/<source>/commits/<commit>. */
export interface CommitStoryView {
  source: string;
  commit: string;
  commitSha: string;
  author: string;
  message: string;
  /** Whether this commit's desired state is the one in force. */
  inForce: boolean;
  /** Whether the source is kept on this commit by `berth suspend --at`. */
  pinned: boolean;
  /** Each time sync looked at the commit (applied, rejected, applied again when pinned), oldest first. */
  history: HistoryView[];
  /** Its `berth/sync` and `berth/health` statuses, oldest first. */
  statuses: StatusView[];
  /** The `berth/health` last reported, while the commit is in force. */
  health?: { state: string; description: string; age: string };
  drift: DriftView[];
}

/** What commitStory folds: records of one source, and the statuses of one commit. */
export interface StoryInput {
  source: string;
  commit: string;
  history: readonly HistoryRecord[];
  delivered: readonly OutboxRecord[];
  pending: readonly OutboxRecord[];
  seal?: SealRecord;
  health?: HealthRecord;
  suspension?: SuspensionRecord;
  now: Date;
}

/** The story of `input.commit`; its history must hold at least one record of it (the caller resolves the commit from history). */
export function commitStory(input: StoryInput): CommitStoryView {
  const { commit, now } = input;
  const history = historyViews(input.history.filter((h) => h.commit === commit), now);
  const last = history[history.length - 1];
  const statuses = [
    ...input.delivered.filter((s) => s.commit === commit).map((s) => statusView(s, true)),
    ...input.pending.filter((s) => s.commit === commit).map((s) => statusView(s, false)),
  ].sort((a, b) => compareText(a.time, b.time));
  const inForce = input.seal?.commit === commit;
  return {
    source: input.source,
    commit: shortCommit(commit),
    commitSha: commit,
    author: last?.author ?? '',
    message: last?.message ?? '',
    inForce,
    pinned: input.suspension?.commit === commit,
    history,
    statuses,
    ...(inForce && input.health?.commit === commit
      ? { health: { state: input.health.state, description: input.health.description, age: humanAge(input.health.time, now) } }
      : {}),
    drift: driftEpisodes(statuses),
  };
}

/** Drifts and heals from `berth/health` statuses in time order: a `drift: …` failure opens one, the next success closes it. */
export function driftEpisodes(statuses: readonly StatusView[]): DriftView[] {
  const episodes: DriftView[] = [];
  let open: DriftView | undefined;
  for (const s of statuses) {
    if (s.context !== 'berth/health') continue;
    if (s.state === 'failure' && s.description.startsWith('drift: ')) {
      if (open) continue;
      open = { drifted: s.time, description: s.description };
      episodes.push(open);
    } else if (s.state === 'success' && open) {
      open.healed = s.time;
      open.healDescription = s.description;
      open.healSeconds = Math.max(0, (Date.parse(s.time) - Date.parse(open.drifted)) / 1000);
      open = undefined;
    }
  }
  return episodes;
}

/**
 * The one commit of a source's history that `prefix` names (a whole id, or its start), with `ok`
 * saying which records qualify; ENOTFOUND-style and ambiguity answers are left to the caller.
 */
export function matchCommits(history: readonly HistoryRecord[], prefix: string, ok: (h: HistoryRecord) => boolean = () => true): string[] {
  const wanted = prefix.toLowerCase();
  return [...new Set(history.filter((h) => h.commit.startsWith(wanted) && ok(h)).map((h) => h.commit))];
}

function statusView(s: OutboxRecord, delivered: boolean): StatusView {
  return { context: s.context, state: s.state, description: s.description, time: s.time, delivered };
}
