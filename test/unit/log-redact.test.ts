import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redactUrl } from '../../src/log.js';

const SECRET = 'hunter2-Zq81';

/** The JSON line a logger of berth writes for `fields`. */
function logged(fields: Record<string, unknown>): string {
  let out = '';
  const destination = new Writable({ write(chunk: Buffer, _enc, done) { out += chunk.toString(); done(); } });
  createLogger({ level: 'debug', destination }).debug(fields, 'message');
  return out;
}

describe("pino's redact paths: secrets never reach a log line", () => {
  it.each([
    ['a token', { token: SECRET }],
    ['a password', { password: SECRET }],
    ['an Authorization header', { authorization: `Bearer ${SECRET}` }],
    ["a request's Authorization header", { req: { headers: { authorization: `Bearer ${SECRET}` } } }],
    ['headers with a cookie', { headers: { cookie: `session=${SECRET}`, authorization: `Basic ${SECRET}` } }],
    ["a response's Set-Cookie", { res: { headers: { 'set-cookie': `session=${SECRET}` } } }],
    ['credentials', { credentials: { username: 'deploy', password: SECRET } }],
    ["a nested source's token", { forge: { token: SECRET } }],
    ["a container's environment", { container: { env: [{ name: 'API_KEY', value: SECRET }] } }],
    ['an environment', { env: { API_KEY: SECRET } }],
  ])('%s', (_name, fields) => {
    const line = logged(fields);
    expect(line).not.toContain(SECRET);
    expect(line).toContain('[redacted]');
  });

  it('keeps what is no secret', () => {
    expect(JSON.parse(logged({ source: 'web', tokenFile: '/etc/berth/api-token' }))).toMatchObject({ source: 'web', tokenFile: '/etc/berth/api-token', msg: 'message' });
  });

  it.each([
    ['https://deploy:hunter2-Zq81@git.example.com/team/web.git', 'https://[redacted]@git.example.com/team/web.git'],
    ['cannot reach http://x-access-token:hunter2-Zq81@127.0.0.1:9/r.git: ECONNREFUSED', 'cannot reach http://[redacted]@127.0.0.1:9/r.git: ECONNREFUSED'],
    ['https://git.example.com/team/web.git', 'https://git.example.com/team/web.git'],
  ])('redactUrl(%s)', (text, shown) => {
    expect(redactUrl(text)).toBe(shown);
  });
});
