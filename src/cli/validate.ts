import { InvalidInputError } from '../errors.js';
import { DEFAULT_LIMITS, formatErrors, shown, type Limits } from '../manifest/index.js';
import { limitsFromFlags, type SizeFlags } from './limits.js';
// Straight from the files, not src/sync's index: `validate` must not load etcd, Docker or Git clients
// it does not use (isomorphic-git is imported only for --rev).
import { checkTree, type TreeCheck } from '../sync/check.js';
import { combineChecks } from '../sync/combine.js';
import { readManifestPaths, type TreeRead } from '../sync/files.js';
import { compareText } from '../text.js';

/** Flags of `berth validate`. */
export interface ValidateFlags extends SizeFlags {
  quiet?: boolean;
  skipKind?: string[];
  /** `--allow-plain-secrets`: accept Secrets not encrypted with sops. */
  allowPlainSecrets?: boolean;
  /** Check this commit of the repository (as sync would) instead of the working tree. */
  rev?: string;
  repo?: string;
}

/** Errors printed at most; the rest are counted ("… and M more errors"). */
const MAX_PRINTED = 100;

/**
 * `berth validate`: every error as `file:line:col: message` on stdout; links, special files, skipped
 * kinds and warnings on stderr. Exit 0 valid, 1 invalid (or no manifest file at all), 2 for a usage
 * error (a path or revision that does not exist).
 */
export async function runValidate(paths: string[], flags: ValidateFlags): Promise<number> {
  let check: TreeCheck;
  try {
    check = await read(paths, flags);
  } catch (err) {
    if (!(err instanceof InvalidInputError)) throw err;
    process.stderr.write(`berth: ${err.toLine()}\n`);
    return 2;
  }
  const { objects, errors, omitted, skipped, warnings, entries, files } = check;
  for (const e of entries) process.stderr.write(`${shown(e.path)}: skipped: ${e.reason}\n`);
  for (const d of skipped) process.stderr.write(`${shown(d.path)}:${d.line}: skipped ${shown(d.kind, 100)}${d.name ? ` ${shown(d.name, 100)}` : ''} (--skip-kind)\n`);
  for (const w of formatErrors(warnings, 0, MAX_PRINTED)) process.stderr.write(`warning: ${w}\n`);
  for (const line of formatErrors(errors, omitted, MAX_PRINTED)) process.stdout.write(`${line}\n`);
  if (files === 0) {
    process.stderr.write(`berth: no manifest files (.yaml, .yml, .json) found in ${(paths.length > 0 ? paths : ['.']).map((p) => shown(p)).join(', ')}\n`);
    return 1;
  }
  if (!flags.quiet) {
    const summary = errors.length === 0
      ? `${files} file(s), ${objects.length} object(s): valid`
      : `${files} file(s): ${errors.length + omitted} error(s)`;
    process.stderr.write(`${summary}\n`);
  }
  return errors.length === 0 ? 0 : 1;
}

async function read(paths: string[], flags: ValidateFlags): Promise<TreeCheck> {
  const skipKinds = flags.skipKind ?? [];
  const limits = limitsFromFlags(flags);
  const allowPlainSecrets = flags.allowPlainSecrets === true;
  if (flags.rev !== undefined) {
    if (paths.length > 1) throw new InvalidInputError('EUSAGE', 'with --rev, give at most one folder of the repository', { hint: 'run once per folder' });
    const { checkRevision } = await import('../sync/revision.js');
    return (await checkRevision(flags.repo ?? '.', flags.rev, paths[0] ?? '.', { skipKinds, limits, allowPlainSecrets })).check;
  }
  if (flags.repo !== undefined) throw new InvalidInputError('EUSAGE', '--repo needs --rev', { hint: 'pass --rev HEAD (or a commit) to check a commit of the repository' });
  if (paths.length === 0) throw new InvalidInputError('EUSAGE', 'no files or folders given', { hint: 'pass them, or --rev to check a commit' });
  const files = await readManifestPaths(paths, { ...DEFAULT_LIMITS, ...limits });
  return (await checkInWorkers(files, paths[0] ?? '.', { skipKinds, limits, allowPlainSecrets })) ?? checkTree(files, { skipKinds, limits, allowPlainSecrets });
}

/** Folders holding more than this are read file by file in one worker per core: starting them (~0.2 s) costs less than the parse they share. */
const PARALLEL_FROM_BYTES = 1024 * 1024;

/**
 * A large folder's files checked alone in one worker per core, and put together as sync does with a
 * commit; undefined when the answer needs the full check (an error somewhere: the full check words
 * it) or the folder is small. Past a bound of time or memory, the folder is refused with it.
 */
async function checkInWorkers(read: TreeRead, at: string, opts: { skipKinds: string[]; limits: Partial<Limits>; allowPlainSecrets: boolean }): Promise<TreeCheck | undefined> {
  const bytes = read.files.reduce((n, f) => n + f.bytes.length, 0);
  if (read.errors.length > 0 || bytes <= PARALLEL_FROM_BYTES) return undefined;
  const { checkFilesInParallel } = await import('../sync/isolate.js');
  const r = await checkFilesInParallel(read.files, opts);
  if (r === undefined) return undefined;
  if ('refused' in r) return { objects: [], errors: [{ path: at, line: 1, col: 1, message: r.refused }], omitted: 0, skipped: [], warnings: [], entries: read.skipped, files: read.files.length };
  return combineChecks([...r.files].sort((a, b) => compareText(a.path, b.path)), read.skipped, opts.limits);
}
