// A pull's progress lines folded into one line for people: layers done and bytes downloaded. Pure.
import type { PullProgress } from './runtime.js';

/** What Docker said last about each layer of one pull. */
export interface PullTally {
  layers: Map<string, { status: string; current?: number; total?: number }>;
}

/** Layer states after which nothing of the layer is left to fetch. */
const DONE = new Set(['Pull complete', 'Already exists']);
/** Layer states after its download, whatever their byte counts say (those count extraction). */
const DOWNLOADED = new Set(['Download complete', 'Verifying Checksum', 'Extracting', 'Pull complete']);
/** Lines about a layer (others, such as "Pulling from app" with the tag as id, are about the whole pull). */
const LAYER = /^[0-9a-f]{12,64}$/;

/** An empty tally. */
export function newTally(): PullTally {
  return { layers: new Map() };
}

/** Fold one line of Docker's pull stream into `tally` (in place: a large pull sends thousands). */
export function addProgress(tally: PullTally, p: PullProgress): void {
  if (p.id === undefined || !LAYER.test(p.id)) return;
  const was = tally.layers.get(p.id);
  const next: { status: string; current?: number; total?: number } = { status: p.status };
  // Only download lines carry the layer's size; keep it through the later states.
  if (p.status === 'Downloading') {
    if (p.current !== undefined) next.current = p.current;
    if (p.total !== undefined) next.total = p.total;
  } else if (was?.total !== undefined) {
    next.total = was.total;
    next.current = DOWNLOADED.has(p.status) ? was.total : (was.current ?? 0);
  }
  tally.layers.set(p.id, next);
}

/** Bytes for people: 1.2 MB, 512 kB, 80 B (decimal units, as Docker prints them). */
export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}

/** The tally in numbers, for a structured log line. */
export function tallyCounts(tally: PullTally): { layers: number; layersDone: number; downloadedBytes: number; totalBytes: number } {
  let layersDone = 0;
  let downloadedBytes = 0;
  let totalBytes = 0;
  for (const l of tally.layers.values()) {
    if (DONE.has(l.status)) layersDone++;
    if (l.total !== undefined) {
      totalBytes += l.total;
      downloadedBytes += Math.min(l.current ?? 0, l.total);
    }
  }
  return { layers: tally.layers.size, layersDone, downloadedBytes, totalBytes };
}

/** One line: `2 of 3 layers done, 1.2 MB of 4.0 MB downloaded` (bytes once Docker has said sizes). */
export function describeTally(tally: PullTally): string {
  const c = tallyCounts(tally);
  if (c.layers === 0) return 'resolving the image';
  const layers = `${c.layersDone} of ${c.layers} layer${c.layers === 1 ? '' : 's'} done`;
  return c.totalBytes > 0 ? `${layers}, ${formatBytes(c.downloadedBytes)} of ${formatBytes(c.totalBytes)} downloaded` : layers;
}
