// Sync's side of `berth rollback`: the request the API wrote is served by the one process that holds
// the source's repository and credentials, and its outcome written back for the API to answer with.
import { BerthError, InvalidInputError, messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import { decode, encode, rollbackRequestKey, type RollbackRequestRecord, type Store } from '../store/index.js';
import type { GitSource } from './source.js';

/** What serving a request needs. */
export interface RollbackContext {
  store: Store;
  source: string;
  git: Pick<GitSource, 'rollback'>;
  log: Logger;
  now: () => Date;
  /** `--verify-commits`: berth cannot sign its own commits, so it makes none. */
  verifyCommits?: string;
}

/**
 * Serve the source's rollback request, if one waits: make and push the commit (GitSource.rollback)
 * and write `done`, or write `failed` with the reason; a request already answered is left alone.
 * The commit becomes the branch head, which sync then applies like any push.
 */
export async function serveRollbackRequest(ctx: RollbackContext): Promise<void> {
  const { store, source, log } = ctx;
  const entry = await store.get(rollbackRequestKey(source));
  if (!entry) return;
  const request = decode('rollbackRequest', entry.key, entry.value);
  if (request.done || request.failed) return;
  let outcome: Pick<RollbackRequestRecord, 'done' | 'failed'>;
  try {
    if (ctx.verifyCommits !== undefined) {
      throw new InvalidInputError('EUNSIGNABLE', `source ${source} applies only signed commits (--verify-commits), and berth has no key to sign one of its own`, {
        hint: `run \`git revert -S ${request.commit}\` and push it; berth applies it like any commit`,
      });
    }
    const done = await ctx.git.rollback({ mode: request.mode, commit: request.commit }, ctx.now());
    outcome = { done };
    log.info({ commit: done.commit, target: done.target, mode: request.mode }, `rollback: pushed ${done.commit.slice(0, 7)} (${request.mode === 'revert' ? 'reverts' : 'restores the tree of'} ${done.target.slice(0, 7)})`);
  } catch (err) {
    // Whatever stopped it, the person who asked hears it now, and may ask again.
    outcome = { failed: { code: err instanceof BerthError ? err.code : 'EUNEXPECTED', message: err instanceof BerthError ? err.message : messageOf(err), ...(err instanceof BerthError && err.hint ? { hint: err.hint } : {}) } };
    log.warn({ commit: request.commit, err: messageOf(err) }, 'rollback refused');
  }
  // Answered only if it is still this request (a newer one is served on the next pass).
  await store.commit({ ifUnchanged: { [entry.key]: entry.modRevision }, put: [{ key: entry.key, value: encode({ ...request, ...outcome }) }] });
}
