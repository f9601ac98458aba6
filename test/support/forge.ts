import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a fake forge received. */
export interface ForgeCall {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

/**
 * A loopback stand-in for a forge's commit-status API, written from the forges' public docs: it
 * records every request, answers 201 to a status POST, keeps GitHub's and Gitea's statuses per commit
 * and answers their list (`GET …/commits/:sha/statuses`, `GET …/statuses/:sha`), newest first, and for GitLab keeps each (commit, name)'s
 * statuses, answers `GET …/repository/commits/:sha/statuses?name=` with them (newest first), and
 * refuses a status equal to the current pending or running one with GitLab's 400 "Cannot transition
 * status". `answer` overrides the status of the next POSTs (an outage or a refusal); `stop`/`start`
 * take it down and up on the same port.
 */
export interface FakeForge {
  url: string;
  calls: ForgeCall[];
  /** A status code every POST gets until reset (undefined: normal answers). */
  answer: number | undefined;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function startFakeForge(): Promise<FakeForge> {
  const gitlab = new Map<string, { id: number; status: string; name: string }[]>();
  const statuses = new Map<string, object[]>();
  let nextId = 1;
  let server: Server | undefined;
  let port = 0;
  const forge: FakeForge = {
    url: '',
    calls: [],
    answer: undefined,
    start: async () => {
      const s = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const url = new URL(req.url ?? '/', 'http://forge');
          const body: unknown = text === '' ? undefined : JSON.parse(text);
          forge.calls.push({ method: req.method ?? '', path: `${url.pathname}${url.search}`, headers: req.headers, body });
          const reply = (status: number, value: unknown): void => {
            res.writeHead(status, { 'content-type': 'application/json' });
            res.end(JSON.stringify(value));
          };
          const lab = /^\/api\/v4\/projects\/([^/]+)\/(?:repository\/commits\/([0-9a-f]+)\/statuses|statuses\/([0-9a-f]+))$/.exec(url.pathname);
          if (lab && req.method === 'GET') {
            const name = url.searchParams.get('name') ?? '';
            return reply(200, [...(gitlab.get(`${lab[2] ?? ''} ${name}`) ?? [])].reverse());
          }
          // GitHub `GET /repos/{o}/{r}/commits/{sha}/statuses`, Gitea `GET /repos/{o}/{r}/statuses/{sha}`: what was set, newest first.
          const hub = /^(\/api\/v[13]\/repos\/[^/]+\/[^/]+)\/(?:commits\/([0-9a-f]+)\/statuses|statuses\/([0-9a-f]+))$/.exec(url.pathname);
          if (hub && req.method === 'GET') return reply(200, [...(statuses.get(`${hub[1] ?? ''} ${hub[2] ?? hub[3] ?? ''}`) ?? [])].reverse());
          if (req.method !== 'POST') return reply(405, { message: 'method not allowed' });
          if (forge.answer !== undefined) return reply(forge.answer, { message: `answer ${forge.answer}` });
          if (lab) {
            const { state, name } = body as { state: string; name: string };
            const key = `${lab[3] ?? ''} ${name}`;
            const list = gitlab.get(key) ?? [];
            const current = list.at(-1)?.status;
            if (current === state && (state === 'pending' || state === 'running')) {
              const via = state === 'pending' ? 'enqueue' : 'run';
              return reply(400, { message: `Cannot transition status via :${via} from :${state} (Reason(s): Status cannot transition via "${via}")` });
            }
            list.push({ id: nextId++, status: state, name });
            gitlab.set(key, list);
            return reply(201, { id: nextId - 1, status: state, name });
          }
          const set = { id: nextId++, ...(body as object), ...(hub?.[1]?.startsWith('/api/v1') ? { status: (body as { state?: unknown }).state } : {}) };
          const key = `${hub?.[1] ?? ''} ${hub?.[3] ?? ''}`;
          statuses.set(key, [...(statuses.get(key) ?? []), set]);
          return reply(201, set);
        });
      });
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(port, '127.0.0.1', () => resolve());
      });
      port = (s.address() as AddressInfo).port;
      forge.url = `http://127.0.0.1:${port}`;
      server = s;
    },
    stop: async () => {
      const s = server;
      server = undefined;
      if (!s) return;
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
  await forge.start();
  return forge;
}
