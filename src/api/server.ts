// The API server: the only importer of fastify. Holds no state of its own; every answer is read from etcd.
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { MAX_MESSAGE, relay, type ChannelSocket } from '../channels.js';
import { BerthError, messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import { syncRequestKey, type Store } from '../store/index.js';
import { errorBody } from './errors.js';
import type { ListenAddress } from './listen.js';
import { createMetrics } from './metrics.js';
import { cordonNode, uncordonNode } from './nodes-control.js';
import { readCommitStory, requestRollback, resume, suspend, suspendAt } from './control.js';
import { DASHBOARD_HEADERS, loadDashboard, type Asset } from './dashboard.js';
import { fetchLogs, openExec, type ExecQuery, type LogsQuery } from './logs.js';
import { RESOURCES, sourceExists, type ReadQuery } from './resources.js';
import { DESCRIBE_RESOURCES } from './describe-read.js';
import { streamResource } from './sse.js';
import { bearerMatches, isLoopback } from './token.js';
import { HOOK_BODY_LIMIT, receiveHook, type HookOptions } from './webhooks.js';

/** Options of one API server. */
export interface ApiOptions {
  store: Store;
  log: Logger;
  listen: ListenAddress;
  /** The bearer token writes (and reads from other machines) must carry. */
  token: string;
  /** Within `berth up`: each component and whether it runs, for /readyz. */
  components?: () => Record<string, boolean>;
  /** Within `berth up --webhook-secret-file`: POST /hooks/<forge> requests the sync of the sources a push concerns. */
  hooks?: HookOptions;
  now?: () => Date;
  /** How long a rollback waits for the source's sync to push its commit (default ROLLBACK_WAIT_MS). */
  rollbackWaitMs?: number;
}

/** A listening API server. */
export interface ApiServer {
  /** e.g. `http://127.0.0.1:7420` (the real port when 0 was asked for). */
  url: string;
  stop(): Promise<void>;
}

/** Largest request body: the write endpoints take none, or small JSON. */
const BODY_LIMIT = 64 * 1024;
/** /readyz waits this long for etcd. */
const ETCD_CHECK_MS = 2_000;

const NAME = { type: 'string', minLength: 1, maxLength: 253, pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$' } as const;
const SOURCE = { type: 'string', minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9]([-A-Za-z0-9._]*[A-Za-z0-9])?$' } as const;
const PARAMS: Record<keyof Omit<ReadQuery, 'watch'>, object> = {
  namespace: NAME,
  name: NAME,
  source: SOURCE,
  limit: { type: 'integer', minimum: 1, maximum: 100_000 },
};

const SOURCE_PARAMS = { type: 'object', properties: { name: SOURCE }, required: ['name'], additionalProperties: false } as const;
/** A commit id or its start (at least 4 hex digits, as git accepts). */
const COMMIT = { type: 'string', pattern: '^[0-9a-fA-F]{4,64}$' } as const;
const NO_QUERY = { type: 'object', additionalProperties: false } as const;

/** Paths open to anyone (they tell nothing but up/ready). */
const OPEN = new Set(['/healthz', '/readyz']);
/** exec runs commands in a pod: a write, whatever its method (a WebSocket opens with a GET). */
const EXEC_PATH = /^\/api\/v1\/pods\/[^/]+\/[^/]+\/exec$/;

/** Build the app and listen. A port already in use fails the start with EADDRINUSE's one line. */
export async function startApi(opts: ApiOptions): Promise<ApiServer> {
  const app = buildApp(opts, await loadDashboard());
  try {
    await app.listen({ host: opts.listen.host, port: opts.listen.port });
  } catch (err) {
    await app.close().catch(() => undefined);
    throw new BerthError('ELISTEN', `the API server cannot listen on ${opts.listen.host}:${opts.listen.port}: ${messageOf(err)}`, {
      hint: 'pick another --listen', cause: err,
    });
  }
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { url: `http://${host}:${address.port}`, stop: () => app.close() };
}

function buildApp(opts: ApiOptions, dashboard: readonly Asset[]): FastifyInstance {
  const { store, token } = opts;
  const log = opts.log.child({ component: 'api' });
  const now = opts.now ?? (() => new Date());
  const metrics = createMetrics();
  const open = new Set<() => void>();
  const app = Fastify({
    bodyLimit: BODY_LIMIT,
    // A client that sends its request slowly (headers or body) is cut off; responses (streams) are not bounded.
    requestTimeout: 10_000,
    // Source names run to 253 characters (the schema's bound), more than the default 100.
    routerOptions: { maxParamLength: 256 },
    // Open event streams are never idle: close them too, so a stop takes no longer than a request.
    forceCloseConnections: true,
    // Unknown query parameters are an error, not silently dropped; "1" and "true" are true.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, allErrors: false } },
  });

  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    // Webhooks carry the forge's signature instead of the token (webhooks.ts checks it).
    if (OPEN.has(path) || path.startsWith('/hooks/')) return;
    const write = (req.method !== 'GET' && req.method !== 'HEAD') || EXEC_PATH.test(path);
    if (!write && isLoopback(req.socket.remoteAddress)) return;
    if (bearerMatches(req.headers.authorization, token)) return;
    const message = EXEC_PATH.test(path)
      ? 'exec needs the API token: Authorization: Bearer <the token in --token-file>'
      : write
      ? 'writes need the API token: Authorization: Bearer <the token in --token-file>'
      : 'reads from another machine need the API token: Authorization: Bearer <the token in --token-file>';
    log.info({ method: req.method, path: path.slice(0, 200), from: req.socket.remoteAddress }, 'refused a request without a valid token');
    await reply.code(401).header('www-authenticate', 'Bearer realm="berth"').send({ code: 'EUNAUTHORIZED', message });
  });
  app.addHook('onResponse', async (req, reply) => {
    metrics.observe(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
  });
  app.addHook('preClose', async () => {
    for (const end of [...open]) end();
  });
  app.setErrorHandler(async (err, req, reply) => {
    const { status, body } = errorBody(err);
    if (status >= 500) log.error({ err: messageOf(err), method: req.method, route: req.routeOptions.url }, 'API request failed');
    await reply.code(status).send(body);
  });
  app.setNotFoundHandler(async (req, reply) => {
    await reply.code(404).send({ code: 'ENOTFOUND', message: `no such endpoint: ${req.method} ${(req.url.split('?')[0] ?? '').slice(0, 200)}` });
  });

  // The dashboard: a read like any other (open on loopback, the token from elsewhere).
  for (const asset of dashboard) {
    app.get(asset.path, { schema: { querystring: NO_QUERY } }, async (_req, reply) => {
      await reply.headers(DASHBOARD_HEADERS).type(asset.type).send(asset.body);
    });
  }
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    let etcd = 'ok';
    try {
      await bounded(store.revision(), ETCD_CHECK_MS);
    } catch (err) {
      etcd = messageOf(err);
    }
    const components = opts.components?.() ?? {};
    const ready = etcd === 'ok' && Object.values(components).every(Boolean);
    await reply.code(ready ? 200 : 503).send({ ready, etcd, components });
  });
  app.get('/metrics', async (_req, reply) => {
    const { contentType, text } = await metrics.render(store);
    await reply.type(contentType).send(text);
  });

  for (const resource of [...RESOURCES, ...DESCRIBE_RESOURCES]) {
    const properties: Record<string, object> = { watch: { type: 'string', enum: ['0', '1', 'true', 'false'] } };
    for (const p of resource.params) properties[p] = PARAMS[p];
    app.get<{ Querystring: ReadQuery }>(
      `/api/v1/${resource.path}`,
      { schema: { querystring: { type: 'object', properties, additionalProperties: false } } },
      async (req, reply) => {
        const q = req.query;
        const from = await store.revision();
        const listing = await resource.read(store, q, now());
        if (listing.skipped.length > 0) log.warn({ resource: resource.path, skipped: listing.skipped }, 'records that do not decode were left out');
        if (q.watch !== '1' && q.watch !== 'true') return { items: listing.items, ...(listing.skipped.length > 0 ? { skipped: listing.skipped } : {}) };
        reply.hijack();
        streamResource(reply.raw, resource, q, from, listing, { store, log, now, open });
        return reply;
      },
    );
  }

  const { hooks } = opts;
  if (hooks) {
    void app.register(async (scope) => {
      // The signature covers the raw body: read it as bytes, whatever its type says.
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: HOOK_BODY_LIMIT }, (_req, body, done) => done(null, body));
      scope.post<{ Params: { forge: string } }>('/hooks/:forge', async (req, reply) => {
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const answer = await receiveHook(hooks, req.params.forge, req.headers, body, store, now(), log);
        await reply.code(answer.status).send(answer.body);
      });
    });
  }

  app.post<{ Params: { name: string } }>(
    '/api/v1/sources/:name/sync',
    { schema: { params: { type: 'object', properties: { name: SOURCE }, required: ['name'] } } },
    async (req, reply) => {
      const { name } = req.params;
      if (!(await sourceExists(store, name))) {
        throw new BerthError('ENOTFOUND', `source "${name}" not found`, { hint: 'list the sources with GET /api/v1/sources' });
      }
      // Components talk only through etcd: the source's sync watches this key and looks at its branch.
      const requested = now().toISOString();
      const { revision } = await store.commit({ put: [{ key: syncRequestKey(name), value: JSON.stringify({ requested }) }] });
      log.info({ source: name }, 'sync requested through the API');
      await reply.code(202).send({ source: name, requested, revision });
    },
  );
  // Suspend (with a commit: pinned on it) and resume: the source's key in suspended/, which its sync watches.
  app.post<{ Params: { name: string }; Body: { commit?: string } | undefined }>(
    '/api/v1/sources/:name/suspend',
    { schema: { params: SOURCE_PARAMS, querystring: NO_QUERY, body: { type: ['object', 'null'], properties: { commit: COMMIT }, additionalProperties: false } } },
    async (req) => {
      const { name } = req.params;
      const commit = req.body?.commit;
      const answer = commit === undefined ? await suspend(store, name, now()) : await suspendAt(store, name, commit, now());
      log.info({ source: name, changed: answer.changed, ...(commit === undefined ? {} : { commit }) }, 'suspend requested through the API');
      return answer;
    },
  );
  app.post<{ Params: { name: string } }>('/api/v1/sources/:name/resume', { schema: { params: SOURCE_PARAMS, querystring: NO_QUERY } }, async (req) => {
    const answer = await resume(store, req.params.name);
    log.info({ source: req.params.name, changed: answer.changed }, 'resume requested through the API');
    return answer;
  });
  // Cordon, drain, uncordon: the node's key in cordons/, which the scheduler and the controller watch.
  const NODE_PARAMS = { type: 'object', properties: { name: NAME }, required: ['name'], additionalProperties: false } as const;
  for (const verb of ['cordon', 'drain', 'uncordon'] as const) {
    app.post<{ Params: { name: string } }>(`/api/v1/nodes/:name/${verb}`, { schema: { params: NODE_PARAMS, querystring: NO_QUERY } }, async (req) => {
      const { name } = req.params;
      const answer = verb === 'uncordon' ? await uncordonNode(store, name) : await cordonNode(store, name, verb === 'drain', now());
      log.info({ node: name, changed: answer.changed }, `${verb} requested through the API`);
      return answer;
    });
  }
  // A rollback is a commit on the branch, made and pushed by the source's sync: the answer waits for it.
  app.post<{ Params: { name: string }; Body: { commit: string } | { to: string } }>(
    '/api/v1/sources/:name/rollback',
    {
      schema: {
        params: SOURCE_PARAMS, querystring: NO_QUERY,
        body: { type: 'object', properties: { commit: COMMIT, to: COMMIT }, minProperties: 1, maxProperties: 1, additionalProperties: false },
      },
    },
    async (req) => {
      const ask = 'to' in req.body ? { mode: 'to' as const, commit: req.body.to } : { mode: 'revert' as const, commit: req.body.commit };
      log.info({ source: req.params.name, ...ask }, 'rollback requested through the API');
      return requestRollback(store, req.params.name, ask, now(), opts.rollbackWaitMs);
    },
  );
  app.get<{ Params: { namespace: string; name: string }; Querystring: LogsQuery }>(
    '/api/v1/pods/:namespace/:name/logs',
    {
      schema: {
        params: { type: 'object', properties: { namespace: NAME, name: NAME }, required: ['namespace', 'name'], additionalProperties: false },
        querystring: {
          type: 'object', additionalProperties: false,
          properties: { container: NAME, tail: { type: 'integer', minimum: 0, maximum: 1_000_000 }, since: { type: 'integer', minimum: 0, maximum: 315_360_000 }, follow: { type: 'string', enum: ['0', '1', 'true', 'false'] }, previous: { type: 'string', enum: ['0', '1', 'true', 'false'] } },
        },
      },
    },
    async (req, reply) => {
      // The agent's request ends with the client's.
      const abort = new AbortController();
      reply.raw.on('close', () => abort.abort());
      const upstream = await fetchLogs(store, token, req.params.namespace, req.params.name, req.query, abort.signal);
      reply.code(upstream.status).type(upstream.type);
      return upstream.body ? reply.send(Readable.fromWeb(upstream.body as Parameters<typeof Readable.fromWeb>[0])) : reply.send('');
    },
  );
  // exec: a WebSocket of numbered channels (src/channels.ts), opened to the agent before the client's is
  // accepted, so a refusal is an HTTP answer; then each message is relayed unchanged both ways.
  void app.register(websocket, { options: { maxPayload: MAX_MESSAGE } });
  const upstreams = new WeakMap<FastifyRequest, ChannelSocket>();
  void app.register(async (scope) => {
    scope.get<{ Params: { namespace: string; name: string }; Querystring: ExecQuery }>(
      '/api/v1/pods/:namespace/:name/exec',
      {
        websocket: true,
        schema: {
          params: { type: 'object', properties: { namespace: NAME, name: NAME }, required: ['namespace', 'name'], additionalProperties: false },
          querystring: {
            type: 'object', additionalProperties: false, required: ['command'],
            properties: {
              container: NAME,
              command: { anyOf: [{ type: 'string', maxLength: 16_384 }, { type: 'array', minItems: 1, maxItems: 256, items: { type: 'string', maxLength: 16_384 } }] },
              stdin: { type: 'string', enum: ['0', '1'] },
              tty: { type: 'string', enum: ['0', '1'] },
            },
          },
        },
        preHandler: async (req) => {
          upstreams.set(req, await openExec(store, token, req.params.namespace, req.params.name, req.query));
          log.info({ namespace: req.params.namespace, pod: req.params.name, from: req.socket.remoteAddress }, 'exec through the API');
        },
      },
      (socket, req) => {
        const upstream = upstreams.get(req);
        if (upstream) relay(socket, upstream);
        else socket.close(1011);
      },
    );
  });
  app.get<{ Params: { name: string; commit: string } }>(
    '/api/v1/sources/:name/commits/:commit',
    { schema: { params: { type: 'object', properties: { name: SOURCE, commit: COMMIT }, required: ['name', 'commit'], additionalProperties: false }, querystring: NO_QUERY } },
    async (req) => readCommitStory(store, req.params.name, req.params.commit, now()),
  );
  return app;
}

/** `p`, or a rejection once `ms` have passed. */
async function bounded<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
