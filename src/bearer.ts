// The bearer token check, shared by the API server and the agents' log endpoints.
import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Whether an `Authorization` header carries `token` as a bearer token. Both sides are hashed first,
 * so the comparison takes the same time whatever the length or content of what was sent.
 */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '');
  const sent = match?.[1] ?? '';
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(sent), digest(token)) && match !== null;
}
