// The CLI's client of the API server: where it is (--server, BERTH_SERVER, the `api-endpoint` file a
// local `berth up` leaves in its data dir), the token (--token-file, BERTH_TOKEN, that data dir's
// api-token), JSON calls whose errors become one line, and server-sent events for --watch.
import { readFileSync } from 'node:fs';
import { readSecretFileSync } from '../secret-file.js';
import path from 'node:path';
import { ChannelRefusedError, connectChannels, type ChannelSocket } from '../channels.js';
import { BerthError, InvalidInputError, UnavailableError, UsageError, messageOf } from '../errors.js';
import { localEtcdEndpoint } from '../store/local-etcd.js';
import { DEFAULT_SERVER } from './choices.js';

/** The file in a data dir where `berth up` and `berth api` say where their API listens. */
export const API_ENDPOINT_FILE = 'api-endpoint';
/** Where `berth up` listens unless told otherwise (its --listen default). */
export { DEFAULT_SERVER };

/** Flags that say which API server to talk to. */
export interface ServerFlags {
  server?: string;
  tokenFile?: string;
  dataDir: string;
}

/** A client of one API server. */
export interface ApiClient {
  readonly url: string;
  get<T>(path: string, query?: Record<string, string | number | undefined>): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  /** The body of a GET as it comes (logs), until `signal` aborts. */
  stream(path: string, query: Record<string, string | number | undefined>, signal: AbortSignal): Promise<ReadableStream<Uint8Array>>;
  /** A channel socket (exec) at `path`; a refusal is the server's error, as for the other calls. */
  channels(path: string, query: URLSearchParams): Promise<ChannelSocket>;
  /** Each `snapshot` and `update` event of a `?watch=1` stream, until `signal` aborts; a stream that ends is opened again. */
  watch(path: string, query: Record<string, string | number | undefined>, onItems: (items: unknown[]) => void, signal: AbortSignal): Promise<void>;
}

/**
 * The server the flags and environment name, else the one a local `berth up` names in --data-dir, else
 * the default. With `direct` (the read commands): undefined when etcd is to be read instead, for --etcd
 * or a data dir that names only its etcd.
 */
export function serverFor(flags: ServerFlags & { etcd?: string }, direct = false, env: NodeJS.ProcessEnv = process.env): ApiClient | undefined {
  const given = flags.server ?? env.BERTH_SERVER;
  const dataDir = path.resolve(flags.dataDir);
  // The data dir's token goes only to the server that data dir names (or the default on this machine), never to a --server elsewhere.
  const localToken = (): string | undefined => readToken(path.join(dataDir, 'api-token'), false);
  const token = (local: boolean): string | undefined =>
    (flags.tokenFile !== undefined ? readToken(path.resolve(flags.tokenFile), true) : undefined) ?? (env.BERTH_TOKEN?.trim() || undefined) ?? (local ? localToken() : undefined);
  if (given !== undefined && given !== '') return client(checkUrl(given), token(false), 'check --server (or BERTH_SERVER)');
  if (direct && flags.etcd !== undefined) return undefined;
  const file = path.join(dataDir, API_ENDPOINT_FILE);
  const named = firstLine(file);
  if (named !== undefined) return client(checkUrl(named), token(true), `named in ${file}; is \`berth up\` still running? start it, or pass --server`);
  if (direct && localEtcdEndpoint(path.join(dataDir, 'etcd')) !== undefined) return undefined;
  return client(DEFAULT_SERVER, token(true), 'is `berth up` running? pass --server, or the --data-dir of a `berth up`');
}

/**
 * The API server the flags name (see serverFor), and the namespace of `pod`: --namespace when given,
 * else the one namespace that has a pod of this name (the API says when there are several).
 */
export async function podServer(flags: ServerFlags & { namespace?: string }, pod: string): Promise<{ api: ApiClient; namespace: string }> {
  const api = serverFor(flags);
  if (api === undefined) throw new Error('no API server');
  const namespace = flags.namespace ?? (await api.get<{ items: { namespace: string }[] }>('/api/v1/pods', { name: pod })).items[0]?.namespace;
  if (namespace === undefined) throw new InvalidInputError('ENOTFOUND', `pod "${pod}" not found`);
  return { api, namespace };
}

function client(url: string, token: string | undefined, hint: string): ApiClient {
  const headers = (json: boolean): Record<string, string> => ({
    accept: 'application/json',
    ...(json ? { 'content-type': 'application/json' } : {}),
    ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
  });
  const call = async (method: string, p: string, query: Record<string, string | number | undefined> = {}, body?: unknown, signal?: AbortSignal): Promise<Response> => {
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) search.set(k, String(v));
    const target = `${url}${p}${search.size > 0 ? `?${search}` : ''}`;
    let res: Response;
    try {
      res = await fetch(target, { method, headers: headers(body !== undefined), ...(body === undefined ? {} : { body: JSON.stringify(body) }), ...(signal ? { signal } : {}) });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new UnavailableError('EAPIUNREACHABLE', `cannot reach the berth API at ${url}: ${causeOf(err)}`, { hint, cause: err });
    }
    if (res.ok) return res;
    throw await errorOf(res);
  };
  return {
    url,
    get: async (p, query) => (await call('GET', p, query)).json() as Promise<never>,
    post: async (p, body) => (await call('POST', p, {}, body)).json() as Promise<never>,
    stream: async (p, query, signal) => {
      const res = await call('GET', p, query, undefined, signal);
      if (!res.body) throw new UnavailableError('EAPI', `the API answered ${p} with no body`);
      return res.body;
    },
    channels: async (p, query) => {
      try {
        return await connectChannels(`${url}${p}?${query}`, token);
      } catch (err) {
        if (err instanceof ChannelRefusedError) throw await errorOf(new Response(JSON.stringify({ code: err.code, message: err.message }), { status: err.status }));
        throw new UnavailableError('EAPIUNREACHABLE', `cannot reach the berth API at ${url}: ${messageOf(err)}`, { hint, cause: err });
      }
    },
    watch: async (p, query, onItems, signal) => {
      while (!signal.aborted) {
        const res = await call('GET', p, { ...query, watch: '1' }, undefined, signal).catch((err: unknown) => {
          if (signal.aborted) return undefined;
          throw err;
        });
        if (!res?.body) return;
        await readEvents(res.body, (event, data) => {
          if (event === 'snapshot' || event === 'update') onItems((JSON.parse(data) as { items: unknown[] }).items);
          else if (event === 'error') process.stderr.write(`berth: warning: ${(JSON.parse(data) as { message?: string }).message ?? data}\n`);
        }).catch((err: unknown) => {
          if (!signal.aborted) throw err;
        });
      }
    },
  };
}

/** Feed each server-sent event (`event:` and `data:` lines, a blank line after) to `on`. */
async function readEvents(body: ReadableStream<Uint8Array>, on: (event: string, data: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      if (data.length > 0) on(event, data.join('\n'));
    }
  }
}

/** An error answer as one line: the server's `{code, message}`, with the fix for a missing token. */
async function errorOf(res: Response): Promise<BerthError> {
  const text = await res.text();
  let body: { code?: unknown; message?: unknown } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    // Not berth's answer (a proxy's page): the status says enough.
  }
  const code = typeof body.code === 'string' ? body.code : `EHTTP${res.status}`;
  const message = typeof body.message === 'string' ? body.message : `the API answered ${res.status} ${res.statusText}`;
  if (res.status === 401) return new BerthError(code, message, { hint: 'pass --token-file <file> or set BERTH_TOKEN (`berth up` keeps its token in <data-dir>/api-token)' });
  if (res.status === 400) return new InvalidInputError(code, message);
  if (res.status >= 500) return new UnavailableError(code, message);
  return new BerthError(code, message);
}

function checkUrl(text: string): string {
  const url = text.trim().replace(/\/+$/, '');
  if (!/^https?:\/\/[^/\s]+$/.test(url)) {
    throw new UsageError('ESERVER', `--server must be http(s)://host:port, not "${text}"`, { hint: `e.g. ${DEFAULT_SERVER}` });
  }
  return url;
}

function firstLine(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').split('\n')[0]?.trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * A token file's token, refused when others may read it; one named by --token-file must be readable,
 * the data dir's may be absent (or unreadable: loopback reads need no token).
 */
function readToken(file: string, required: boolean): string | undefined {
  try {
    return readSecretFileSync(file, 'the token file', 'ETOKEN').toString('utf8').trim() || undefined;
  } catch (err) {
    const unreadable = err instanceof Error && err.cause !== undefined;
    if (!required && unreadable) return undefined;
    throw err;
  }
}

function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  return typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : messageOf(err);
}
