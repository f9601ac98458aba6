// What berth's two etcd clients share: the options, the paging of a list, the words of a failed
// connect and the translation of etcd's errors. No etcd client library is imported here: the agent's
// client (etcd-http.ts) must load without etcd3, grpc-js and protobufjs.
import { BerthError, InvalidInputError, UnavailableError } from '../errors.js';
import type { Entry } from './store.js';
import { CompactedError, DEFAULT_MAX_REQUEST_BYTES } from './store.js';

/** How a store talks to its etcd. */
export interface EtcdStoreOptions {
  /** The etcd's --max-request-bytes (default 1.5 MiB, etcd's own default): txns are kept well under it. */
  maxRequestBytes?: number;
  /** Most keys one list page asks for (default 1,000). */
  pageKeys?: number;
  /** Bytes a list page aims at (default 1 MiB), well under the client's 4 MiB limit on one response. */
  pageBytes?: number;
  /** TLS to etcd (https:// endpoints): the CA that signed etcd's certificate, and a client certificate and key if etcd asks for one. */
  tls?: { ca: Buffer; cert?: Buffer; key?: Buffer };
  /** etcd's user/password auth. */
  auth?: { username: string; password: string };
}

export const CONNECT_TIMEOUT_MS = 5_000;
/** Bound on closing a watch or revoking a lease: a stop must not wait on an etcd that went away. */
export const CLOSE_TIMEOUT_MS = 1_000;
const PAGE_KEYS = 1_000;
const PAGE_BYTES = 1024 * 1024;
const FIRST_PAGE_KEYS = 100;
/** Pages of a list at the latest revision re-read from the start when a compaction overtook them. */
const LIST_RESTARTS = 3;

/** A key-value as a range returns it, before the store's prefix is taken off. */
export interface RawKv {
  key: Buffer;
  value: Buffer;
  modRevision: number;
  createRevision: number;
}

/** One page of a range: its keys, whether more follow, and the store's revision at the read. */
export interface RangePage {
  kvs: RawKv[];
  more: boolean;
  revision: number;
}

/** What one page asks for: keys from `from` (inclusive) to `end` (exclusive), at most `limit`, at `revision` if given. */
export interface PageRequest {
  from: Buffer;
  end: Buffer;
  limit: number;
  revision?: number;
}

/** The range end that covers every key starting with `prefix` (etcd's prefix end: the last byte below 0xff plus one). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] !== 0xff) {
      end[i] = (end[i] ?? 0) + 1;
      return end.subarray(0, i + 1);
    }
  }
  // Every byte 0xff: to the end of the keyspace.
  return Buffer.from([0]);
}

/**
 * A list of every key under `prefix` (a key with the store's root), in key order, at one revision,
 * read page by page through `range`: each page continues after the last key of the one before, all
 * at the revision of the first page (or `revision`). A list at the latest revision that a compaction
 * overtook between its pages is read again from the start.
 * NOTE: etcd has no byte limit on a range and clients refuse large responses (grpc-js: 4 MiB): the
 * page's key count follows the largest record seen so far, and shrinks when a response was refused.
 */
export async function listPaged(
  range: (page: PageRequest) => Promise<RangePage>,
  prefix: Buffer,
  revision: number | undefined,
  opts: Pick<EtcdStoreOptions, 'pageKeys' | 'pageBytes'>,
  entry: (kv: RawKv) => Entry,
): Promise<{ entries: Entry[]; revision: number }> {
  const pageKeys = Math.max(1, opts.pageKeys ?? PAGE_KEYS);
  const pageBytes = Math.max(1, opts.pageBytes ?? PAGE_BYTES);
  for (let restart = 0; ; restart++) {
    try {
      return await listPages(range, prefix, revision, pageKeys, pageBytes, entry);
    } catch (err) {
      if (!(err instanceof PagesCompactedError) || restart >= LIST_RESTARTS) throw err instanceof PagesCompactedError ? err.compacted : err;
    }
  }
}

async function listPages(
  range: (page: PageRequest) => Promise<RangePage>,
  prefix: Buffer,
  revision: number | undefined,
  pageKeys: number,
  pageBytes: number,
  entry: (kv: RawKv) => Entry,
): Promise<{ entries: Entry[]; revision: number }> {
  const end = prefixEnd(prefix);
  const entries: Entry[] = [];
  let at = revision;
  let headerRevision: number | undefined;
  let from = prefix;
  // A first page small enough that large records (ConfigMaps) cannot make it huge; then by bytes.
  let limit = Math.min(pageKeys, FIRST_PAGE_KEYS);
  let largest = 0;
  for (;;) {
    let res: RangePage;
    try {
      res = await range({ from, end, limit, ...(at === undefined ? {} : { revision: at }) });
    } catch (err) {
      if (err instanceof ResponseTooLargeError && limit > 1) {
        limit = smallerPage(limit, err);
        continue;
      }
      if (err instanceof CompactedError && revision === undefined && at !== undefined) throw new PagesCompactedError(err);
      throw err;
    }
    headerRevision ??= res.revision;
    at ??= headerRevision;
    for (const kv of res.kvs) {
      entries.push(entry(kv));
      largest = Math.max(largest, kv.key.length + kv.value.length);
    }
    const last = res.kvs.at(-1);
    if (!res.more || last === undefined) return { entries, revision: headerRevision };
    from = Buffer.concat([last.key, Buffer.from([0])]);
    limit = Math.max(1, Math.min(pageKeys, Math.floor(pageBytes / Math.max(largest, 1))));
  }
}

/** A response over a size limit; a smaller page will do. */
export class ResponseTooLargeError extends BerthError {}

/** A page's key count after `err` refused one of `limit` keys: scaled by what the limit was over, else halved. */
function smallerPage(limit: number, err: Error): number {
  const m = /\((\d+) vs\.? (\d+)\)/.exec(err.message);
  const [got, max] = [Number(m?.[1]), Number(m?.[2])];
  const scaled = got > 0 && max > 0 ? Math.floor((limit * max) / got / 2) : Math.floor(limit / 2);
  return Math.max(1, Math.min(scaled, limit - 1));
}

/** Internal: a later page of a list at the latest revision was compacted away. */
class PagesCompactedError extends Error {
  constructor(readonly compacted: CompactedError) {
    super(compacted.message);
  }
}

/** Why a first call failed, as one of the things a user can fix. */
export type ConnectFailure = 'auth-refused' | 'auth-missing' | 'tls' | 'unreachable';

/** The failure a connect's error message tells of (the client's own error classes are judged by the caller first). */
export function connectFailure(detail: string, tls: boolean): ConnectFailure {
  if (/authentication failed|invalid user ID or password/i.test(detail)) return 'auth-refused';
  if (/user name is empty|token is not provided|unauthenticated/i.test(detail)) return 'auth-missing';
  if (tls && /certificate|ssl|tls|handshake|self[- ]signed|verify/i.test(detail)) return 'tls';
  return 'unreachable';
}

/** A failed connect in words that name the flag to fix. */
export function connectError(endpoints: string[], tls: boolean, failure: ConnectFailure, cause: unknown): BerthError {
  const where = endpoints.join(',');
  const detail = cause instanceof Error ? cause.message : String(cause);
  switch (failure) {
    case 'auth-refused':
      return new InvalidInputError('EETCDAUTH', `etcd at ${where} refused the user name or password`, { hint: 'check --etcd-user and the password in --etcd-password-file', cause });
    case 'auth-missing':
      return new InvalidInputError('EETCDAUTH', `etcd at ${where} asks for a user and password`, { hint: 'pass --etcd-user and --etcd-password-file', cause });
    case 'tls':
      return new InvalidInputError('EETCDTLS', `the TLS handshake with etcd at ${where} failed (${firstLine(detail)})`, {
        hint: "check that --etcd-ca is the CA that signed etcd's certificate, and --etcd-cert/--etcd-key a client pair that etcd's --trusted-ca-file trusts",
        cause,
      });
    case 'unreachable': {
      const plain = !tls && endpoints.some((e) => e.startsWith('https:'));
      return new UnavailableError('EETCDUNREACHABLE', `cannot reach etcd at ${where}`, {
        hint: plain ? "pass --etcd-ca with the CA of etcd's certificate (and --etcd-cert/--etcd-key if etcd asks for a client certificate)" : 'start etcd there, or leave out --etcd to let `berth up` run its own',
        cause,
      });
    }
  }
}

const firstLine = (text: string): string => text.split('\n')[0]?.slice(0, 200) ?? '';

/**
 * Foreign errors stop here: compaction, unreachability and size limits become berth errors.
 * `tooLarge`: the client's own judgement that a response or request was over a size limit.
 */
export function translate(err: unknown, endpoints?: string[], tooLarge = false): Error {
  if (err instanceof BerthError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (tooLarge || /larger than max|request is too large|too large/i.test(message)) {
    return new ResponseTooLargeError('ETOOLARGE', `etcd: a request or response over the size limit: ${message}`, {
      hint: `berth keeps each request under 90 % of etcd's default --max-request-bytes (${DEFAULT_MAX_REQUEST_BYTES} bytes) and pages lists: run etcd with at least that --max-request-bytes`,
      cause: err,
    });
  }
  if (/compacted/i.test(message)) {
    return new CompactedError('ECOMPACTED', `etcd revision was compacted: ${message}`, { hint: 're-read at the latest seal', cause: err });
  }
  if (/unavailable|ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|socket hang up|deadline|No connection|no answer within/i.test(message)) {
    return new UnavailableError('EETCDUNREACHABLE', `cannot reach etcd${endpoints ? ` at ${endpoints.join(',')}` : ''}: ${message}`, {
      hint: 'check that etcd is running',
      cause: err,
    });
  }
  return new BerthError('EETCD', `etcd: ${message}`, { cause: err });
}

/** `p`, or a rejection after `ms` milliseconds. */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** Callbacks told once that a lease is lost. */
export type LostCallbacks = (() => void)[];

/**
 * Keep a lease alive by renewing it every `renewMs`, one renewal at a time; a TTL after the last
 * renewal etcd answered, the lease is lost whatever a renewal still in flight does: a partitioned
 * holder's call may hang far longer than the TTL, and what it holds (a node, a leadership) must be
 * given up on time. `renew` resolves false when etcd answered that the lease is gone.
 */
export function keepLease(ttlSeconds: number, renewMs: number, renew: () => Promise<boolean>, lost: () => void): { stop(): void } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let expiry: NodeJS.Timeout | undefined;
  const stop = (): void => {
    stopped = true;
    clearTimeout(timer);
    clearTimeout(expiry);
  };
  const lose = (): void => {
    if (stopped) return;
    stop();
    lost();
  };
  const expireByClock = (): void => {
    clearTimeout(expiry);
    expiry = setTimeout(lose, ttlSeconds * 1000);
    expiry.unref();
  };
  const once = async (): Promise<void> => {
    try {
      if (!(await renew())) return lose();
      if (!stopped) expireByClock();
    } catch {
      // An unanswered renewal is retried; the clock says when the lease is gone.
    }
    if (!stopped) schedule();
  };
  const schedule = (): void => {
    timer = setTimeout(() => void once(), renewMs);
    timer.unref();
  };
  expireByClock();
  schedule();
  return { stop };
}
