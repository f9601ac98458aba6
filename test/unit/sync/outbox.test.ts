import { afterEach, describe, expect, it } from 'vitest';
import { ConflictError, InvalidInputError, UnavailableError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import {
  MemoryStore, NOTES, decode, encode, historyPrefix, noteKey, notesPrefix, outboxKey, outboxPrefix, sourceKey, syncRequestKey,
  type Entry, type OutboxRecord, type Txn,
} from '../../../src/store/index.js';
import {
  appliedStatus, applyCommit, drainOutbox, recordRejected, rejectedStatus, startOutbox,
  type HeadCommit, type StatusReporter,
} from '../../../src/sync/index.js';
import { captureLog } from '../scheduler/harness.js';
import { waitFor } from '../../support/wait.js';
import { deployment } from '../controller/fixtures.js';

const SOURCE = 'main';
const NOW = new Date('2030-01-02T03:04:05.000Z');

function head(name: string): HeadCommit {
  return { commit: name.padEnd(40, '0'), author: 'Ada <ada@example.org>', message: `commit ${name}`, time: NOW.toISOString() };
}

/** A `berth/health` entry as the controller writes it. */
function health(name: string, description: string): OutboxRecord {
  return { type: 'outbox', source: SOURCE, commit: head(name).commit, context: 'berth/health', state: 'pending', description, time: NOW.toISOString() };
}

async function putOutbox(store: MemoryStore, record: OutboxRecord): Promise<string> {
  const key = outboxKey(SOURCE, (await store.revision()) + 1);
  await store.commit({ ifUnchanged: { [key]: 0 }, put: [{ key, value: encode(record) }] });
  return key;
}

async function outbox(store: MemoryStore): Promise<Entry[]> {
  return (await store.list(outboxPrefix(SOURCE))).entries;
}

const records = (entries: Entry[]): OutboxRecord[] => entries.map((e) => decode('outbox', e.key, e.value));
const short = (r: OutboxRecord): string => `${r.commit.slice(0, 4)} ${r.context} ${r.state}`;

/** A reporter that remembers what it was given; `fail` makes the next calls throw. */
class FakeReporter implements StatusReporter {
  readonly calls: OutboxRecord[][] = [];
  fail = 0;
  /** Refuse as a forge refuses a bad token (an input error). */
  refuse = false;
  attempts = 0;
  during?: () => Promise<void>;
  async report(entries: OutboxRecord[]): Promise<void> {
    this.attempts++;
    await this.during?.();
    if (this.refuse) throw new InvalidInputError('EFORGEREFUSED', 'the forge refused the token (HTTP 401)');
    if (this.fail > 0) {
      this.fail--;
      throw new UnavailableError('EDOWN', 'reporter is down');
    }
    this.calls.push(entries);
  }
  get delivered(): OutboxRecord[] {
    return this.calls.flat();
  }
}

/** A MemoryStore that remembers every transaction it was asked to commit, in order. */
class RecordingStore extends MemoryStore {
  readonly txns: Txn[] = [];
  override async commit(txn: Txn): Promise<{ ok: boolean; revision: number }> {
    this.txns.push(txn);
    return super.commit(txn);
  }
}

/** A MemoryStore that counts the lists of the outbox: each pass of the outbox loop makes one. */
class ListCountingStore extends MemoryStore {
  outboxLists = 0;
  override async list(prefix: string, opts?: { revision?: number }): Promise<{ entries: Entry[]; revision: number }> {
    if (prefix === outboxPrefix(SOURCE)) this.outboxLists++;
    return super.list(prefix, opts);
  }
}

/** A MemoryStore on which another sync seals the source just before this one's seal txn lands. */
class SealRacingStore extends MemoryStore {
  private raced = false;
  override async commit(txn: Txn): Promise<{ ok: boolean; revision: number }> {
    if (!this.raced && txn.put?.some((p) => p.key === sourceKey(SOURCE))) {
      this.raced = true;
      await super.commit({ put: [{ key: sourceKey(SOURCE), value: '{"type":"seal"}' }] });
    }
    return super.commit(txn);
  }
}

/** A MemoryStore on which another writer takes the outbox key of the next `times` status txns just before they land. */
class CollidingStore extends MemoryStore {
  constructor(private times: number) {
    super();
  }
  override async commit(txn: Txn): Promise<{ ok: boolean; revision: number }> {
    const taken = txn.put?.find((p) => p.key.startsWith(outboxPrefix(SOURCE)));
    if (this.times > 0 && taken && txn.ifUnchanged?.[taken.key] === 0) {
      this.times--;
      await super.commit({ put: [{ key: taken.key, value: encode(health('other', `controller ${this.times}`)) }] });
    }
    return super.commit(txn);
  }
}

describe('the berth/sync status is written with the commit it is about', () => {
  it('applyCommit puts it in the same txn as the seal and the history record, at the history record’s sequence number', async () => {
    const store = new RecordingStore();
    const { seal } = await applyCommit(store, SOURCE, head('a'), [deployment('web'), deployment('api')], NOW);

    const statusTxns = store.txns.filter((t) => t.put?.some((p) => p.key.startsWith(outboxPrefix(SOURCE))));
    expect(statusTxns).toHaveLength(1);
    const keys = statusTxns[0]?.put?.map((p) => p.key) ?? [];
    const [historyKey] = (await store.list(historyPrefix(SOURCE))).entries.map((e) => e.key);
    const [entry] = await outbox(store);
    expect(keys).toEqual([sourceKey(SOURCE), historyKey, entry?.key]);
    expect(entry?.key.slice(outboxPrefix(SOURCE).length)).toBe(historyKey?.slice(historyPrefix(SOURCE).length));
    expect(records(await outbox(store))).toEqual([appliedStatus(SOURCE, head('a').commit, seal.counts, NOW)]);
    expect(records(await outbox(store))[0]?.description).toBe('applied: 2 objects, 2 created, 0 updated, 0 deleted');
  });

  it('recordRejected puts it in the same txn as the history record, and writes nothing else', async () => {
    const store = new RecordingStore();
    const errors = ['apps/web.yaml:17:9: unknown field bogus', 'apps/web.yaml:20:3: another'];
    await recordRejected(store, SOURCE, head('bad'), errors, NOW);

    expect(store.txns).toHaveLength(1);
    expect(store.txns[0]?.put?.map((p) => p.key.split('/')[0])).toEqual(['history', 'outbox']);
    expect(records(await outbox(store))).toEqual([rejectedStatus(SOURCE, head('bad').commit, errors, NOW)]);
    expect(records(await outbox(store))[0]?.description).toBe('rejected: 2 errors; first: apps/web.yaml:17:9: unknown field bogus');
    expect(await store.get(sourceKey(SOURCE))).toBeUndefined();
  });

  it('writes no status when another sync seals the source first', async () => {
    const store = new SealRacingStore();
    const err = await applyCommit(store, SOURCE, head('a'), [deployment('web')], NOW).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ESEALRACE' });
    expect(await outbox(store)).toEqual([]);
  });

  it('keys sort in the order the statuses were written', async () => {
    const store = new MemoryStore();
    await applyCommit(store, SOURCE, head('a'), [deployment('web')], NOW);
    await recordRejected(store, SOURCE, head('bad1'), ['x.yaml:1:1: e'], NOW);
    await putOutbox(store, health('a', 'rolling out'));
    await recordRejected(store, SOURCE, head('bad2'), ['x.yaml:1:1: e'], NOW);
    await applyCommit(store, SOURCE, head('b'), [deployment('web'), deployment('api')], NOW);

    expect(records(await outbox(store)).map(short)).toEqual([
      'a000 berth/sync success', 'bad1 berth/sync failure', 'a000 berth/health pending', 'bad2 berth/sync failure', 'b000 berth/sync success',
    ]);
  });

  it('takes a fresh sequence number when another writer took the next one, overwriting nothing', async () => {
    const store = new CollidingStore(2);
    await applyCommit(store, SOURCE, head('a'), [deployment('web')], NOW);

    expect(records(await outbox(store)).map((r) => r.description)).toEqual(['controller 1', 'controller 0', 'applied: 1 object, 1 created, 0 updated, 0 deleted']);
    expect((await store.list(historyPrefix(SOURCE))).entries).toHaveLength(1);
    expect(await store.get(sourceKey(SOURCE))).toBeDefined();
  });

  it('gives up with ConflictError, writing nothing, when every sequence number it tries is taken', async () => {
    const store = new CollidingStore(100);
    const err = await recordRejected(store, SOURCE, head('bad'), ['x.yaml:1:1: e'], NOW).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConflictError);
    expect(err).toMatchObject({ code: 'ESEQRACE' });
    expect((await store.list(historyPrefix(SOURCE))).entries).toEqual([]);
    expect(records(await outbox(store)).every((r) => r.context === 'berth/health')).toBe(true);
  });
});

describe('drainOutbox', () => {
  const log = silentLogger();

  async function filled(): Promise<MemoryStore> {
    const store = new MemoryStore();
    await applyCommit(store, SOURCE, head('a'), [deployment('web')], NOW);
    await putOutbox(store, health('a', 'rolling out'));
    await recordRejected(store, SOURCE, head('bad'), ['x.yaml:1:1: e'], NOW);
    await putOutbox(store, { ...health('a', 'ready'), state: 'success' });
    await applyCommit(store, SOURCE, head('b'), [deployment('api')], NOW);
    return store;
  }
  const ORDER = ['a000 berth/sync success', 'a000 berth/health pending', 'bad0 berth/sync failure', 'a000 berth/health success', 'b000 berth/sync success'];

  it('reports every entry in key order, then deletes them', async () => {
    const store = await filled();
    const reporter = new FakeReporter();

    expect(await drainOutbox({ store, log, source: SOURCE, reporter })).toEqual({ delivered: 5, dropped: 0 });

    expect(reporter.calls).toHaveLength(1);
    expect(reporter.delivered.map(short)).toEqual(ORDER);
    expect(await outbox(store)).toEqual([]);
    expect(await drainOutbox({ store, log, source: SOURCE, reporter })).toEqual({ delivered: 0, dropped: 0 });
    expect(reporter.calls).toHaveLength(1);
  });

  it('keeps each delivered entry under its commit (notes/<source>/<commit>/<seq>), so the API can read a commit\'s statuses', async () => {
    const store = await filled();
    const seqs = (await outbox(store)).map((e) => e.key.slice(outboxPrefix(SOURCE).length));
    const reporter = new FakeReporter();
    reporter.fail = 1;
    await expect(drainOutbox({ store, log, source: SOURCE, reporter })).rejects.toThrow(UnavailableError);
    expect((await store.list(NOTES)).entries).toEqual([]);

    await drainOutbox({ store, log, source: SOURCE, reporter, batch: 2 });
    const notes = (await store.list(NOTES)).entries;
    expect(notes.map((e) => e.key)).toEqual(
      [[head('a').commit, 0], [head('a').commit, 1], [head('a').commit, 3], [head('b').commit, 4], [head('bad').commit, 2]].map(([c, i]) => noteKey(SOURCE, String(c), seqs[Number(i)] ?? '')),
    );
    expect(records(await store.list(notesPrefix(SOURCE, head('a').commit)).then((l) => l.entries)).map(short)).toEqual(['a000 berth/sync success', 'a000 berth/health pending', 'a000 berth/health success']);
  });

  it('reports in batches, still in order', async () => {
    const store = await filled();
    const reporter = new FakeReporter();
    await drainOutbox({ store, log, source: SOURCE, reporter, batch: 2 });
    expect(reporter.calls.map((c) => c.length)).toEqual([2, 2, 1]);
    expect(reporter.delivered.map(short)).toEqual(ORDER);
  });

  it('deletes nothing when the report fails, and delivers it all the next time', async () => {
    const store = await filled();
    const before = await outbox(store);
    const reporter = new FakeReporter();
    reporter.fail = 1;

    await expect(drainOutbox({ store, log, source: SOURCE, reporter })).rejects.toThrow(UnavailableError);
    expect(await outbox(store)).toEqual(before);

    await drainOutbox({ store, log, source: SOURCE, reporter });
    expect(reporter.delivered.map(short)).toEqual(ORDER);
    expect(await outbox(store)).toEqual([]);
  });

  it('keeps an entry rewritten while it was being reported (compare-and-swap on its modRevision), and delivers its new value next', async () => {
    const store = await filled();
    const [first, second] = await outbox(store);
    const reporter = new FakeReporter();
    const rewritten = { ...health('a', 'rolling out: 1/2 ready') };
    reporter.during = async () => {
      reporter.during = undefined;
      await store.commit({ put: [{ key: second?.key ?? '', value: encode(rewritten) }] });
    };

    expect(await drainOutbox({ store, log, source: SOURCE, reporter })).toEqual({ delivered: 4, dropped: 0 });
    const left = await outbox(store);
    expect(left.map((e) => e.key)).toEqual([second?.key]);
    expect(records(left)).toEqual([rewritten]);
    expect(first && (await store.get(first.key))).toBeUndefined();

    await drainOutbox({ store, log, source: SOURCE, reporter });
    expect(reporter.calls.at(-1)).toEqual([rewritten]);
    expect(await outbox(store)).toEqual([]);
  });

  it('drops an entry that is not a status record, with a warning naming its key, and delivers the rest', async () => {
    const store = await filled();
    const bad = outboxKey(SOURCE, 999_999); // a seq no writer took
    await store.commit({ put: [{ key: bad, value: '{"type":"seal"}' }] });
    const reporter = new FakeReporter();
    const { log: captured, lines } = captureLog();

    expect(await drainOutbox({ store, log: captured, source: SOURCE, reporter })).toEqual({ delivered: 5, dropped: 1 });
    expect(reporter.delivered.map(short)).toEqual(ORDER);
    expect(await outbox(store)).toEqual([]);
    expect(lines.find((l) => l.msg === 'dropped 1 outbox key(s) holding no status record')?.keys).toEqual([bad]);
  });

  it('reads only its own source', async () => {
    const store = await filled();
    const otherKey = outboxKey('other', 1);
    await store.commit({ put: [{ key: otherKey, value: encode({ ...health('x', 'y'), source: 'other' }) }] });
    const reporter = new FakeReporter();
    await drainOutbox({ store, log, source: SOURCE, reporter });
    expect(reporter.delivered).toHaveLength(5);
    expect(await store.get(otherKey)).toBeDefined();
  });
});

describe('startOutbox', () => {
  const stops: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
  });

  it('delivers what was there at start, then each new entry as it is written', async () => {
    const store = new MemoryStore();
    await applyCommit(store, SOURCE, head('a'), [deployment('web')], NOW);
    const reporter = new FakeReporter();
    const loop = await startOutbox({ store, log: silentLogger(), source: SOURCE, reporter, resyncMs: 60_000 });
    stops.push(loop.stop);

    await waitFor(() => reporter.delivered.length === 1, { what: 'the entry present at start' });
    await recordRejected(store, SOURCE, head('bad'), ['x.yaml:1:1: e'], NOW);
    await waitFor(() => reporter.delivered.length === 2, { what: 'the entry written later (through the watch)' });
    expect(reporter.delivered.map(short)).toEqual(['a000 berth/sync success', 'bad0 berth/sync failure']);
    await waitFor(async () => (await outbox(store)).length === 0, { what: 'an empty outbox' });
  });

  it('retries a failed delivery with backoff until it succeeds, losing nothing', async () => {
    const store = new MemoryStore();
    const reporter = new FakeReporter();
    reporter.fail = 3;
    const loop = await startOutbox({ store, log: silentLogger(), source: SOURCE, reporter, resyncMs: 60_000 });
    stops.push(loop.stop);

    await applyCommit(store, SOURCE, head('a'), [deployment('web')], NOW);
    await recordRejected(store, SOURCE, head('bad'), ['x.yaml:1:1: e'], NOW);

    await waitFor(() => reporter.delivered.length === 2, { what: 'delivery after three failures' });
    expect(reporter.fail).toBe(0);
    expect(reporter.delivered.map(short)).toEqual(['a000 berth/sync success', 'bad0 berth/sync failure']);
    await waitFor(async () => (await outbox(store)).length === 0, { what: 'an empty outbox' });
  });

  it('does not retry a refusal (a forge\'s 401) on the clock: a new status, a sync request or a kick tries again', async () => {
    const store = new ListCountingStore();
    const reporter = new FakeReporter();
    reporter.refuse = true;
    const loop = await startOutbox({ store, log: silentLogger(), source: SOURCE, reporter, resyncMs: 20 });
    stops.push(loop.stop);
    await applyCommit(store, SOURCE, head('a'), [deployment('web')], NOW);
    await waitFor(() => reporter.attempts === 1, { what: 'the first, refused delivery' });
    const passes = store.outboxLists;
    await waitFor(() => store.outboxLists >= passes + 5, { what: 'five more passes of the loop' });
    expect(reporter.attempts).toBe(1);

    await recordRejected(store, SOURCE, head('bad'), ['x.yaml:1:1: e'], NOW);
    await waitFor(() => reporter.attempts === 2, { what: 'a try with the new status' });
    loop.kick();
    await waitFor(() => reporter.attempts === 3, { what: 'a try on a kick' });
    // The token fixed, `berth sync main` (a sync request) delivers.
    reporter.refuse = false;
    await store.commit({ put: [{ key: syncRequestKey(SOURCE), value: '{}' }] });
    await waitFor(() => reporter.delivered.length === 2, { what: 'delivery after the sync request' });
    expect(reporter.delivered.map(short)).toEqual(['a000 berth/sync success', 'bad0 berth/sync failure']);
    await waitFor(async () => (await outbox(store)).length === 0, { what: 'an empty outbox' });
  });
});

/** A forge as the outbox's `once` sink: what arrived, and a send that arrives but answers with an error (a lost answer, or a crash right after). */
class FakeForgeSink {
  readonly arrivedList: string[] = [];
  readonly asked: string[] = [];
  /** Descriptions whose send arrives and then throws. */
  readonly loseAnswer = new Set<string>();
  /** Descriptions whose send throws before arriving. */
  readonly failBefore = new Set<string>();
  async send(entry: OutboxRecord): Promise<void> {
    if (this.failBefore.delete(entry.description)) throw new UnavailableError('EDOWN', 'forge down');
    this.arrivedList.push(entry.description);
    if (this.loseAnswer.delete(entry.description)) throw new UnavailableError('EDOWN', 'the answer was lost');
  }
  async arrived(entry: OutboxRecord): Promise<boolean> {
    this.asked.push(entry.description);
    return this.arrivedList.includes(entry.description);
  }
}

describe('drainOutbox with a once sink (a forge)', () => {
  it.each([
    { name: 'arrived, answer lost', cut: 'loseAnswer' as const, asked: ['b'] },
    { name: 'failed before arriving', cut: 'failBefore' as const, asked: ['b'] },
  ])('sends each entry once when a send is cut short ($name): the entry in doubt is asked about, the others are not', async ({ cut, asked }) => {
    const store = new MemoryStore();
    for (const d of ['a', 'b', 'c']) await putOutbox(store, health('c1', d));
    const sink = new FakeForgeSink();
    sink[cut].add('b');
    const noted: string[] = [];
    const reporter: StatusReporter = { report: async (e) => void noted.push(...e.map((r) => r.description)), once: sink };
    await expect(drainOutbox({ store, log: silentLogger(), source: SOURCE, reporter })).rejects.toThrow(UnavailableError);
    expect(records(await outbox(store)).map((r) => r.description)).toEqual(['b', 'c']);
    expect(await drainOutbox({ store, log: silentLogger(), source: SOURCE, reporter })).toEqual({ delivered: 2, dropped: 0 });
    expect(sink.arrivedList).toEqual(['a', 'b', 'c']);
    expect(sink.asked).toEqual(asked);
    // The notes took every batch (they skip a line they have); notes/ keeps each entry once, and no mark is left.
    expect(noted).toEqual(['a', 'b', 'c', 'b', 'c']);
    expect((await store.list(NOTES)).entries.map((e) => decode('outbox', e.key, e.value).description)).toEqual(['a', 'b', 'c']);
    expect((await store.list('outboxsending/')).entries).toEqual([]);
  });
});
