// `berth history` and `berth events`: what happened, oldest first, newest last (next to the prompt).
import { InvalidInputError } from '../errors.js';
import { readEvents, readHistory } from '../api/read.js';
import { eventTable, historyTable } from '../api/tables.js';
import { eventViews, historyViews } from '../api/views.js';
import { withStore, warnSkipped, type ReadFlags } from './connect.js';
import { renderData, renderTable } from './format.js';

/** Flags of `berth history`. */
export interface HistoryFlags extends ReadFlags {
  source?: string;
  limit?: string;
}

/** `berth history`: every commit sync looked at; rejected ones carry their errors in -o json/yaml. */
export async function runHistory(flags: HistoryFlags): Promise<void> {
  const limit = flags.limit === undefined ? undefined : parseLimit(flags.limit);
  const { records, skipped } = await withStore(flags, (store) => readHistory(store, flags.source));
  warnSkipped(flags, skipped);
  const all = historyViews(records, new Date());
  const views = limit === undefined ? all : all.slice(Math.max(0, all.length - limit));
  print(flags, views, () => renderTable(historyTable(views)), flags.source === undefined ? 'No history found.' : `No history found for source "${flags.source}".`);
}

/** `berth events`: the events still kept (each lives on a lease for a while). */
export async function runEvents(flags: ReadFlags): Promise<void> {
  const { records, skipped } = await withStore(flags, (store) => readEvents(store));
  warnSkipped(flags, skipped);
  const views = eventViews(records, new Date());
  print(flags, views, () => renderTable(eventTable(views)), 'No events found.');
}

function print(flags: ReadFlags, items: readonly unknown[], table: () => string, none: string): void {
  if (flags.output !== 'table') process.stdout.write(renderData({ items }, flags.output));
  else if (items.length === 0) process.stderr.write(`${none}\n`);
  else process.stdout.write(table());
}

function parseLimit(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new InvalidInputError('ELIMIT', `--limit must be a whole number above 0, not "${text}"`);
  return n;
}
