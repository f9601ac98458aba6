// Push webhooks of GitHub, Gitea/Forgejo, GitLab and a generic sender: checked against one secret,
// matched to the sources by repository and branch, and turned into sync requests (requests/sync/).
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { readSecretFile } from '../secret-file.js';
import { InvalidInputError } from '../errors.js';
import type { Logger } from '../log.js';
import { FOLLOWED, listDecoded, syncRequestKey, type Store } from '../store/index.js';

/** A source as a webhook sees it: which pushes concern it. */
export interface HookSource {
  name: string;
  /** The source's repository URL (credentials in it are ignored). */
  repo: string;
  branch: string;
}

/** What the webhook endpoints need. */
export interface HookOptions {
  secret: string;
  /** The sources pushes are matched to; without it (a `berth api` of its own), what each sync wrote under `followed/`. */
  sources?: HookSource[];
}

/** The senders berth understands, by the last segment of their path (`/hooks/<forge>`). */
export const FORGES = ['github', 'gitea', 'gitlab', 'generic'] as const;
export type Forge = (typeof FORGES)[number];

/** Largest webhook body (GitHub caps its payloads at 25 MB; a push of a few commits is a few KiB). */
export const HOOK_BODY_LIMIT = 1024 * 1024;

type Headers = Record<string, string | string[] | undefined>;

/** An answer to a webhook: status and JSON body. */
export interface HookAnswer {
  status: number;
  body: Record<string, unknown>;
}

const header = (headers: Headers, name: string): string | undefined => {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** Constant-time comparison of two strings of any length (both hashed first). */
function same(a: string, b: string): boolean {
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * Whether the request carries the secret as its sender signs: GitHub `X-Hub-Signature-256:
 * sha256=<hex>`, Gitea `X-Gitea-Signature: <hex>` (Forgejo also `X-Forgejo-Signature`), both an
 * HMAC-SHA256 of the raw body; GitLab `X-Gitlab-Token: <secret>`; generic `X-Berth-Signature-256:
 * sha256=<hex>`, as GitHub's.
 */
export function signedBy(forge: Forge, headers: Headers, body: Buffer, secret: string): boolean {
  const hmac = createHmac('sha256', secret).update(body).digest('hex');
  switch (forge) {
    case 'github':
      return same(header(headers, 'x-hub-signature-256') ?? '', `sha256=${hmac}`);
    case 'generic':
      return same(header(headers, 'x-berth-signature-256') ?? '', `sha256=${hmac}`);
    case 'gitea':
      return same(header(headers, 'x-gitea-signature') ?? header(headers, 'x-forgejo-signature') ?? '', hmac);
    case 'gitlab':
      return same(header(headers, 'x-gitlab-token') ?? '', secret);
  }
}

/** The event a signed request announces: a push, a ping (a hook just set up), or something else. */
export function eventOf(forge: Forge, headers: Headers): 'push' | 'ping' | 'other' {
  const name = (forge === 'github' ? header(headers, 'x-github-event')
    : forge === 'gitea' ? header(headers, 'x-gitea-event') ?? header(headers, 'x-forgejo-event')
      : forge === 'gitlab' ? header(headers, 'x-gitlab-event')
        : 'push') ?? '';
  if (/^push( hook)?$/i.test(name)) return 'push';
  if (/^ping$/i.test(name)) return 'ping';
  return 'other';
}

/** A push: the ref it moved and the repository's URLs as the payload names them. */
export interface Push {
  ref?: string;
  urls: string[];
}

/** The ref and repository URLs of a push payload (every forge's URL fields, any that are there). */
export function readPush(body: Buffer): Push | undefined {
  if (body.length === 0) return { urls: [] };
  let payload: unknown;
  try {
    payload = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof payload !== 'object' || payload === null) return undefined;
  const p = payload as Record<string, unknown>;
  const urls: string[] = [];
  for (const holder of [p.repository, p.project]) {
    if (typeof holder !== 'object' || holder === null) continue;
    for (const field of ['clone_url', 'html_url', 'git_http_url', 'web_url', 'url', 'http_url']) {
      const v = (holder as Record<string, unknown>)[field];
      if (typeof v === 'string') urls.push(v);
    }
  }
  return { ...(typeof p.ref === 'string' ? { ref: p.ref } : {}), urls };
}

/** A repository URL reduced to what identifies it: host and path, lowercase, no credentials, `.git` or `/`. */
export function repoIdentity(url: string): string {
  return url.trim().replace(/^[a-z+]+:\/\//i, '').replace(/^[^/@]*@/, '').replace(/\/+$/, '').replace(/\.git$/i, '').toLowerCase();
}

/**
 * The sources a push concerns: same repository (by repoIdentity of any URL the payload names) and
 * the ref of their branch. A generic push without a repository or a ref concerns every source (or
 * every source of that repository).
 */
export function matchPush(push: Push, sources: readonly HookSource[]): string[] {
  const ids = new Set(push.urls.map(repoIdentity));
  return sources
    .filter((s) => (ids.size === 0 || ids.has(repoIdentity(s.repo))) && (push.ref === undefined || push.ref === `refs/heads/${s.branch}`))
    .map((s) => s.name);
}

/**
 * Answer one webhook: 404 for an unknown sender, 401 (and nothing else) without the right
 * signature, 200 for a ping, 202 ignored for other events and for pushes to other repositories or
 * branches, 202 with the sources whose sync was requested for a push that concerns them.
 */
export async function receiveHook(
  hooks: HookOptions, forgeName: string, headers: Headers, body: Buffer, store: Store, now: Date, log: Logger,
): Promise<HookAnswer> {
  const forge = FORGES.find((f) => f === forgeName);
  if (!forge) return { status: 404, body: { code: 'ENOTFOUND', message: `no webhook for '${forgeName.slice(0, 40)}'; use one of ${FORGES.map((f) => `/hooks/${f}`).join(', ')}` } };
  if (!signedBy(forge, headers, body, hooks.secret)) {
    log.info({ forge }, 'refused a webhook without a valid signature');
    return { status: 401, body: { code: 'EUNAUTHORIZED', message: `the ${forge} webhook's signature does not match --webhook-secret-file` } };
  }
  const event = eventOf(forge, headers);
  if (event === 'ping') return { status: 200, body: { ok: true } };
  if (event !== 'push') return { status: 202, body: { ignored: 'not a push event' } };
  const push = readPush(body);
  if (!push) return { status: 400, body: { code: 'EINVALID', message: 'the push payload is not a JSON object' } };
  const sources = matchPush(push, hooks.sources ?? (await followedSources(store)));
  if (sources.length === 0) return { status: 202, body: { ignored: 'no source follows this repository and branch' } };
  const requested = now.toISOString();
  const { revision } = await store.commit({ put: sources.map((s) => ({ key: syncRequestKey(s), value: JSON.stringify({ requested }) })) });
  log.info({ forge, sources }, 'sync requested by a webhook');
  return { status: 202, body: { sources, requested, revision } };
}

/** The sources every sync in this etcd follows (`followed/`); an unreadable record is left out. */
async function followedSources(store: Store): Promise<HookSource[]> {
  const { items } = await listDecoded(store, FOLLOWED, 'followed');
  return items.map(({ record }) => ({ name: record.source, repo: record.repo, branch: record.branch }));
}

/** The webhook secret: the file's text, trimmed; refused when others may read it, or when empty. */
export async function readWebhookSecret(file: string): Promise<string> {
  const secret = (await readSecretFile(file, 'the webhook secret file', 'EWEBHOOKSECRET')).toString('utf8').trim();
  if (secret === '') throw new InvalidInputError('EWEBHOOKSECRET', `the webhook secret file ${file} is empty`, { hint: 'write the secret the forge signs with into it' });
  return secret;
}
