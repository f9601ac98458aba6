// The config file of several sources (`--config berth.yaml`): parsed with positions, every field
// checked, every error reported at once as `file:line:col: message`, as manifests are.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import { BerthError, InvalidInputError } from '../errors.js';

/** One source of a config file: the flags of one source, by the same names. */
export interface SourceConfig {
  /** `--source`: the source's name in etcd. */
  name: string;
  /** `--repo`: an http(s) URL, or a local path (relative to the config file's folder). */
  repo: string;
  /** `--branch` (default main). */
  branch: string;
  /** `--path` (default `.`). */
  path: string;
  /** `--interval`, as written (default 30s); checked where durations are parsed. */
  interval: string;
  /** `--repo-credentials-file` (relative to the config file's folder). */
  repoCredentialsFile?: string;
  /** `--status` (default git-notes): one, or a list. */
  status: ReportChoice[];
  /** `--skip-kind`, as a list. */
  skipKinds: string[];
  /** `--verify-commits`: the keyring file (relative to the config file's folder). */
  verifyCommits?: string;
  /** `--forge-url`: the forge API's base URL. */
  forgeUrl?: string;
  /** `--forge-token-file` (relative to the config file's folder). */
  forgeTokenFile?: string;
  /** `--public-url`. */
  publicUrl?: string;
  /** `--status-context-suffix`. */
  statusContextSuffix?: string;
  /** `--auto-revert` (default false). */
  autoRevert: boolean;
  /** History records kept in etcd for this source; absent: `--history-limit`'s, for every source. */
  historyLimit?: number;
  /** `--allow-plain-secrets` (default false): Secrets not encrypted with sops are applied, not refused. */
  allowPlainSecrets: boolean;
  /** Where each field given (and the source itself, as `source`) is written, for errors found later. */
  at: Record<string, Position>;
}

/** Where a value is in the config file. */
export interface Position {
  file: string;
  line: number;
  col: number;
}

/** Where a source's commit statuses go. */
export type ReportChoice = 'git-notes' | 'none' | 'github' | 'gitea' | 'gitlab';
export const REPORT_CHOICES: readonly ReportChoice[] = ['git-notes', 'none', 'github', 'gitea', 'gitlab'];

/** The fields of a source, by the flag each stands for. */
export const SOURCE_FIELDS = {
  name: '--source',
  repo: '--repo',
  branch: '--branch',
  path: '--path',
  interval: '--interval',
  repoCredentialsFile: '--repo-credentials-file',
  status: '--status',
  skipKinds: '--skip-kind',
  verifyCommits: '--verify-commits',
  forgeUrl: '--forge-url',
  forgeTokenFile: '--forge-token-file',
  publicUrl: '--public-url',
  statusContextSuffix: '--status-context-suffix',
  autoRevert: '--auto-revert',
  historyLimit: '--history-limit',
  allowPlainSecrets: '--allow-plain-secrets',
} as const;
type Field = keyof typeof SOURCE_FIELDS;

/** The most history records a source may keep (`--history-limit` too). */
export const MAX_HISTORY_LIMIT = 1_000_000;

/** The name pattern the API accepts for a source (a key segment of etcd: no slash). */
const NAME = /^[A-Za-z0-9]([-A-Za-z0-9._]*[A-Za-z0-9])?$/;
const MAX_NAME = 253;
/** A config file is written by hand; anything larger is a mistake. */
const MAX_BYTES = 1024 * 1024;
const MAX_ERRORS = 50;

/** `position: message`, the way berth shows an error at a place in a file. */
export function formatAt(at: Position, message: string): string {
  return `${at.file}:${at.line}:${at.col}: ${message}`;
}

/**
 * An error found while using a field (an interval that does not parse, a credentials file open to
 * others) as an input error at that field's place.
 */
export function atField<T>(source: SourceConfig, field: Field, use: () => T): T {
  try {
    return use();
  } catch (err) {
    throw placed(source, field, err);
  }
}

/** The async twin of {@link atField}. */
export async function atFieldAsync<T>(source: SourceConfig, field: Field, use: () => Promise<T>): Promise<T> {
  try {
    return await use();
  } catch (err) {
    throw placed(source, field, err);
  }
}

function placed(source: SourceConfig, field: Field, err: unknown): unknown {
  if (!(err instanceof BerthError)) return err;
  const at = source.at[field] ?? source.at.source;
  if (!at) return err;
  return new InvalidInputError(err.code, formatAt(at, err.message), { ...(err.hint === undefined ? {} : { hint: err.hint }), cause: err });
}

/**
 * The sources of a config file's text: `sources:`, a list of maps with the fields of
 * {@link SOURCE_FIELDS}. Unknown fields, a missing name or repo, a name given twice, a value of the
 * wrong type: all reported at once, each at its place, in one InvalidInputError. Relative paths are
 * made absolute against the file's folder.
 */
export function parseConfig(text: string, file: string): SourceConfig[] {
  if (Buffer.byteLength(text) > MAX_BYTES) throw new InvalidInputError('ECONFIG', `${file}: larger than 1 MiB`, { hint: 'a config file lists sources; keep it small' });
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const errors: string[] = [];
  const pos = (offset: number | undefined): Position => ({ file, ...lines.linePos(offset ?? 0) });
  const fail = (node: Node | undefined | null, message: string): void => {
    errors.push(formatAt(pos(node?.range?.[0]), message));
  };
  for (const e of doc.errors) errors.push(formatAt(pos(e.pos[0]), e.message.split('\n')[0] ?? e.message));
  const sources: SourceConfig[] = [];
  if (errors.length === 0) {
    const root = doc.contents;
    if (!isMap(root)) fail(root, 'expected a map with a `sources:` list');
    else {
      for (const pair of root.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : '';
        if (key !== 'sources') fail(pair.key as Node, `unknown field '${key}'; the config file has only 'sources'`);
      }
      const list = root.get('sources', true);
      if (!isSeq(list) || list.items.length === 0) fail(list ?? root, "'sources' must be a list of at least one source");
      else for (const item of list.items) {
        const source = readSource(item as Node, file, pos, fail);
        if (source) sources.push(source);
      }
    }
  }
  const seen = new Map<string, Position>();
  for (const s of sources) {
    const first = seen.get(s.name);
    const here = s.at.name ?? s.at.source;
    if (first && here) errors.push(formatAt(here, `source name '${s.name}' is used twice (first at ${first.line}:${first.col}); each source needs its own name`));
    else if (here) seen.set(s.name, here);
  }
  if (errors.length > 0) {
    const shown = errors.slice(0, MAX_ERRORS);
    if (errors.length > MAX_ERRORS) shown.push(`… and ${errors.length - MAX_ERRORS} more`);
    throw new InvalidInputError('ECONFIG', `invalid config file ${file}:\n${shown.join('\n')}`, { hint: 'fix the config file (README: Several sources)' });
  }
  return sources;
}

function readSource(node: Node, file: string, pos: (offset: number | undefined) => Position, fail: (node: Node | undefined | null, message: string) => void): SourceConfig | undefined {
  if (!isMap(node)) {
    fail(node, 'a source must be a map with at least name and repo');
    return undefined;
  }
  const values: Partial<Record<Field, string | string[] | boolean | number>> = {};
  const at: Record<string, Position> = { source: pos(node.range?.[0]) };
  let ok = true;
  const wrong = (n: Node | undefined | null, message: string): void => {
    ok = false;
    fail(n, message);
  };
  for (const pair of node.items) {
    const keyNode = pair.key as Node;
    const key = isScalar(keyNode) ? String(keyNode.value) : '';
    if (!isField(key)) {
      wrong(keyNode, `unknown field '${key.slice(0, 60)}' in a source; the fields are ${Object.keys(SOURCE_FIELDS).join(', ')}`);
      continue;
    }
    const value = pair.value as Node | null;
    at[key] = pos(value?.range?.[0] ?? keyNode.range?.[0]);
    if (key === 'status' && isSeq(value)) {
      if (!value.items.every((i) => isScalar(i) && typeof i.value === 'string')) wrong(value, 'status must be a reporter or a list of them, such as [git-notes, github]');
      else values.status = value.items.map((i) => String((i as { value: unknown }).value));
      continue;
    }
    if (key === 'skipKinds') {
      if (!isSeq(value) || !value.items.every((i) => isScalar(i) && typeof i.value === 'string' && i.value !== '')) wrong(value ?? keyNode, 'skipKinds must be a list of kinds, such as [Service, Ingress]');
      else values.skipKinds = value.items.map((i) => String((i as { value: unknown }).value));
      continue;
    }
    if (key === 'autoRevert' || key === 'allowPlainSecrets') {
      if (!isScalar(value) || typeof value.value !== 'boolean') wrong(value ?? keyNode, `${key} must be true or false`);
      else values[key] = value.value;
      continue;
    }
    if (key === 'historyLimit') {
      if (!isScalar(value) || typeof value.value !== 'number' || !Number.isInteger(value.value) || value.value < 1 || value.value > MAX_HISTORY_LIMIT) {
        wrong(value ?? keyNode, `historyLimit must be a whole number from 1 to ${MAX_HISTORY_LIMIT}`);
      } else values.historyLimit = value.value;
      continue;
    }
    // A duration may be written as a bare number of seconds; every other field is text.
    const text = isScalar(value) && (typeof value.value === 'string' || (key === 'interval' && typeof value.value === 'number')) ? String(value.value) : undefined;
    if (text === undefined || text === '') {
      wrong(value ?? keyNode, `${key} must be a non-empty string${isScalar(value) && value.value !== null ? ' (quote it)' : ''}`);
      continue;
    }
    values[key] = text;
  }
  for (const required of ['name', 'repo'] as const) if (values[required] === undefined && !(required in at)) wrong(node, `a source needs '${required}'`);
  const name = typeof values.name === 'string' ? values.name : undefined;
  if (name !== undefined && (!NAME.test(name) || name.length > MAX_NAME)) {
    wrong(node.get('name', true) as Node, `source name '${name.slice(0, 60)}' must be letters, digits, '-', '.' or '_', starting and ending with a letter or digit, at most ${MAX_NAME} characters`);
  }
  const status = typeof values.status !== 'string' && !Array.isArray(values.status) ? undefined : ([] as string[]).concat(values.status);
  const unknown = status?.find((r) => !(REPORT_CHOICES as readonly string[]).includes(r));
  if (unknown !== undefined) wrong(node.get('status', true) as Node, `status '${unknown.slice(0, 60)}' must be one of ${REPORT_CHOICES.join(', ')}`);
  if (!ok || name === undefined || typeof values.repo !== 'string') return undefined;
  const dir = path.dirname(path.resolve(file));
  const local = (p: string): string => path.resolve(dir, p);
  const repo = /^https?:\/\//.test(values.repo) ? values.repo : local(values.repo);
  const credentials = typeof values.repoCredentialsFile === 'string' ? local(values.repoCredentialsFile) : undefined;
  const keyring = typeof values.verifyCommits === 'string' ? local(values.verifyCommits) : undefined;
  const forgeTokenFile = typeof values.forgeTokenFile === 'string' ? local(values.forgeTokenFile) : undefined;
  return {
    name,
    repo,
    branch: typeof values.branch === 'string' ? values.branch : 'main',
    path: typeof values.path === 'string' ? values.path : '.',
    interval: typeof values.interval === 'string' ? values.interval : '30s',
    ...(credentials === undefined ? {} : { repoCredentialsFile: credentials }),
    status: (status ?? ['git-notes']) as ReportChoice[],
    skipKinds: Array.isArray(values.skipKinds) ? values.skipKinds : [],
    ...(keyring === undefined ? {} : { verifyCommits: keyring }),
    ...(typeof values.forgeUrl === 'string' ? { forgeUrl: values.forgeUrl } : {}),
    ...(forgeTokenFile === undefined ? {} : { forgeTokenFile }),
    ...(typeof values.publicUrl === 'string' ? { publicUrl: values.publicUrl } : {}),
    ...(typeof values.statusContextSuffix === 'string' ? { statusContextSuffix: values.statusContextSuffix } : {}),
    autoRevert: values.autoRevert === true,
    ...(typeof values.historyLimit === 'number' ? { historyLimit: values.historyLimit } : {}),
    allowPlainSecrets: values.allowPlainSecrets === true,
    at,
  };
}

function isField(key: string): key is Field {
  return Object.hasOwn(SOURCE_FIELDS, key);
}

/** Read and parse a config file (see {@link parseConfig}). */
export async function readConfig(file: string): Promise<SourceConfig[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    const missing = cause instanceof Error && 'code' in cause && cause.code === 'ENOENT';
    throw new InvalidInputError('ECONFIG', `config file ${file} ${missing ? 'does not exist' : 'cannot be read'}`, { hint: 'pass --config with a file berth can read', cause });
  }
  return parseConfig(text, file);
}
