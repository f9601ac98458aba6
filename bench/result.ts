/** One measured metric next to the same metric of a named peer, measured in the same run. */
export interface Result {
  bench: string;
  metric: string;
  value: number;
  unit: string;
  peer: string;
  peerValue: number;
  /** value ÷ peerValue. */
  ratio: number;
}

/** A benchmark: runs, logs progress through `say`, returns its results. */
export interface Bench {
  run(say: (line: string) => void): Promise<Result[]>;
}

/** The q-quantile (0..1) of samples, nearest-rank. */
export function quantile(samples: number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] ?? Number.NaN;
}

/** Build a result, computing the ratio. */
export function result(bench: string, metric: string, value: number, unit: string, peer: string, peerValue: number): Result {
  const round = (n: number): number => Math.round(n * 100) / 100;
  return { bench, metric, value: round(value), unit, peer, peerValue: round(peerValue), ratio: round(value / peerValue) };
}

/** A human line for a result. */
export function formatResult(r: Result): string {
  return `${r.bench} ${r.metric}: ${r.value} ${r.unit}  (peer \`${r.peer}\`: ${r.peerValue} ${r.unit}, ratio ${r.ratio})`;
}
