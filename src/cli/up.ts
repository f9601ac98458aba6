import os from 'node:os';
import path from 'node:path';
import { redactUrl, type Logger } from '../log.js';
import { loggerFor, withProgress, type LogFlags } from './logger.js';
import { readSeal, startElection, type Store } from '../store/index.js';
import { GitSource, SOURCE_FIELDS, atField, atFieldAsync, chooseReporter, credentialProvider, readConfig, readKeyring, startSync, GitNotesReporter, MAX_HISTORY_LIMIT, type StatusChoice, type SyncOptions } from '../sync/index.js';
import { UsageError } from '../errors.js';
import { startController } from '../controller/index.js';
import { startScheduler } from '../scheduler/index.js';
import { DockerRuntime, metered, startAgent } from '../agent/index.js';
import { startNodeServer } from '../agent/node-server.js';
import { limitsFromFlags, type SizeFlags } from './limits.js';
import { parseDuration } from './duration.js';
import { runStack } from './stack.js';
import { connectStore } from './etcd-connect.js';
import type { EtcdSecurityFlags } from './etcd-security.js';
import { agentFlags } from './node-agent.js';
import { startApiFromFlags, tokenFileOf, type ApiFlags } from './api.js';
import { loadOrCreateToken } from '../api/token.js';
import { parseListen } from '../api/listen.js';
import { readWebhookSecret } from '../api/webhooks.js';
import { startMetricsServer } from '../metrics-server.js';

/** Flags every component takes. */
export interface ConnectionFlags extends EtcdSecurityFlags, LogFlags {
  etcd?: string;
  prefix: string;
  docker?: string;
  /** `--metrics-listen host:port` (sync, controller, scheduler alone): serve this process's /metrics there. */
  metricsListen?: string;
}

/** Flags of the controller (`berth controller`, `berth up`). */
export interface ControllerFlags {
  /** `--node-grace`: how long a node may be NotReady before its pods move. */
  nodeGrace: string;
}

/** The controller's options from its flags. */
function controllerFlags(flags: ControllerFlags): { nodeGraceMs: number } {
  return { nodeGraceMs: parseDuration(flags.nodeGrace, '--node-grace') };
}

/** Flags of `berth up` (and of the components that need a source or a node). */
export interface UpFlags extends ConnectionFlags, ApiFlags, SizeFlags, ControllerFlags {
  /** Absent with --config. */
  repo?: string;
  /** `--config <file>`: several sources from a file instead of the source flags. */
  config?: string;
  /** `--history-limit <n>`: history records kept per source. */
  historyLimit?: string;
  /** The flags given on the command line (long names), to refuse source flags beside --config. */
  given?: string[];
  branch: string;
  path: string;
  repoCredentialsFile?: string;
  verifyCommits?: string;
  source: string;
  interval: string;
  skipKind: string[];
  /** `--allow-plain-secrets`: Secrets not encrypted with sops are applied, not refused. */
  allowPlainSecrets?: boolean;
  /** `--age-key-file`: the age identities the agent decrypts this node's pods' Secrets with (mode 0600). */
  ageKeyFile?: string;
  /** `--status`, repeatable. */
  status: StatusChoice[];
  forgeUrl?: string;
  forgeTokenFile?: string;
  publicUrl?: string;
  statusContextSuffix?: string;
  /** `--auto-revert`. */
  autoRevert?: boolean;
  dataDir: string;
  node?: string;
  hostIp: string;
  /** `--address`: the node's address for other nodes. */
  address?: string;
  podNetwork: string;
  sandboxImage: string;
  serviceImage: string;
  /** `--label key=value`, repeated. */
  label: string[];
  /** `--registry-auth-file`: a Docker config.json with the registries' credentials. */
  registryAuthFile?: string;
  /** `--allow rule,…`, repeated: what only the node's operator may allow. */
  allow: string[];
  /** `--node-lease-ttl`, `--node-lease-renew`: how the agent holds its node's lease. */
  nodeLeaseTtl: string;
  nodeLeaseRenew: string;
  /** false with `--no-self-fence`: the pods keep running when the node's lease expires. */
  selfFence: boolean;
}


/** `berth up`: every component in one process; without --etcd, its own etcd under --data-dir. */
export async function runUp(flags: UpFlags): Promise<never> {
  const log = loggerFor(flags);
  return runStack(log, async (stack) => {
    const { stops } = stack;
    // The cheap checks first, so a wrong flag never leaves an etcd behind.
    const agentOpts = await agentFlags(flags);
    const controllerOpts = controllerFlags(flags);
    parseListen(flags.listen);
    const syncs = await syncOptions(flags, log);
    const hooks = flags.webhookSecretFile === undefined ? undefined : {
      secret: await readWebhookSecret(flags.webhookSecretFile),
      sources: syncs.map((s) => ({ name: s.source, repo: s.git.followed.repo, branch: s.git.followed.branch })),
    };
    const runtime = metered(new DockerRuntime({ docker: flags.docker }));
    await runtime.ping();
    let etcd = { endpoints: [] as string[], own: false };
    const store = await connectStore(flags, stack, true, (e) => (etcd = e));
    const node = flags.node ?? os.hostname();
    // /readyz says ready once every component has started, and no longer once one is stopping.
    const running: Record<string, boolean> = { sync: false, controller: false, scheduler: false, agent: false };
    const track = (name: string, stop: () => Promise<void>): (() => Promise<void>) => {
      running[name] = true;
      return async () => {
        running[name] = false;
        await stop();
      };
    };
    const api = await startApiFromFlags(flags, store, log, () => ({ ...running }), hooks);
    stops.push(api.stop);
    stops.push(track('sync', await startSyncs(syncs, store, log)));
    stops.push(track('controller', await elected(store, log, 'controller', () => startController({ store, log, ...controllerOpts }))));
    stops.push(track('scheduler', await elected(store, log, 'scheduler', () => startScheduler({ store, log }))));
    stops.push(track('agent', (await startAgent({ store, runtime, node, log, ...agentOpts })).stop));
    // `berth logs`: this agent serves its pods' logs on loopback with the API's token; the API server proxies to it.
    const { token } = await loadOrCreateToken(tokenFileOf(flags));
    stops.push((await startNodeServer({ store, log, node, token, listen: { host: '127.0.0.1', port: 0 }, ...(flags.docker === undefined ? {} : { docker: flags.docker }) })).stop);
    // The start-up's summary: what is followed and at which commit, the etcd, the node, where to look.
    const followed = await Promise.all(syncs.map(async (s) => {
      const sealed = await readSeal(store, s.source);
      return { source: s.source, repo: redactUrl(s.git.followed.repo), branch: s.git.followed.branch, ...(sealed ? { commit: sealed.seal.commit } : {}) };
    }));
    const where = followed.map((f) => `${f.source}: ${f.repo} ${f.branch}${f.commit ? ` at ${f.commit.slice(0, 7)}` : ''}`).join('; ');
    log.info(
      { sources: followed, etcd: etcd.endpoints, ownEtcd: etcd.own, node, api: api.url, dashboard: `${api.url}/` },
      `berth is up: ${where}; etcd ${etcd.endpoints.join(',')}${etcd.own ? ' (its own)' : ''}; node ${node}; API and dashboard on ${api.url}/`,
    );
  });
}

/** One component alone, against an existing etcd (default http://127.0.0.1:2379). */
export async function runComponent(component: 'sync' | 'controller' | 'scheduler' | 'api', flags: UpFlags | ConnectionFlags | (ConnectionFlags & ApiFlags) | (ConnectionFlags & ControllerFlags)): Promise<never> {
  const log = loggerFor(flags);
  return runStack(log, async (stack) => {
    const { stops } = stack;
    const metricsAt = flags.metricsListen === undefined ? undefined : parseListen(flags.metricsListen, '--metrics-listen');
    if (component === 'sync' && 'interval' in flags) {
      const syncs = await syncOptions(flags, log);
      const store = await connectStore(flags, stack, false);
      stops.push(await startSyncs(syncs, store, log));
    } else if (component === 'controller' && 'nodeGrace' in flags) {
      const opts = controllerFlags(flags);
      const store = await connectStore(flags, stack, false);
      stops.push(await elected(store, log, 'controller', () => startController({ store, log, ...opts })));
    } else if (component === 'scheduler') {
      const store = await connectStore(flags, stack, false);
      stops.push(await elected(store, log, 'scheduler', () => startScheduler({ store, log })));
    } else if (component === 'api' && 'listen' in flags) {
      parseListen(flags.listen);
      // Alone, the API matches pushes to what each source's sync wrote under followed/.
      const hooks = flags.webhookSecretFile === undefined ? undefined : { secret: await readWebhookSecret(flags.webhookSecretFile) };
      stops.push((await startApiFromFlags(flags, await connectStore(flags, stack, false), log, undefined, hooks)).stop);
    }
    if (metricsAt) stops.push((await startMetricsServer({ listen: metricsAt, log })).stop);
    log.info({ component }, `berth ${component} is running`);
  });
}

/**
 * Everything each sync needs but the store, checked. One source from the flags: its repository and
 * branch reachable, or the start fails. Several from --config: the file checked whole (positions in
 * every error), each source's repository left to its own loop, so one that fails holds up no other.
 */
async function syncOptions(flags: UpFlags, log: Logger): Promise<Omit<SyncOptions, 'store'>[]> {
  const dataDir = path.resolve(flags.dataDir);
  const limits = limitsFromFlags(flags);
  const historyLimit = historyLimitOf(flags.historyLimit);
  if (flags.config !== undefined) {
    // --history-limit is every source's default; a source's historyLimit overrides it.
    const clash = (flags.given ?? []).filter((f) => f !== SOURCE_FIELDS.historyLimit && (Object.values(SOURCE_FIELDS) as string[]).includes(f));
    if (clash.length > 0) throw new UsageError('EFLAGS', `${clash.join(', ')} and --config exclude each other`, { hint: `give each source's fields in ${flags.config}` });
    const sources = await readConfig(flags.config);
    const out: Omit<SyncOptions, 'store'>[] = [];
    for (const s of sources) {
      const intervalMs = atField(s, 'interval', () => parseDuration(s.interval, 'interval'));
      const credentials = await atFieldAsync(s, 'repoCredentialsFile', () =>
        credentialProvider({ repo: s.repo, ...(s.repoCredentialsFile === undefined ? {} : { file: s.repoCredentialsFile }), fileFlag: 'repoCredentialsFile', env: process.env }));
      const git = atField(s, 'repo', () => new GitSource({ repo: s.repo, branch: s.branch, path: s.path, dataDir, ...(credentials ? { credentials } : {}), ...withProgress() }));
      const keyring = s.verifyCommits;
      if (keyring !== undefined) await atFieldAsync(s, 'verifyCommits', () => readKeyring(keyring));
      const reporter = await atFieldAsync(s, 'status', () => chooseReporter({
        status: s.status, repo: s.repo, ...pick(s, 'forgeUrl', 'forgeTokenFile', 'publicUrl'),
        ...(s.statusContextSuffix === undefined ? {} : { contextSuffix: s.statusContextSuffix }), notes: () => new GitNotesReporter(git.notesTarget),
      }));
      if (s.autoRevert && keyring !== undefined) atField(s, 'autoRevert', () => noSignedReverts());
      out.push({
        log, git, source: s.name, intervalMs, skipKinds: s.skipKinds, limits, historyLimit: s.historyLimit ?? historyLimit, waitForHead: false, autoRevert: s.autoRevert, allowPlainSecrets: s.allowPlainSecrets,
        ...(reporter ? { reporter } : {}), ...(keyring === undefined ? {} : { verifyCommits: keyring }),
      });
    }
    return out;
  }
  if (flags.repo === undefined) throw new UsageError('EFLAGS', 'no source: --repo is missing', { hint: 'pass --repo <url|path>, or --config <file> for several sources' });
  const intervalMs = parseDuration(flags.interval, '--interval');
  const credentials = await credentialProvider({ repo: flags.repo, ...(flags.repoCredentialsFile === undefined ? {} : { file: flags.repoCredentialsFile }), env: process.env });
  const git = new GitSource({ repo: flags.repo, branch: flags.branch, path: flags.path, dataDir, ...(credentials ? { credentials } : {}), ...withProgress() });
  if (flags.verifyCommits !== undefined) await readKeyring(flags.verifyCommits);
  if (flags.autoRevert && flags.verifyCommits !== undefined) noSignedReverts();
  const reporter = await chooseReporter({
    status: flags.status, repo: flags.repo, ...pick(flags, 'forgeUrl', 'forgeTokenFile', 'publicUrl'),
    ...(flags.statusContextSuffix === undefined ? {} : { contextSuffix: flags.statusContextSuffix }), notes: () => new GitNotesReporter(git.notesTarget),
  });
  await git.head();
  return [{
    log, git, source: flags.source, intervalMs, skipKinds: flags.skipKind, limits, historyLimit, autoRevert: flags.autoRevert === true, allowPlainSecrets: flags.allowPlainSecrets === true,
    ...(reporter ? { reporter } : {}), ...(flags.verifyCommits === undefined ? {} : { verifyCommits: flags.verifyCommits }),
  }];
}

/** `--history-limit`: a whole number of records, at least 1 (the commit in force keeps its own). */
function historyLimitOf(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > MAX_HISTORY_LIMIT) throw new UsageError('EFLAGS', `--history-limit must be a whole number from 1 to ${MAX_HISTORY_LIMIT}, not "${text}"`);
  return n;
}

/** berth cannot sign a revert of its own, and a source that verifies commits would reject an unsigned one. */
function noSignedReverts(): never {
  throw new UsageError('EFLAGS', '--auto-revert and --verify-commits exclude each other: berth has no key to sign its revert commits', {
    hint: 'leave out --auto-revert; revert with `git revert -S` and push',
  });
}

/** The fields of `o` named that are set, for options that must leave out what is absent. */
function pick<T extends object, K extends keyof T>(o: T, ...keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

/** Run `start` only while this process leads `name` (leader election over etcd): the returned stop steps down. */
async function elected(store: Store, log: Logger, name: string, start: () => Promise<{ stop(): Promise<void> }>): Promise<() => Promise<void>> {
  const election = await startElection({ store, log, name, start });
  return () => election.stop();
}

/** Start every source's sync; the returned stop stops them all. A start that fails stops those started. */
async function startSyncs(syncs: Omit<SyncOptions, 'store'>[], store: Store, log: Logger): Promise<() => Promise<void>> {
  const started: { stop(): Promise<void> }[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.allSettled(started.map((s) => s.stop()));
  };
  try {
    // One leader per source: another `berth sync` (or `berth up`) of the same source follows it.
    for (const sync of syncs) started.push(await startElection({ store, log, name: `sync/${sync.source}`, start: () => startSync({ ...sync, store }) }));
  } catch (err) {
    await stopAll();
    throw err;
  }
  return stopAll;
}
