import {
  decode, desiredPrefix, outboxPrefix, sourceKey, type Closer, type OutboxRecord, type Store,
} from '../../../src/store/index.js';

/**
 * A reader of one source that watches etcd for the whole run, as every berth reader reads: at each
 * seal it reads the desired state at the sealed revision and checks that it is that commit's whole
 * state (every object written by the sealed commit, as many as the seal counts), so a partial commit
 * ever made visible is caught when it happens. It also keeps every status put into the outbox, to
 * count them against what reached the commits.
 */
export interface CommitWatcher {
  /** Descriptions of what was wrong, e.g. `seal of 1a2b3c4 at 812: 1 of 2 objects from another commit`. */
  readonly partial: string[];
  /** Seals checked so far. */
  readonly seals: () => number;
  /** Every outbox entry put, by key. */
  readonly statuses: Map<string, OutboxRecord>;
  /** Resolves once every seal seen so far was checked. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Watch `source` under `store` from now on. With `everyObjectChanges`, each commit of the run changes
 * every object, so each object read at a seal must carry the sealed commit.
 */
export async function watchCommits(store: Store, source: string, opts: { everyObjectChanges: boolean }): Promise<CommitWatcher> {
  const partial: string[] = [];
  const statuses = new Map<string, OutboxRecord>();
  let checked = 0;
  let queue: Promise<void> = Promise.resolve();
  const check = async (revision: number, value: string, key: string): Promise<void> => {
    const seal = decode('seal', key, value);
    const { entries } = await store.list(desiredPrefix(source), { revision: seal.revision });
    const records = entries.map((e) => decode('desired', e.key, e.value));
    const short = seal.commit.slice(0, 7);
    if (records.length !== seal.counts.objects) partial.push(`seal of ${short} at ${revision}: ${records.length} objects visible, the seal counts ${seal.counts.objects}`);
    const other = records.filter((r) => r.commit !== seal.commit);
    if (opts.everyObjectChanges && other.length > 0) partial.push(`seal of ${short} at ${revision}: ${other.length} of ${records.length} objects from another commit (${other.map((r) => r.commit.slice(0, 7)).join(', ')})`);
    checked++;
  };
  const watch: Closer = store.watch('', (await store.revision()) + 1, (e) => {
    if (e.type !== 'put') return;
    if (e.key === sourceKey(source)) {
      const { key, value, revision } = e;
      queue = queue.then(() => check(revision, value, key)).catch((err: unknown) => {
        partial.push(`seal at ${revision} unreadable: ${err instanceof Error ? err.message : String(err)}`);
      });
    } else if (e.key.startsWith(outboxPrefix(source))) {
      statuses.set(e.key, decode('outbox', e.key, e.value));
    }
  }, (err) => partial.push(`the watch broke: ${err.message}`));
  return {
    partial,
    seals: () => checked,
    statuses,
    settled: () => queue,
    close: () => watch.close(),
  };
}
