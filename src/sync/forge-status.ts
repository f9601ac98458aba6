// Commit statuses on forges: GitHub (and GitHub Enterprise), Gitea/Forgejo and GitLab, through their
// REST APIs, behind the StatusReporter seam (the outbox delivers to it in order, at least once).
import { InvalidInputError, UnavailableError, UsageError } from '../errors.js';
import { redactUrl } from '../log.js';
import type { OutboxRecord, StatusState } from '../store/index.js';
import { discardReporter, type OnceSink, type StatusReporter } from './reporter.js';
import { readTokenFile, splitUrlCredentials } from './credentials.js';

/** The forges berth writes statuses to. */
export type ForgeKind = 'github' | 'gitea' | 'gitlab';
export const FORGE_KINDS: readonly ForgeKind[] = ['github', 'gitea', 'gitlab'];

/** Where one source's statuses go on its forge. */
export interface ForgeTarget {
  kind: ForgeKind;
  /** The API's base URL, e.g. `https://api.github.com`, `https://gitea.example.com/api/v1`, `https://gitlab.example.com/api/v4`. */
  apiBase: string;
  /** `owner/repo` (GitHub, Gitea) or the project's full path (GitLab, which takes it URL-encoded as its id). */
  repoPath: string;
}

/** One HTTP request to a forge. */
export interface ForgeRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: string;
}

/**
 * Where `repo`'s statuses go on a `kind` forge: the API base (`apiBase` when given, else the forge's
 * usual one for the repository's host) and the repository's path. A URL without an owner and a
 * name is refused.
 */
export function forgeTarget(kind: ForgeKind, repo: string, apiBase?: string): ForgeTarget {
  const { url } = splitUrlCredentials(repo);
  const m = /^(https?):\/\/([^/]+)\/(.+?)(?:\.git)?\/*$/.exec(url);
  const parts = m?.[3]?.split('/').filter(Boolean) ?? [];
  if (!m || parts.length < 2 || (kind !== 'gitlab' && parts.length !== 2)) {
    throw new InvalidInputError('EFORGE', `--status ${kind} needs the repository's https URL on the forge (…/owner/name), not ${redactUrl(repo)}`, {
      hint: 'pass --repo with the forge URL of the repository, or --status git-notes',
    });
  }
  const [scheme, host] = [m[1] ?? 'https', m[2] ?? ''];
  const usual = kind === 'github' ? (host.toLowerCase() === 'github.com' ? 'https://api.github.com' : `${scheme}://${host}/api/v3`)
    : kind === 'gitea' ? `${scheme}://${host}/api/v1` : `${scheme}://${host}/api/v4`;
  return { kind, apiBase: (apiBase ?? usual).replace(/\/+$/, ''), repoPath: parts.join('/') };
}

/** The state a forge knows for berth's: GitLab says failed where the others say failure or error. */
function forgeState(kind: ForgeKind, state: StatusState): string {
  if (kind !== 'gitlab') return state;
  return state === 'failure' || state === 'error' ? 'failed' : state;
}

function authHeaders(kind: ForgeKind, token: string): Record<string, string> {
  if (kind === 'github') return { accept: 'application/vnd.github+json', authorization: `Bearer ${token}`, 'x-github-api-version': '2022-11-28' };
  if (kind === 'gitea') return { accept: 'application/json', authorization: `token ${token}` };
  return { accept: 'application/json', 'private-token': token };
}

const segments = (path: string): string => path.split('/').map(encodeURIComponent).join('/');

/**
 * The request that sets `entry` as a commit status, as each forge documents it: GitHub `POST
 * /repos/{owner}/{repo}/statuses/{sha}` and Gitea `POST /repos/{owner}/{repo}/statuses/{sha}`
 * with `{state, description, context}`; GitLab `POST /projects/:id/statuses/:sha` with `{state,
 * name, description}`.
 */
export function statusRequest(target: ForgeTarget, token: string, entry: OutboxRecord, targetUrl?: string): ForgeRequest {
  const state = forgeState(target.kind, entry.state);
  const link = targetUrl === undefined ? {} : { target_url: targetUrl };
  const headers = { ...authHeaders(target.kind, token), 'content-type': 'application/json' };
  if (target.kind === 'gitlab') {
    return {
      method: 'POST', url: `${target.apiBase}/projects/${encodeURIComponent(target.repoPath)}/statuses/${entry.commit}`, headers,
      body: JSON.stringify({ state, name: entry.context, description: entry.description, ...link }),
    };
  }
  return {
    method: 'POST', url: `${target.apiBase}/repos/${segments(target.repoPath)}/statuses/${entry.commit}`, headers,
    body: JSON.stringify({ state, description: entry.description, context: entry.context, ...link }),
  };
}

/** GitLab: the statuses of a commit by name (`GET /projects/:id/repository/commits/:sha/statuses?name=`), newest first. */
export function gitlabStatusesRequest(target: ForgeTarget, token: string, commit: string, name: string): ForgeRequest {
  return {
    method: 'GET',
    url: `${target.apiBase}/projects/${encodeURIComponent(target.repoPath)}/repository/commits/${commit}/statuses?name=${encodeURIComponent(name)}`,
    headers: authHeaders(target.kind, token),
  };
}

/**
 * GitHub and Gitea: a commit's statuses, newest first, as their docs state it: GitHub `GET
 * /repos/{owner}/{repo}/commits/{ref}/statuses` (`per_page` up to 100), Gitea `GET
 * /repos/{owner}/{repo}/statuses/{sha}` (`limit`).
 */
export function statusesRequest(target: ForgeTarget, token: string, commit: string): ForgeRequest {
  const base = `${target.apiBase}/repos/${segments(target.repoPath)}`;
  const url = target.kind === 'github' ? `${base}/commits/${commit}/statuses?per_page=100` : `${base}/statuses/${commit}?limit=100`;
  return { method: 'GET', url, headers: authHeaders(target.kind, token) };
}

/** A forge's list of statuses (GitHub says `state`, Gitea `status`); anything else reads as none. */
function parseList(text: string): { context?: unknown; state?: unknown; status?: unknown; description?: unknown }[] {
  try {
    const list: unknown = JSON.parse(text);
    return Array.isArray(list) ? list.filter((s): s is Record<string, unknown> => typeof s === 'object' && s !== null) : [];
  } catch {
    return [];
  }
}

/** Sends a request; the seam tests and the reporter share (global fetch by default). */
export type Send = (req: ForgeRequest) => Promise<{ status: number; text: string }>;

const fetchSend: Send = async (req) => {
  const res = await fetch(req.url, { method: req.method, headers: req.headers, ...(req.body === undefined ? {} : { body: req.body }), signal: AbortSignal.timeout(15_000) });
  return { status: res.status, text: await res.text() };
};

/** Options of a forge reporter. */
export interface ForgeReporterOptions {
  target: ForgeTarget;
  /** Read at each delivery (a rotated token needs no restart). */
  token: () => Promise<string>;
  /**
   * `--public-url`: where people reach berth; each status links to its commit's story there
   * (`<public-url>/api/v1/sources/<source>/commits/<sha>`).
   */
  publicUrl?: string;
  /** `--status-context-suffix`: contexts become `berth/sync/<suffix>` and `berth/health/<suffix>`. */
  contextSuffix?: string;
  send?: Send;
}

/**
 * Statuses on a forge, one request per entry, in order (the outbox's `once` sink: see sendOnce). An entry equal to the last one sent for
 * its commit and context is not sent again. A refusal that retrying cannot fix (401, 403, 404, 422)
 * throws InvalidInputError naming it; an outage or 5xx throws UnavailableError; either way the
 * outbox keeps the entries. GitLab refuses a status equal to its current one ("Cannot transition
 * status"): its current state is read first, and an equal one counts as delivered.
 */
export class ForgeStatusReporter implements OnceSink {
  private readonly request: Send;
  private readonly last = new Map<string, string>();

  constructor(private readonly opts: ForgeReporterOptions) {
    this.request = opts.send ?? fetchSend;
  }

  /** Send each entry in order (see `send`). */
  async report(entries: OutboxRecord[]): Promise<void> {
    for (const entry of entries) await this.send(entry);
  }

  /** Set one status on the forge, unless it equals the last one this process set for its commit and context. */
  async send(original: OutboxRecord): Promise<void> {
    const entry = this.withSuffix(original);
    const key = `${entry.commit} ${entry.context}`;
    const value = `${entry.state} ${entry.description}`;
    if (this.last.get(key) === value) return;
    await this.deliver(entry);
    this.last.set(key, value);
    // Bounded memory: only recent commits matter for "identical consecutive".
    if (this.last.size > 1000) this.last.delete(this.last.keys().next().value ?? '');
  }

  /**
   * Whether the forge shows `entry` already (its sending was cut short): GitHub's and Gitea's lists of
   * the commit's statuses (the newest 100) hold one with its context, state and description;
   * GitLab's current status of the context is its state.
   */
  async arrived(original: OutboxRecord): Promise<boolean> {
    const entry = this.withSuffix(original);
    const { target } = this.opts;
    const token = await this.opts.token();
    const state = forgeState(target.kind, entry.state);
    if (target.kind === 'gitlab') return (await this.gitlabState(token, entry)) === state;
    const req = statusesRequest(target, token, entry.commit);
    const res = await this.call(req);
    if (res.status !== 200) throw this.failure(req, res);
    const list = parseList(res.text);
    return list.some((s) => s.context === entry.context && (s.state ?? s.status) === state && s.description === entry.description);
  }

  private withSuffix(entry: OutboxRecord): OutboxRecord {
    const suffix = this.opts.contextSuffix;
    return suffix === undefined ? entry : { ...entry, context: `${entry.context}/${suffix}` as OutboxRecord['context'] };
  }

  private async deliver(entry: OutboxRecord): Promise<void> {
    const { target } = this.opts;
    const token = await this.opts.token();
    if (target.kind === 'gitlab' && (await this.gitlabState(token, entry)) === forgeState('gitlab', entry.state)) return;
    const { publicUrl } = this.opts;
    const link = publicUrl === undefined ? undefined : `${publicUrl.replace(/\/+$/, '')}/api/v1/sources/${encodeURIComponent(entry.source)}/commits/${entry.commit}`;
    const req = statusRequest(target, token, entry, link);
    const res = await this.call(req);
    if (res.status === 200 || res.status === 201) return;
    if (target.kind === 'gitlab' && res.status === 400 && /cannot transition status/i.test(res.text)) {
      // Another writer (or a lost answer) made it so already: delivered if it now is.
      if ((await this.gitlabState(token, entry)) === forgeState('gitlab', entry.state)) return;
    }
    throw this.failure(req, res);
  }

  private async gitlabState(token: string, entry: OutboxRecord): Promise<string | undefined> {
    const req = gitlabStatusesRequest(this.opts.target, token, entry.commit, entry.context);
    const res = await this.call(req);
    if (res.status !== 200) throw this.failure(req, res);
    let list: unknown;
    try {
      list = JSON.parse(res.text);
    } catch {
      return undefined;
    }
    if (!Array.isArray(list)) return undefined;
    const mine = list.filter((s): s is { id: number; status: string; name: string } => typeof s === 'object' && s !== null && (s as { name?: unknown }).name === entry.context);
    mine.sort((a, b) => b.id - a.id);
    return mine[0]?.status;
  }

  private async call(req: ForgeRequest): Promise<{ status: number; text: string }> {
    try {
      return await this.request(req);
    } catch (cause) {
      throw new UnavailableError('EFORGEDOWN', `cannot reach the ${this.opts.target.kind} API at ${this.opts.target.apiBase}: ${cause instanceof Error ? cause.message : String(cause)}`, {
        hint: 'the statuses wait in the outbox and are sent once it answers',
        cause,
      });
    }
  }

  private failure(req: ForgeRequest, res: { status: number; text: string }): Error {
    const said = res.text.replace(/\s+/g, ' ').slice(0, 200);
    const where = `${req.method} ${req.url.replace(/\?.*$/, '')}`;
    if ([401, 403, 404, 422].includes(res.status)) {
      return new InvalidInputError('EFORGEREFUSED', `the ${this.opts.target.kind} API refused ${where} (HTTP ${res.status}): ${said}`, {
        hint: res.status === 404 ? 'check --forge-url and the repository URL; a token without access also gets 404' : 'check the token in --forge-token-file and its scopes (commit statuses: write)',
      });
    }
    return new UnavailableError('EFORGE', `the ${this.opts.target.kind} API answered ${where} with HTTP ${res.status}: ${said}`, { hint: 'the statuses wait in the outbox; berth retries' });
  }
}

/** Where statuses may go: git notes, a forge, or nowhere. */
export type StatusChoice = 'git-notes' | 'none' | ForgeKind;

/** How a source's statuses are reported: `--status` (repeatable) and, for a forge, `--forge-url` and `--forge-token-file`. */
export interface ReporterChoice {
  status: readonly StatusChoice[];
  repo: string;
  forgeUrl?: string;
  forgeTokenFile?: string;
  /** `--public-url` and `--status-context-suffix` (see ForgeReporterOptions). */
  publicUrl?: string;
  contextSuffix?: string;
  /** The source's git-notes reporter, when git notes are among several. */
  notes: () => StatusReporter;
}

/**
 * The reporter a source's flags (or config fields) ask for; undefined for git notes alone (sync's
 * default). Git notes take batches (a line they have is not added again); a forge is the `once`
 * sink, sent each entry once after the notes have it. At most one forge; `none` alone; a forge needs a token file (read now, so a wrong one fails
 * the start); the forge flags are refused without a forge.
 */
export async function chooseReporter(choice: ReporterChoice): Promise<StatusReporter | undefined> {
  const { status, forgeTokenFile } = choice;
  const chosen = [...new Set(status)];
  const forges = chosen.filter((c): c is ForgeKind => (FORGE_KINDS as readonly string[]).includes(c));
  if (chosen.includes('none') && chosen.length > 1) throw new InvalidInputError('EFORGE', `--status none cannot go with --status ${chosen.filter((c) => c !== 'none').join(', ')}`, { hint: 'keep none alone, or leave it out' });
  if (forges.length > 1) throw new InvalidInputError('EFORGE', `one forge per source: --status ${forges.join(' and ')}`, { hint: 'keep the forge the repository lives on' });
  const [forge] = forges;
  if (forge === undefined) {
    if (choice.forgeUrl !== undefined || forgeTokenFile !== undefined || choice.publicUrl !== undefined || choice.contextSuffix !== undefined) {
      throw new UsageError('EFORGE', `--forge-url, --forge-token-file, --public-url and --status-context-suffix are for --status github, gitea or gitlab, not ${chosen.join(', ')}`, { hint: 'leave them out, or pass --status with a forge' });
    }
    return chosen.includes('none') ? discardReporter : undefined;
  }
  if (forgeTokenFile === undefined) throw new UsageError('EFORGE', `--status ${forge} needs --forge-token-file`, { hint: 'pass --forge-token-file with a file (mode 0600) holding an API token that may write commit statuses' });
  await readTokenFile(forgeTokenFile);
  const target = forgeTarget(forge, choice.repo, choice.forgeUrl);
  const { publicUrl, contextSuffix } = choice;
  if (contextSuffix !== undefined && !/^[A-Za-z0-9._-]{1,40}$/.test(contextSuffix)) {
    throw new InvalidInputError('EFORGE', `--status-context-suffix '${contextSuffix.slice(0, 60)}' must be 1 to 40 letters, digits, '.', '_' or '-'`, { hint: 'use a short name such as prod' });
  }
  if (publicUrl !== undefined && !/^https?:\/\/[^\s/]+/.test(publicUrl)) {
    throw new InvalidInputError('EFORGE', `--public-url '${publicUrl.slice(0, 80)}' must be an http(s) URL`, { hint: 'give the address people reach berth\'s API at, such as https://berth.example.com' });
  }
  const onForge = new ForgeStatusReporter({
    target, token: () => readTokenFile(forgeTokenFile), ...(publicUrl === undefined ? {} : { publicUrl }), ...(contextSuffix === undefined ? {} : { contextSuffix }),
  });
  // The forge would show a status sent twice: the outbox sends it each entry once (its `once` sink).
  if (!chosen.includes('git-notes')) return { report: async () => undefined, once: onForge };
  const notes = choice.notes();
  return { report: (entries) => notes.report(entries), once: onForge };
}
