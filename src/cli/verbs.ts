// `berth sync|suspend|resume SOURCE` and `berth rollback SOURCE COMMIT`: writes through the API server.
import type { ControlView } from '../api/control.js';
import { serverFor, type ApiClient, type ServerFlags } from './client.js';
import { renderData, type OutputFormat } from './format.js';

/** Flags of the write verbs. */
export interface VerbFlags extends ServerFlags {
  output: OutputFormat;
}

const sourcePath = (source: string, verb: string): string => `/api/v1/sources/${encodeURIComponent(source)}/${verb}`;

function client(flags: VerbFlags): ApiClient {
  // Never undefined without `direct`: the verbs always go through the API server.
  const api = serverFor(flags);
  if (api === undefined) throw new Error('no API server');
  return api;
}

function print(flags: VerbFlags, answer: unknown, line: string): void {
  process.stdout.write(flags.output === 'table' ? `${line}\n` : renderData(answer, flags.output));
}

/** `berth sync SOURCE`: sync looks at the branch now. */
export async function runSyncNow(source: string, flags: VerbFlags): Promise<void> {
  const answer = await client(flags).post<{ source: string; requested: string }>(sourcePath(source, 'sync'));
  print(flags, answer, `sync of source ${source} requested; \`berth status\` shows the commit in force`);
}

/** `berth suspend SOURCE`: no new commit is applied until `berth resume`. */
export async function runSuspend(source: string, flags: VerbFlags): Promise<void> {
  const answer = await client(flags).post<ControlView>(sourcePath(source, 'suspend'));
  const since = answer.suspended ? ` (since ${answer.suspended.age} ago${answer.suspended.commit ? `, rolled back to ${answer.suspended.commit}` : ''})` : '';
  print(flags, answer, answer.changed
    ? `source ${source} suspended: new commits wait for \`berth resume ${source}\``
    : `source ${source} was suspended already${since}`);
}

/** `berth resume SOURCE`: sync follows the branch head again. */
export async function runResume(source: string, flags: VerbFlags): Promise<void> {
  const answer = await client(flags).post<ControlView>(sourcePath(source, 'resume'));
  print(flags, answer, answer.changed ? `source ${source} resumed: sync follows its branch head again` : `source ${source} was not suspended`);
}

/** `berth rollback SOURCE COMMIT`: the earlier applied commit is applied again and kept until resume. */
export async function runRollback(source: string, commit: string, flags: VerbFlags): Promise<void> {
  const answer = await client(flags).post<ControlView & { commit: string }>(sourcePath(source, 'rollback'), { commit });
  print(flags, answer,
    `source ${source} rolled back to ${answer.commit.slice(0, 7)}: sync applies it and keeps it until \`berth resume ${source}\`;\n` +
    `make it last with \`git revert\` of the commits after it, pushed, then resume`);
}
