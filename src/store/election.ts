// Leader election over the store: one holder of `leaders/<name>` at a time, on its own lease.
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { readFile, readlink } from 'node:fs/promises';
import type { Logger } from '../log.js';
import { messageOf } from '../errors.js';
import { leaderKey } from './keys.js';
import { decode, encode, type LeaderRecord } from './records.js';
import type { Closer, Lease, Store } from './store.js';

/** Something that runs only while it leads. */
export interface Runner {
  stop(): Promise<void>;
}

/** How to run a component under an election. */
export interface ElectionOptions {
  store: Store;
  log: Logger;
  /** What is led: `controller`, `scheduler`, `sync/<source>`. */
  name: string;
  /** Start the component once elected; it is stopped when the lease is lost and on stop(). */
  start: () => Promise<Runner>;
  /** TTL of the leader's lease (default 5 s): a dead leader is replaced within it. */
  ttlSeconds?: number;
  /** How often the leader renews (default 1 s). */
  renewMs?: number;
  /** How often a follower looks again even without a watch event (default the TTL). */
  retryMs?: number;
}

/** A running election. */
export interface Election {
  /** Whether this process leads now. */
  leading(): boolean;
  /** Stop the component if it runs, and step down at once (the lease is revoked: another takes over now). */
  stop(): Promise<void>;
}

/** How often a follower looks whether the process of a leader of this machine is still there (one kill(pid, 0)). */
const LOCAL_LEADER_CHECK_MS = 250;

/**
 * Campaign for `leaders/<name>`: a create-if-absent put on a lease of this process. The winner starts
 * the component; the others watch the key and campaign again when it goes (the leader stopped and
 * revoked its lease, or died and its lease expired: within one TTL). A leader that loses its lease
 * (it could not renew it) stops its component before anyone else can be elected for long: every
 * write berth makes is also guarded by compare-and-swap, so an overlap costs retries, never a wrong write.
 */
export async function startElection(opts: ElectionOptions): Promise<Election> {
  const { store, name } = opts;
  const log = opts.log.child({ election: name });
  const key = leaderKey(name);
  const ttlSeconds = opts.ttlSeconds ?? 5;
  const holder = `${os.hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`;
  const machine = await thisMachine();
  let stopped = false;
  let lease: Lease | undefined;
  let runner: Runner | undefined;
  let timer: NodeJS.Timeout | undefined;
  let busy: Promise<void> = Promise.resolve();
  /** While a process of this machine leads: the timer that looks whether it is still there. */
  let local: NodeJS.Timeout | undefined;

  /** Run one step at a time: a lost lease, a watch event and the retry timer may come together. */
  const serially = (step: () => Promise<void>): void => {
    busy = busy.then(step).catch((err: unknown) => {
      log.warn({ err: messageOf(err) }, 'election step failed; trying again');
      later();
    });
  };
  const later = (): void => {
    clearTimeout(timer);
    if (stopped) return;
    timer = setTimeout(() => serially(campaign), opts.retryMs ?? ttlSeconds * 1000);
    timer.unref();
  };

  /**
   * Follow a leader of this machine by its pid: once its process is gone, campaign at once (which
   * takes its key), rather than at the next retry or when its lease ends, up to a TTL later.
   */
  const watchLocal = (pid: number | undefined): void => {
    clearInterval(local);
    local = undefined;
    if (pid === undefined || stopped) return;
    const timer = setInterval(() => {
      if (!isGone(pid)) return;
      clearInterval(timer);
      serially(campaign);
    }, LOCAL_LEADER_CHECK_MS);
    timer.unref();
    local = timer;
  };

  const stepDown = async (): Promise<void> => {
    const running = runner;
    runner = undefined;
    await running?.stop();
  };

  const campaign = async (): Promise<void> => {
    if (stopped || runner !== undefined) return;
    const granted = await store.lease(ttlSeconds, { renewMs: opts.renewMs ?? 1_000 });
    const record: LeaderRecord = { type: 'leader', name, holder, since: new Date().toISOString(), lease: granted.id, ...(machine === undefined ? {} : { machine }) };
    const { ok } = await store.commit({ ifUnchanged: { [key]: 0 }, put: [{ key, value: encode(record), lease: granted }] });
    if (!ok) {
      await granted.revoke();
      const held = await store.get(key);
      const leader = held && decode('leader', held.key, held.value);
      // A leader of this machine whose process is gone (killed, crashed, and restarted as us) holds
      // nothing any more: its key goes now rather than with its lease, a TTL later.
      if (held && leader && machine !== undefined && leader.machine === machine && isGone(pidOf(leader.holder))) {
        const { ok: gone } = await store.commit({ ifUnchanged: { [key]: held.modRevision }, del: [key] });
        if (gone) log.info({ leader: leader.holder }, 'the leader was a process of this machine that is gone; campaigning now');
        later();
        return;
      }
      log.debug({ leader: leader?.holder }, 'another process leads; following');
      watchLocal(leader && machine !== undefined && leader.machine === machine ? pidOf(leader.holder) : undefined);
      later();
      return;
    }
    watchLocal(undefined);
    lease = granted;
    granted.onLost(() => {
      if (lease !== granted) return;
      lease = undefined;
      log.warn('leader lease lost: stepping down');
      serially(async () => {
        await stepDown();
        await campaign();
      });
    });
    log.info({ holder }, 'elected: starting');
    try {
      runner = await opts.start();
    } catch (err) {
      lease = undefined;
      await granted.revoke();
      throw err;
    }
  };

  const revision = await store.revision();
  const watch: Closer = store.watch(key, revision + 1, (e) => {
    if (e.key === key && e.type === 'delete') serially(campaign);
  }, () => later());
  serially(campaign);
  await busy;

  return {
    leading: () => runner !== undefined,
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      clearInterval(local);
      await busy;
      await watch.close();
      await stepDown();
      const held = lease;
      lease = undefined;
      await held?.revoke();
    },
  };
}

/**
 * `<boot id>/<pid namespace>`: two processes that share it see the same pids. Undefined off Linux
 * (or without /proc): then no leader is ever taken for dead before its lease ends.
 */
async function thisMachine(): Promise<string | undefined> {
  try {
    const [boot, ns] = await Promise.all([readFile('/proc/sys/kernel/random/boot_id', 'utf8'), readlink('/proc/self/ns/pid')]);
    return `${boot.trim()}/${ns}`;
  } catch {
    return undefined;
  }
}

/** The pid of a holder `<hostname>/<pid>/<random>` (the hostname may hold no '/'). */
function pidOf(holder: string): number | undefined {
  const pid = Number(holder.split('/').at(-2));
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** True only when no process has `pid` (a zombie, or a pid reused since, counts as alive: the lease decides then). */
function isGone(pid: number | undefined): boolean {
  if (pid === undefined || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
