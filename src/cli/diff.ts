// `berth diff`: what applying the branch head (or --rev) would change in a source's desired state.
import path from 'node:path';
import { BerthError, messageOf } from '../errors.js';
import { formatErrors, formatPlanDiff, planDesired, type DesiredObject } from '../manifest/index.js';
import { readResource, warnSkipped, type ReadFlags } from './connect.js';
import { withProgress } from './logger.js';
import { limitsFromFlags, type SizeFlags } from './limits.js';

/** Flags of `berth diff`. */
export interface DiffFlags extends Omit<ReadFlags, 'output'>, SizeFlags {
  source: string;
  repo: string;
  branch: string;
  path: string;
  rev?: string;
  repoCredentialsFile?: string;
  skipKind: string[];
  /** `--allow-plain-secrets`, as the source has it. */
  allowPlainSecrets?: boolean;
}

/** Errors of a commit sync would reject, printed at most. */
const MAX_PRINTED = 100;

/**
 * Prints the unified diff (kubectl diff's shape) between the source's sealed desired state and
 * the objects of the branch head or `--rev`, checked exactly as sync checks a commit. Exit 0: no
 * change; 1: changes; 2: an error (the commit would be rejected, the repository or the API cannot
 * be read).
 */
export async function runDiff(flags: DiffFlags): Promise<number> {
  try {
    return await diff(flags);
  } catch (err) {
    process.stderr.write(`berth: ${messageOf(err)}\n`);
    if (process.env.BERTH_DEBUG && err instanceof Error) process.stderr.write(`${err.stack ?? ''}\n`);
    return 2;
  }
}

async function diff(flags: DiffFlags): Promise<number> {
  const limits = limitsFromFlags(flags);
  const { GitSource, credentialProvider, checkCommit } = await import('../sync/index.js');
  const credentials = await credentialProvider({ repo: flags.repo, ...(flags.repoCredentialsFile === undefined ? {} : { file: flags.repoCredentialsFile }), env: process.env });
  const git = new GitSource({ repo: flags.repo, branch: flags.branch, path: flags.path, dataDir: path.resolve(flags.dataDir), ...(credentials ? { credentials } : {}), ...withProgress() });
  const head = flags.rev === undefined ? await git.head() : await git.revision(flags.rev);
  const check = await checkCommit(git.tree(head.commit), { skipKinds: flags.skipKind, limits, allowPlainSecrets: flags.allowPlainSecrets === true });
  const short = head.commit.slice(0, 7);
  if (check.errors.length > 0) {
    for (const line of formatErrors(check.errors, check.omitted, MAX_PRINTED)) process.stderr.write(`${line}\n`);
    throw new BerthError('EREJECTED', `commit ${short} would be rejected: ${check.errors.length + check.omitted} error(s); applying it changes nothing`, {
      hint: `\`berth validate --rev ${short}\` checks it the same way`,
    });
  }
  const listing = await readResource(flags, 'desired', { source: flags.source });
  warnSkipped(flags, listing.skipped);
  const items = listing.items as { commit: string; object: DesiredObject }[];
  const sealed = items[0]?.commit;
  const plan = planDesired(check.objects, items.map((i) => i.object));
  const changes = plan.create.length + plan.update.length + plan.delete.length;
  process.stdout.write(formatPlanDiff(plan, { from: sealed ? `${sealed.slice(0, 7)} (in force)` : '(nothing applied)', to: short }));
  const against = sealed ? `source ${flags.source} at ${sealed.slice(0, 7)}` : `source ${flags.source}, which has no desired state yet`;
  process.stderr.write(changes === 0
    ? `commit ${short} changes nothing in ${against}\n`
    : `commit ${short} against ${against}: ${plan.create.length} to create, ${plan.update.length} to update, ${plan.delete.length} to delete\n`);
  return changes === 0 ? 0 : 1;
}
