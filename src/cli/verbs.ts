// `berth sync|suspend|resume SOURCE` and `berth rollback COMMIT`: writes through the API server.
import type { ControlView, RollbackView } from '../api/control.js';
import { UsageError } from '../errors.js';
import { serverFor, type ApiClient, type ServerFlags } from './client.js';
import { renderData, type OutputFormat } from './format.js';

/** Flags of the write verbs. */
export interface VerbFlags extends ServerFlags {
  output: OutputFormat;
}

const sourcePath = (source: string, verb: string): string => `/api/v1/sources/${encodeURIComponent(source)}/${verb}`;

/** The API server of the verbs (they always go through it). */
export function client(flags: VerbFlags): ApiClient {
  // Never undefined without `direct`: the verbs always go through the API server.
  const api = serverFor(flags);
  if (api === undefined) throw new Error('no API server');
  return api;
}

/** The one line of a verb, or its answer in -o json|yaml. */
export function print(flags: VerbFlags, answer: unknown, line: string): void {
  process.stdout.write(flags.output === 'table' ? `${line}\n` : renderData(answer, flags.output));
}

/** `berth sync SOURCE`: sync looks at the branch now. */
export async function runSyncNow(source: string, flags: VerbFlags): Promise<void> {
  const answer = await client(flags).post<{ source: string; requested: string }>(sourcePath(source, 'sync'));
  print(flags, answer, `sync of source ${source} requested; \`berth status\` shows the commit in force`);
}

/** `berth suspend SOURCE [--at COMMIT]`: no new commit is applied until `berth resume`; with --at, that applied commit is put back and kept. */
export async function runSuspend(source: string, flags: VerbFlags & { at?: string }): Promise<void> {
  if (flags.at !== undefined) {
    const pinned = await client(flags).post<ControlView & { commit: string }>(sourcePath(source, 'suspend'), { commit: flags.at });
    print(flags, pinned,
      `source ${source} suspended at ${pinned.commit.slice(0, 7)}: sync applies it and keeps it until \`berth resume ${source}\`;\n` +
      `\`berth rollback\` makes a lasting commit on the branch instead`);
    return;
  }
  const answer = await client(flags).post<ControlView>(sourcePath(source, 'suspend'));
  const since = answer.suspended ? ` (since ${answer.suspended.age} ago${answer.suspended.commit ? `, pinned to ${answer.suspended.commit}` : ''})` : '';
  print(flags, answer, answer.changed
    ? `source ${source} suspended: new commits wait for \`berth resume ${source}\``
    : `source ${source} was suspended already${since}`);
}

/** `berth resume SOURCE`: sync follows the branch head again. */
export async function runResume(source: string, flags: VerbFlags): Promise<void> {
  const answer = await client(flags).post<ControlView>(sourcePath(source, 'resume'));
  print(flags, answer, answer.changed ? `source ${source} resumed: sync follows its branch head again` : `source ${source} was not suspended`);
}

/** Flags of `berth rollback`. */
export interface RollbackFlags extends VerbFlags {
  source: string;
  to?: string;
}

/** `berth rollback COMMIT` or `berth rollback --to COMMIT`: a commit on the source's branch, pushed by its sync. */
export async function runRollback(commit: string | undefined, flags: RollbackFlags): Promise<void> {
  if ((commit === undefined) === (flags.to === undefined)) {
    throw new UsageError('EUSAGE', commit === undefined ? 'no commit to roll back' : 'give a commit to revert or --to, not both', {
      hint: 'berth rollback <commit> reverts one commit; berth rollback --to <commit> goes back to its files',
    });
  }
  const body = flags.to === undefined ? { commit } : { to: flags.to };
  const answer = await client(flags).post<RollbackView>(sourcePath(flags.source, 'rollback'), body);
  const what = answer.mode === 'revert' ? `reverts ${answer.target.slice(0, 7)}` : `restores the files of ${answer.target.slice(0, 7)}`;
  print(flags, answer, `pushed ${answer.commit.slice(0, 7)} to the branch of source ${flags.source}: it ${what}; sync applies it like any commit`);
}
