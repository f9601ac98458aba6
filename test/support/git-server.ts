import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { searchPath } from './process.js';

/** A smart-HTTP git server for tests. */
export interface GitServerHandle {
  /** `http://127.0.0.1:<port>`; a bare repo `<root>/x.git` is at `<url>/x.git`. */
  url: string;
  stop(): Promise<void>;
}

/** What a git server asks of its clients. */
export interface GitServerOptions {
  /**
   * HTTP basic auth for every request, as a private repository on a forge: without the right
   * `Authorization` header, 401 with `WWW-Authenticate: Basic`; with it, the CGI runs as REMOTE_USER.
   */
  basicAuth?: { username: string; password: string };
  /** Listen on this port (e.g. to come back where it was after an outage); default: a free one. */
  port?: number;
}

/**
 * Serve every bare repository under `root` over smart HTTP (fetch and push)
 * on 127.0.0.1, by running `git http-backend` as a CGI per request.
 * isomorphic-git cannot fetch from paths or file:// URLs, so tests go through this.
 */
export async function startGitServer(root: string, opts: GitServerOptions = {}): Promise<GitServerHandle> {
  const children = new Set<ChildProcess>();
  const server = createServer((req, res) => {
    const user = opts.basicAuth ? authorized(req, opts.basicAuth) : '';
    if (user === undefined) {
      req.resume();
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="berth-test"', 'Content-Type': 'text/plain' });
      res.end('authentication required\n');
      return;
    }
    serveCgi(root, req, res, children, user);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      for (const child of children) child.kill('SIGKILL');
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The user name of a request that carries exactly `expected`'s basic credentials; undefined otherwise. */
function authorized(req: IncomingMessage, expected: { username: string; password: string }): string | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (!m?.[1]) return undefined;
  const given = Buffer.from(m[1], 'base64').toString('utf8');
  return given === `${expected.username}:${expected.password}` ? expected.username : undefined;
}

function serveCgi(root: string, req: IncomingMessage, res: ServerResponse, children: Set<ChildProcess>, user: string): void {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const header = (name: string): string | undefined => {
    const value = req.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  };
  const env: NodeJS.ProcessEnv = {
    PATH: searchPath(),
    HOME: process.env.HOME,
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    // Config for every repo served, however a test created it: accept pushes
    // (http-backend refuses them without REMOTE_USER otherwise) and never start
    // a background gc after a push (it repacks refs and objects mid-test).
    GIT_CONFIG_COUNT: '2',
    GIT_CONFIG_KEY_0: 'http.receivepack',
    GIT_CONFIG_VALUE_0: 'true',
    GIT_CONFIG_KEY_1: 'gc.auto',
    GIT_CONFIG_VALUE_1: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GATEWAY_INTERFACE: 'CGI/1.1',
    SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
    REQUEST_METHOD: req.method ?? 'GET',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
  };
  const optional: [string, string | undefined][] = [
    ['CONTENT_TYPE', header('content-type')],
    ['CONTENT_LENGTH', header('content-length')],
    ['GIT_PROTOCOL', header('git-protocol')],
    ['HTTP_CONTENT_ENCODING', header('content-encoding')],
  ];
  for (const [name, value] of optional) if (value !== undefined) env[name] = value;
  if (user !== '') {
    env.REMOTE_USER = user;
    env.AUTH_TYPE = 'Basic';
  }

  const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  const fail = (message: string): void => {
    if (res.writableEnded) return;
    if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
    res.end(message);
  };
  child.once('error', (error) => fail(`git http-backend: ${error.message}`));

  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // http-backend may exit (e.g. 403) before reading the whole request body.
  child.stdin.on('error', () => undefined);
  req.pipe(child.stdin);
  res.on('close', () => {
    if (!res.writableFinished) child.kill('SIGKILL');
  });

  // The CGI response is a header block (Status:, Content-Type:, ...) and a blank line, then the body.
  let head = Buffer.alloc(0);
  let inBody = false;
  const readHead = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    const end = findHeaderEnd(head);
    if (end === undefined) return;
    inBody = true;
    child.stdout.off('data', readHead);
    const { status, headers } = parseCgiHeaders(head.subarray(0, end.start).toString('latin1'));
    res.writeHead(status, headers);
    res.write(head.subarray(end.bodyStart));
    child.stdout.pipe(res); // the rest streams, with backpressure
  };
  child.stdout.on('data', readHead);
  child.once('close', (code) => {
    if (!inBody) fail(`git http-backend exited ${code} without a response: ${stderr}`);
  });
}

function findHeaderEnd(buffer: Buffer): { start: number; bodyStart: number } | undefined {
  const crlf = buffer.indexOf('\r\n\r\n');
  const lf = buffer.indexOf('\n\n');
  if (crlf !== -1 && (lf === -1 || crlf < lf)) return { start: crlf, bodyStart: crlf + 4 };
  if (lf !== -1) return { start: lf, bodyStart: lf + 2 };
  return undefined;
}

function parseCgiHeaders(block: string): { status: number; headers: Record<string, string> } {
  let status = 200;
  const headers: Record<string, string> = {};
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon === -1) continue;
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 500;
    else headers[name] = value;
  }
  return { status, headers };
}
