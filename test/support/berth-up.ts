import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, inject } from 'vitest';
import { spawnBerth, waitWhileUp, type BerthProcess } from './berth.js';
import { listContainers, removeContainers, type Listed } from './containers.js';
import { uniqueName } from './names.js';
import { run } from './process.js';
import { createRepo, type TestRepo } from './repo.js';

/** How long {@link BerthUp.until} polls unless told: a `berth up` converges slowly on a loaded machine. */
const UNTIL_MS = 90_000;

/** A running `berth up` of a testbed. */
export interface BerthUp extends BerthProcess {
  /** Poll `check` while this berth up runs (see waitWhileUp): 90 s unless `opts` says otherwise. */
  until<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, opts?: Parameters<typeof waitWhileUp>[3]): Promise<T>;
  /** The URL of its API server, once it has written it to the data dir. */
  api(): Promise<string>;
}

/** One `berth up` of an e2e test file on a test repository of its own, with its own node and data dir. */
export interface BerthUpTestbed {
  readonly dockerHost: string;
  /** The node name of this file's agent (its containers' `berth.node` label). */
  readonly node: string;
  /** The data dir of this file's `berth up` (made on first use, removed after the file's tests). */
  readonly dataDir: string;
  /** A fresh repository under the git server's root, removed after the file's tests. */
  repo(): Promise<TestRepo>;
  /**
   * `berth up` on `repo` (its work tree; a string is a repository URL), polling every second, on
   * this node, engine and data dir, with `args` added (a later flag wins); stopped after the file's
   * tests. `outputLimit` (characters, default 20,000) is how much of its output it keeps.
   */
  up(repo: TestRepo | string, args?: readonly string[], opts?: { outputLimit?: number }): BerthUp;
  /** This node's pods' containers that run (sandboxes left out); with `container`, those of that container name. */
  running(container?: string): Promise<Listed[]>;
  /** The docker CLI on this testbed's engine: its stdout. */
  docker(...args: string[]): Promise<string>;
  /** Runs after the file's tests, once every berth up is stopped and the node's containers are gone (a network they used, say). */
  cleanup(step: () => Promise<unknown>): void;
}

/**
 * Registers the afterAll of an e2e test file that runs `berth up`: every berth up stopped, the node's
 * containers and Service stubs removed, then the `cleanup` steps, the repositories and the data dir.
 * Call it once inside the file's describe.
 */
export function berthUpTestbed(name: string): BerthUpTestbed {
  const dockerHost = inject('dockerHost');
  const node = uniqueName(name);
  // A pod network of the file's own (a test's --pod-network wins): whether one-container pods run
  // without sandboxes must not depend on a network of the shared name another run (of older code) made.
  const podNetwork = `${node}-pods`;
  const procs: BerthProcess[] = [];
  const repos: TestRepo[] = [];
  const steps: (() => Promise<unknown>)[] = [];
  let dataDir = '';
  const dir = (): string => (dataDir ||= fs.mkdtempSync(path.join(os.tmpdir(), `berth-${name}-`)));
  const docker = async (...args: string[]): Promise<string> => (await run('docker', args, { env: { ...process.env, DOCKER_HOST: dockerHost } })).stdout;

  afterAll(async () => {
    // Stopped first: a running agent would make its containers and stubs again.
    for (const p of procs) await p.stop();
    await removeContainers(dockerHost, 'berth.service-node', node);
    await removeContainers(dockerHost, 'berth.node', node);
    await docker('network', 'rm', podNetwork).catch(() => undefined);
    for (const step of steps) await step();
    for (const r of repos) await r.dispose();
    if (dataDir) await fs.promises.rm(dataDir, { recursive: true, force: true });
  });

  return {
    dockerHost,
    node,
    get dataDir() {
      return dir();
    },
    repo: async () => {
      const r = await createRepo(inject('gitRoot'), uniqueName(name));
      repos.push(r);
      return r;
    },
    up: (repo, args = [], opts = {}) => {
      const where = typeof repo === 'string' ? repo : repo.workDir;
      const p = spawnBerth(['up', '--repo', where, '--node', node, '--docker', dockerHost, '--interval', '1s', '--data-dir', dir(), '--pod-network', podNetwork, ...args], process.env, opts);
      procs.push(p);
      const up: BerthUp = {
        ...p,
        until: (check, what, o = {}) => waitWhileUp(p, check, what, { timeoutMs: UNTIL_MS, ...o }),
        api: () => up.until(async () => (await fs.promises.readFile(path.join(dir(), 'api-endpoint'), 'utf8').catch(() => '')).trim() || undefined, 'the API endpoint file'),
      };
      return up;
    },
    running: async (container) =>
      (await listContainers(dockerHost, 'berth.node', node)).filter((c) => c.state === 'running' && (container === undefined || c.labels['berth.container'] === container)),
    docker,
    cleanup: (step) => {
      steps.push(step);
    },
  };
}

/** The lines of `sha`'s berth note (refs/notes/berth); none before the first is written. */
export async function noteLines(repo: TestRepo, sha: string): Promise<string[]> {
  return (await repo.git('notes', '--ref=berth', 'show', sha).catch(() => '')).split('\n').filter(Boolean);
}
