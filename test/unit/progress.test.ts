import { describe, expect, it } from 'vitest';
import { terminalProgress } from '../../src/cli/logger.js';
import { progressLine } from '../../src/sync/progress.js';

describe('progressLine', () => {
  it.each([
    [{ phase: 'Receiving objects', loaded: 420, total: 1000 }, 'fetching https://git.example.com/web.git: Receiving objects: 42% (420/1000)'],
    [{ phase: 'Receiving objects', loaded: 1000, total: 1000 }, 'fetching https://git.example.com/web.git: Receiving objects: 100% (1000/1000)'],
    [{ phase: 'Counting objects', loaded: 17, total: 0 }, 'fetching https://git.example.com/web.git: Counting objects: 17'],
  ])('%j', (event, line) => {
    expect(progressLine('https://git.example.com/web.git', event)).toBe(line);
  });
});

describe('terminalProgress', () => {
  const stream = (isTTY: boolean): { writes: string[]; s: NodeJS.WriteStream } => {
    const writes: string[] = [];
    return { writes, s: { isTTY, columns: 40, write: (c: string) => (writes.push(c), true) } as unknown as NodeJS.WriteStream };
  };
  it('on a terminal: one line rewritten in place, cut to the width, cleared at the end', () => {
    const { writes, s } = stream(true);
    const show = terminalProgress(s);
    const line = 'fetching https://git.example.com/web.git: Receiving objects: 42% (420/1000)';
    show?.(line);
    show?.(undefined);
    expect(writes).toEqual([`\r\x1b[K${line.slice(0, 39)}`, '\r\x1b[K']);
  });
  it('elsewhere: nothing', () => {
    expect(terminalProgress(stream(false).s)).toBeUndefined();
  });
});
