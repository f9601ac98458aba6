/** A seeded pseudo-random source, so a fault trial's choices can be replayed. */
export interface Random {
  readonly seed: number;
  /** In [0, 1). */
  next(): number;
  /** An integer in [min, max]. */
  int(min: number, max: number): number;
  /** One of `items` (which must not be empty). */
  pick<T>(items: readonly T[]): T;
}

/**
 * The suite's seed: BERTH_FAULT_SEED when set (to replay a run), else a fresh one. Each scenario
 * derives its own stream from it and its name, so replaying one file replays its choices
 * whatever else runs.
 */
export function faultRandom(scenario: string, env: NodeJS.ProcessEnv = process.env): Random {
  const given = env.BERTH_FAULT_SEED;
  const seed = given !== undefined && /^\d+$/.test(given) ? Number(given) % 2 ** 32 : Math.floor(Math.random() * 2 ** 32);
  return seededRandom(seed, scenario);
}

/** mulberry32 over the seed mixed with the scenario's name: small, fast, and good enough to spread faults. */
export function seededRandom(seed: number, scenario = ''): Random {
  let state = seed >>> 0;
  for (const ch of scenario) state = Math.imul(state ^ ch.charCodeAt(0), 0x9e3779b1) >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return {
    seed,
    next,
    int: (min, max) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]): T => {
      const item = items[Math.floor(next() * items.length)];
      if (item === undefined) throw new Error('pick from an empty list');
      return item;
    },
  };
}
