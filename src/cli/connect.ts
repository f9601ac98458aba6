// How the read commands read: through the API server (--server, BERTH_SERVER, or the one a local
// `berth up` names in --data-dir), or from etcd directly with --etcd (or a data dir that names only its etcd).
import path from 'node:path';
import { UnavailableError } from '../errors.js';
import { resourceAt, type Listing, type ReadQuery, type Resource } from '../api/resources.js';
import { EtcdStore, localEtcdEndpoint, type Store } from '../store/index.js';
import { serverFor } from './client.js';
import { etcdSecurityFor, type EtcdSecurityFlags } from './etcd-security.js';
import type { OutputFormat } from './format.js';

/** Flags of every read command (get, history, events, status). */
export interface ReadFlags extends EtcdSecurityFlags {
  server?: string;
  tokenFile?: string;
  etcd?: string;
  dataDir: string;
  prefix: string;
  logLevel: string;
  output: OutputFormat;
}

const DEFAULT_ETCD = 'http://127.0.0.1:2379';

/** Open the store the flags name, with a one-line error whose hint fits where the endpoint came from. */
export async function openStore(flags: Omit<ReadFlags, 'output'>): Promise<Store> {
  const given = flags.etcd?.split(',').map((s) => s.trim()).filter(Boolean) ?? [];
  // `berth up` runs its etcd under <data-dir>/etcd and leaves its URL in the file `endpoint` there.
  const etcdDir = path.resolve(flags.dataDir, 'etcd');
  const local = given.length > 0 ? undefined : localEtcdEndpoint(etcdDir);
  const endpoints = given.length > 0 ? given : [local ?? DEFAULT_ETCD];
  const security = await etcdSecurityFor(flags, endpoints, flags.dataDir);
  try {
    return await EtcdStore.connect(endpoints, flags.prefix, security);
  } catch (err) {
    if (!(err instanceof UnavailableError) || err.code !== 'EETCDUNREACHABLE') throw err;
    const where = `cannot reach etcd at ${endpoints.join(',')}`;
    // An https:// etcd reached without certificates: the store's hint already names --etcd-ca.
    const plainToTls = security.tls === undefined && endpoints.some((e) => e.startsWith('https:'));
    if (given.length > 0) throw new UnavailableError(err.code, where, { hint: plainToTls ? err.hint : 'start etcd there, or check --etcd', cause: err });
    if (local !== undefined) {
      throw new UnavailableError(err.code, `${where} (named in ${path.join(etcdDir, 'endpoint')})`, {
        hint: 'is `berth up` still running? start it, or pass --etcd',
        cause: err,
      });
    }
    throw new UnavailableError(err.code, where, { hint: 'is `berth up` running? pass --etcd or --data-dir', cause: err });
  }
}

/** Open the store, run `fn`, close the store. */
export async function withStore<T>(flags: Omit<ReadFlags, 'output'>, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(flags);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** Tell the user about stored values a read skipped (unless --log-level is error or silent). */
export function warnSkipped(flags: Omit<ReadFlags, 'output'>, skipped: readonly string[]): void {
  if (flags.logLevel === 'error' || flags.logLevel === 'fatal' || flags.logLevel === 'silent') return;
  for (const s of skipped) process.stderr.write(`berth: warning: ${s}\n`);
}

/**
 * The rows of the read endpoint `path` (sources, pods, history …), from the API server, or (with
 * --etcd, or a data dir whose `berth up` names only its etcd) read from etcd by the same code the server runs.
 */
export async function readResource(flags: Omit<ReadFlags, 'output'>, resource: string, q: Omit<ReadQuery, 'watch'>, local: Resource = resourceAt(resource)): Promise<Listing> {
  const api = serverFor(flags, true);
  if (api === undefined) return withStore(flags, (store) => local.read(store, q, new Date()));
  const answer = await api.get<{ items: unknown[]; skipped?: string[] }>(`/api/v1/${resource}`, { ...q });
  return { items: answer.items, skipped: answer.skipped ?? [] };
}
