import { describe, expect, it } from 'vitest';
import { HeapPacer, exposedGc } from '../../../src/agent/heap-pacer.js';

const MB = 1024 * 1024;

/** A heap whose used size is set by the test; a collection leaves `live`. */
function fakeHeap(start: number, live: number): { used: () => number; gc: () => void; set: (n: number) => void; collections: () => number } {
  let used = start;
  let n = 0;
  return {
    used: () => used,
    gc: () => {
      n++;
      used = live;
    },
    set: (v) => (used = v),
    collections: () => n,
  };
}

describe('HeapPacer', () => {
  it.each([
    // [heap sizes after each round (MB), what a collection leaves (MB), collections expected]; it starts at 10 MB
    ['grows by less than the step', [10, 11, 11.9], 9, 0],
    ['grows by the step', [10, 12], 9, 1],
    ['collects again only once grown a step past what the last collection left', [12, 10.9, 11], 9, 2],
    ['V8 collected on its own: what it left is the new floor', [8, 9.9], 9, 0],
    ['V8 collected on its own, then the heap grew a step past it', [8, 10], 7, 1],
  ])('%s', (_what, sizes, liveMb, expected) => {
    const heap = fakeHeap(10 * MB, liveMb * MB);
    const pacer = new HeapPacer(heap.gc, heap.used, 2 * MB);
    for (const mb of sizes) {
      heap.set(mb * MB);
      pacer.check();
    }
    expect(heap.collections()).toBe(expected);
  });

  it('collects nothing without an exposed collector', () => {
    const heap = fakeHeap(10 * MB, 10 * MB);
    const pacer = new HeapPacer(undefined, heap.used, 2 * MB);
    heap.set(100 * MB);
    expect(pacer.check()).toBe(false);
  });

  it('finds no collector unless node runs with --expose-gc', () => {
    // vitest runs without the flag; bin/berth gives it to `berth agent`.
    expect(exposedGc()).toBe(typeof (globalThis as { gc?: unknown }).gc === 'function' ? expect.any(Function) : undefined);
  });
});
