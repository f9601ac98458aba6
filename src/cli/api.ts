// `--listen` and `--token-file`: the API server of `berth api` and `berth up`.
import path from 'node:path';
import { parseListen } from '../api/listen.js';
import { startApi, type ApiServer } from '../api/server.js';
import { loadOrCreateToken } from '../api/token.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';

/** Flags of the API server. */
export interface ApiFlags {
  listen: string;
  /** Default: `<data-dir>/api-token`. */
  tokenFile?: string;
  dataDir: string;
}

/** The token file the flags name: --token-file, else `api-token` in --data-dir. */
export const tokenFileOf = (flags: ApiFlags): string => path.resolve(flags.tokenFile ?? path.join(flags.dataDir, 'api-token'));

/** Read (or create, mode 0600) the token, then listen; the log says where, and where the token is (never the token). */
export async function startApiFromFlags(flags: ApiFlags, store: Store, log: Logger, components?: () => Record<string, boolean>): Promise<ApiServer> {
  const listen = parseListen(flags.listen);
  const file = tokenFileOf(flags);
  const { token, created } = await loadOrCreateToken(file);
  if (created) log.info({ tokenFile: file }, 'generated the API token (mode 0600)');
  const api = await startApi({ store, log, listen, token, ...(components ? { components } : {}) });
  log.info({ url: api.url, tokenFile: file }, `API server listening on ${api.url}`);
  return api;
}
