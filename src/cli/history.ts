// `berth history` and `berth events`: what happened, oldest first, newest last (next to the prompt).
import { UsageError } from '../errors.js';
import { eventTable, historyTable } from '../api/tables.js';
import type { EventView, HistoryView } from '../api/views.js';
import { readResource, warnSkipped, type ReadFlags } from './connect.js';
import { renderData, renderTable } from './format.js';

/** Flags of `berth history`. */
export interface HistoryFlags extends ReadFlags {
  source?: string;
  limit?: string;
}

/** `berth history`: every commit sync looked at; rejected ones carry their errors in -o json/yaml. */
export async function runHistory(flags: HistoryFlags): Promise<void> {
  const limit = flags.limit === undefined ? undefined : parseLimit(flags.limit);
  const { items, skipped } = await readResource(flags, 'history', { ...(flags.source === undefined ? {} : { source: flags.source }), ...(limit === undefined ? {} : { limit }) });
  warnSkipped(flags, skipped);
  const views = items as HistoryView[];
  print(flags, views, () => renderTable(historyTable(views)), flags.source === undefined ? 'No history found.' : `No history found for source "${flags.source}".`);
}

/** `berth events`: the events still kept (each lives on a lease for a while). */
export async function runEvents(flags: ReadFlags): Promise<void> {
  const { items, skipped } = await readResource(flags, 'events', {});
  warnSkipped(flags, skipped);
  const views = items as EventView[];
  print(flags, views, () => renderTable(eventTable(views)), 'No events found.');
}

function print(flags: ReadFlags, items: readonly unknown[], table: () => string, none: string): void {
  if (flags.output !== 'table') process.stdout.write(renderData({ items }, flags.output));
  else if (items.length === 0) process.stderr.write(`${none}\n`);
  else process.stdout.write(table());
}

function parseLimit(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError('ELIMIT', `--limit must be a whole number above 0, not "${text}"`);
  return n;
}
