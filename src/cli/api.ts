// `--listen` and `--token-file`: the API server of `berth api` and `berth up`.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseListen } from '../api/listen.js';
import { startApi, type ApiServer } from '../api/server.js';
import { loadOrCreateToken } from '../api/token.js';
import type { HookOptions } from '../api/webhooks.js';
import type { Logger } from '../log.js';
import type { Store } from '../store/index.js';
import { API_ENDPOINT_FILE } from './client.js';

/** Flags of the API server. */
export interface ApiFlags {
  listen: string;
  /** Default: `<data-dir>/api-token`. */
  tokenFile?: string;
  dataDir: string;
  /** `--webhook-secret-file`: serve the push webhooks. */
  webhookSecretFile?: string;
}

/** The token file the flags name: --token-file, else `api-token` in --data-dir. */
export const tokenFileOf = (flags: ApiFlags): string => path.resolve(flags.tokenFile ?? path.join(flags.dataDir, 'api-token'));

/**
 * Read (or create, mode 0600) the token, then listen; the log says where, and where the token is (never
 * the token). The address is left in `<data-dir>/api-endpoint` for the CLI, and removed at stop.
 */
export async function startApiFromFlags(flags: ApiFlags, store: Store, log: Logger, components?: () => Record<string, boolean>, hooks?: HookOptions): Promise<ApiServer> {
  const listen = parseListen(flags.listen);
  const file = tokenFileOf(flags);
  const { token, created } = await loadOrCreateToken(file);
  if (created) log.info({ tokenFile: file }, 'generated the API token (mode 0600)');
  const api = await startApi({ store, log, listen, token, ...(components ? { components } : {}), ...(hooks ? { hooks } : {}) });
  log.info({ url: api.url, tokenFile: file }, `API server listening on ${api.url}`);
  // The CLI on this machine finds this server through the data dir (as it finds the etcd of `berth up`).
  const endpoint = path.resolve(flags.dataDir, API_ENDPOINT_FILE);
  const reachable = api.url.replace('//0.0.0.0:', '//127.0.0.1:').replace('//[::]:', '//[::1]:');
  await mkdir(path.dirname(endpoint), { recursive: true, mode: 0o700 });
  await writeFile(endpoint, `${reachable}\n`);
  return {
    url: api.url,
    stop: async () => {
      await api.stop();
      // Another server may have taken the file over since: leave its address.
      if ((await readFile(endpoint, 'utf8').catch(() => '')).trim() === reachable) await rm(endpoint, { force: true });
    },
  };
}
