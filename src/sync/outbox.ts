import { statusDeliveries } from '../metrics.js';
import type { Logger } from '../log.js';
import { BerthError, kindOf } from '../errors.js';
import {
  MAX_TXN_OPS, decode, encode, noteKey, outboxPrefix, outboxSendingKey, startLoop, syncRequestKey, type Entry, type Loop, type LoopOptions, type OutboxRecord, type OutboxSendingRecord, type PutOp, type Store,
} from '../store/index.js';
import type { OnceSink, StatusReporter } from './reporter.js';

/** Entries handed to the reporter at once: bounded work per round, one push for many commits. */
const BATCH = 100;

/** What one drain of a source's outbox did. */
export interface DrainResult {
  /** Entries the reporter took and whose keys were deleted. */
  delivered: number;
  /** Entries that could not be decoded; deleted, since no reporter could ever deliver them. */
  dropped: number;
}

/** Options of {@link drainOutbox} and {@link startOutbox}. */
export interface OutboxOptions {
  store: Store;
  log: Logger;
  source: string;
  reporter: StatusReporter;
  /** Entries per report (default 100). */
  batch?: number;
}

/**
 * Deliver `outbox/<source>/` in key order: list, report a batch, then move what was delivered to
 * `notes/<source>/<commit>/` (kept as long as history is), each key only if unchanged since the list
 * (compare-and-swap on its modRevision). A failed report
 * deletes nothing, and it throws. A batch report is at least once: a crash between the report and
 * the delete delivers the same entries again, which such reporters tolerate (git notes skip a line
 * that is already in the note). A reporter's `once` sink (a forge) gets each entry exactly once
 * (sendOnce), whatever crashes between.
 */
export async function drainOutbox(opts: OutboxOptions): Promise<DrainResult> {
  const { store, source, reporter } = opts;
  const batch = opts.batch ?? BATCH;
  const result: DrainResult = { delivered: 0, dropped: 0 };
  for (;;) {
    const { entries } = await store.list(outboxPrefix(source));
    if (entries.length === 0) return result;
    const round = entries.slice(0, batch);
    const records: OutboxRecord[] = [];
    const corrupt: Entry[] = [];
    for (const e of round) {
      const record = decodeOutbox(e);
      if (record) records.push(record);
      else corrupt.push(e);
    }
    if (corrupt.length > 0) {
      result.dropped += await deleteUnchanged(store, corrupt);
      opts.log.warn({ keys: corrupt.map((e) => e.key) }, `dropped ${corrupt.length} outbox key(s) holding no status record`);
    }
    if (records.length > 0) {
      await reporter.report(records);
      // Each delivered entry is kept under its commit (notes/), so the API can show a commit's statuses without Git.
      const kept = new Map(round.filter((e) => !corrupt.includes(e)).map((e, i) => [e, records[i]]));
      const copy = (e: Entry): PutOp | undefined => {
        const record = kept.get(e);
        return record && { key: noteKey(source, record.commit, e.key.slice(e.key.lastIndexOf('/') + 1)), value: e.value };
      };
      result.delivered += reporter.once ? await sendOnce(store, source, reporter.once, [...kept], copy) : await deleteUnchanged(store, [...kept.keys()], copy);
    }
    // A key rewritten since the list is left for the next drain (its write wakes the loop).
    if (entries.length <= batch) return result;
  }
}

/**
 * The delivery loop of one source: drains its outbox whenever `outbox/<source>/` changes, on
 * `kick`, and every `resyncMs`. A failed delivery backs off and is retried; the entries stay in
 * etcd, so a restarted sync delivers them too. A refusal retrying cannot fix (a forge's 401 or
 * 404: an input error) is not retried on the clock: the next try comes with a new status, a sync
 * request for the source (`berth sync <source>`, after fixing the token), a kick, or a restart.
 */
export async function startOutbox(opts: OutboxOptions & { resyncMs?: number } & Partial<Pick<LoopOptions, 'onTrouble' | 'onRecovered'>>): Promise<Loop> {
  const log = opts.log.child({ component: 'outbox', source: opts.source });
  const { store, source } = opts;
  // What was refused, and the state it was refused in (the newest entry, the last sync request).
  let refused: { mark: string; error: unknown } | undefined;
  const markNow = async (): Promise<string> => {
    const { entries } = await store.list(outboxPrefix(source));
    return `${entries.at(-1)?.key ?? ''} ${(await store.get(syncRequestKey(source)))?.modRevision ?? 0}`;
  };
  const loop = await startLoop({
    store,
    log,
    watch: [outboxPrefix(source), syncRequestKey(source)],
    resyncMs: opts.resyncMs,
    ...(opts.onTrouble ? { onTrouble: opts.onTrouble } : {}),
    ...(opts.onRecovered ? { onRecovered: opts.onRecovered } : {}),
    reconcile: async () => {
      const mark = await markNow();
      // Thrown again as it was (the loop logs and shows an input error once), with no request to the forge.
      if (refused?.mark === mark) throw refused.error;
      try {
        const { delivered } = await drainOutbox({ ...opts, log });
        statusDeliveries.inc({ source, result: 'delivered' }, delivered);
        if (delivered > 0) log.debug({ delivered }, `delivered ${delivered} commit status(es)`);
        refused = undefined;
      } catch (err) {
        statusDeliveries.inc({ source, result: 'failed' });
        refused = kindOf(err) === 'input' ? { mark, error: err } : undefined;
        throw err;
      }
    },
  });
  // A kick (a webhook, `Sync.kick`) is a reason to try again; the clock's resync is not.
  return { ...loop, kick: () => {
    refused = undefined;
    loop.kick();
  } };
}

function decodeOutbox(e: Entry): OutboxRecord | undefined {
  try {
    return decode('outbox', e.key, e.value);
  } catch (err) {
    if (err instanceof BerthError && err.code === 'ECORRUPT') return undefined;
    throw err;
  }
}

/**
 * Send each entry to a sink that would show it twice, one at a time: `outboxsending/<source>` names
 * the entry before it is sent and goes with it (the entry deleted, its notes/ copy put) once it was.
 * One found naming an entry still in the outbox means a crash or a failure cut its sending short:
 * the sink is asked whether it arrived before it is sent again. Returns how many entries went.
 */
async function sendOnce(store: Store, source: string, sink: OnceSink, entries: [Entry, OutboxRecord | undefined][], copy: (e: Entry) => PutOp | undefined): Promise<number> {
  const markKey = outboxSendingKey(source);
  const mark = await store.get(markKey);
  const inDoubt = mark && decodeSending(mark);
  let deleted = 0;
  for (const [e, record] of entries) {
    if (!record) continue;
    if (inDoubt !== e.key || !(await sink.arrived(record))) {
      const sending: OutboxSendingRecord = { type: 'outboxSending', source, key: e.key };
      await store.commit({ put: [{ key: markKey, value: encode(sending) }] });
      await sink.send(record);
    }
    const put = copy(e);
    const { ok } = await store.commit({ ifUnchanged: { [e.key]: e.modRevision }, del: [e.key, markKey], put: put ? [put] : [] });
    if (ok) deleted++;
    else await store.commit({ del: [markKey] }); // rewritten since the list: the new value comes again
  }
  return deleted;
}

function decodeSending(e: Entry): string | undefined {
  try {
    return decode('outboxSending', e.key, e.value).key;
  } catch {
    return undefined; // not ours to read: the next send overwrites it
  }
}

/** Delete each entry that still has the modRevision it was listed with (putting its `copy` in the same txn); returns how many went. */
async function deleteUnchanged(store: Store, entries: Entry[], copy: (e: Entry) => PutOp | undefined = () => undefined): Promise<number> {
  let deleted = 0;
  // A delete and a put per entry: half as many entries per txn.
  const size = Math.floor(MAX_TXN_OPS / 2);
  const puts = (list: Entry[]): PutOp[] => list.flatMap((e) => copy(e) ?? []);
  for (let i = 0; i < entries.length; i += size) {
    const chunk = entries.slice(i, i + size);
    const all = await store.commit({ ifUnchanged: Object.fromEntries(chunk.map((e) => [e.key, e.modRevision])), del: chunk.map((e) => e.key), put: puts(chunk) });
    if (all.ok) {
      deleted += chunk.length;
      continue;
    }
    // One of them changed: delete the others one by one.
    for (const e of chunk) {
      if ((await store.commit({ ifUnchanged: { [e.key]: e.modRevision }, del: [e.key], put: puts([e]) })).ok) deleted++;
    }
  }
  return deleted;
}
