import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, inject } from 'vitest';
import { spawnBerth, type BerthProcess } from './berth.js';
import { removeContainers } from './containers.js';
import { uniqueName } from './names.js';
import { createRepo, type TestRepo } from './repo.js';

/** One `berth up` of an e2e test file on a test repository of its own, with its own node and data dir. */
export interface BerthUpTestbed {
  readonly dockerHost: string;
  /** The node name of this file's agent (its containers' `berth.node` label). */
  readonly node: string;
  /** The data dir of this file's `berth up` (made by `repo()`). */
  readonly dataDir: string;
  /** A fresh repository (and the data dir); both removed after the file's tests. */
  repo(): Promise<TestRepo>;
  /** `berth up` on `repo`, polling every second, with `args` added; stopped after the file's tests. */
  up(repo: TestRepo, args?: readonly string[]): BerthProcess;
}

/**
 * Registers the afterAll of an e2e test file that runs `berth up`: the process stopped, the node's
 * containers, the repository and the data dir removed. Call it once inside the file's describe.
 */
export function berthUpTestbed(name: string): BerthUpTestbed {
  const dockerHost = inject('dockerHost');
  const node = uniqueName(name);
  let berth: BerthProcess | undefined;
  let repo: TestRepo | undefined;
  let dataDir = '';

  afterAll(async () => {
    await berth?.stop();
    await removeContainers(dockerHost, 'berth.node', node);
    await repo?.dispose();
    if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
  });

  return {
    dockerHost,
    node,
    get dataDir() {
      return dataDir;
    },
    repo: async () => {
      dataDir = await fs.mkdtemp(path.join(os.tmpdir(), `berth-${name}-`));
      repo = await createRepo(inject('gitRoot'), uniqueName(name));
      return repo;
    },
    up: (work, args = []) => {
      berth = spawnBerth(['up', '--repo', work.workDir, '--node', node, '--docker', dockerHost, '--interval', '1s', '--data-dir', dataDir, ...args]);
      return berth;
    },
  };
}

/** The lines of `sha`'s berth note (refs/notes/berth); none before the first is written. */
export async function noteLines(repo: TestRepo, sha: string): Promise<string[]> {
  return (await repo.git('notes', '--ref=berth', 'show', sha).catch(() => '')).split('\n').filter(Boolean);
}
