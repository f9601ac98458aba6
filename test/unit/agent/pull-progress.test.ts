import { describe, expect, it } from 'vitest';
import { addProgress, describeTally, newTally, tallyCounts } from '../../../src/agent/pull-progress.js';
import type { PullProgress } from '../../../src/agent/runtime.js';

const A = 'aaaaaaaaaaaa';
const B = 'bbbbbbbbbbbb';

describe('pull progress', () => {
  it.each<[string, PullProgress[], string, number]>([
    ['nothing yet', [{ status: 'Pulling from team/app', id: '1' }], 'resolving the image', 0],
    ['layers announced', [{ status: 'Pulling fs layer', id: A }, { status: 'Waiting', id: B }], '0 of 2 layers done', 0],
    ['downloading', [{ status: 'Pulling fs layer', id: A }, { status: 'Downloading', id: A, current: 500_000, total: 2_000_000 }, { status: 'Already exists', id: B }], '1 of 2 layers done, 500.0 kB of 2.0 MB downloaded', 500_000],
    ['extracting counts the layer as downloaded', [{ status: 'Downloading', id: A, current: 10, total: 3_000 }, { status: 'Extracting', id: A, current: 5, total: 9_000 }], '0 of 1 layer done, 3.0 kB of 3.0 kB downloaded', 3_000],
    ['done', [{ status: 'Downloading', id: A, current: 1, total: 80 }, { status: 'Pull complete', id: A }, { status: 'Digest: sha256:x' }, { status: 'Status: Downloaded newer image for team/app:1' }], '1 of 1 layer done, 80 B of 80 B downloaded', 80],
  ])('%s', (_name, lines, text, downloaded) => {
    const t = newTally();
    for (const l of lines) addProgress(t, l);
    expect(describeTally(t)).toBe(text);
    expect(tallyCounts(t).downloadedBytes).toBe(downloaded);
  });
});
