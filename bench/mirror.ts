// mirror: the bare mirror berth keeps of a remote repository, after 1,000 commits each fetched as it
// was pushed (one fetch per push, as a sync does). Its size against the same history in the served
// repository packed by `git gc` (what Git itself keeps), and the time of a one-commit fetch at the
// start and at the end (isomorphic-git adds one pack per fetch and never repacks; berth repacks past 50,
// after the fetch, as sync does once a commit is sealed: the slowest repack is shown apart).
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { GitSource } from '../src/sync/index.js';
import { startGitServer } from '../test/support/git-server.js';
import { createRepo } from '../test/support/repo.js';
import { quantile, result, type Bench, type Result } from './result.js';

const BENCH = 'mirror';
const run = promisify(execFile);

/** Bytes and files under `dir`. */
async function sizeOf(dir: string): Promise<{ bytes: number; files: number; packs: number }> {
  let bytes = 0;
  let files = 0;
  let packs = 0;
  for (const name of await readdir(dir, { recursive: true })) {
    const s = await stat(path.join(dir, name));
    if (!s.isFile()) continue;
    bytes += s.size;
    files++;
    if (name.endsWith('.pack')) packs++;
  }
  return { bytes, files, packs };
}

export const mirror: Bench = {
  async run(say) {
    const commits = Number(process.env.MIRROR_COMMITS ?? 1000);
    const root = await mkdtemp(path.join(os.tmpdir(), 'berth-bench-mirror-'));
    const server = await startGitServer(root);
    try {
      const repo = await createRepo(root, 'mirror');
      // A repository of 100 manifests of about 1 KB; each commit changes one of them.
      const manifest = (i: number, v: number): string => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-${i}}\ndata:\n${Array.from({ length: 20 }, (_, k) => `  key-${k}: "value ${k} version ${v}"`).join('\n')}\n`;
      for (let i = 0; i < 100; i++) await repo.write(`apps/cm-${i}.yaml`, manifest(i, 0));
      await repo.commit('seed');
      await repo.push();
      const dataDir = await mkdtemp(path.join(os.tmpdir(), 'berth-bench-mirror-data-'));
      const source = new GitSource({ repo: repo.url(server.url), branch: 'main', path: 'apps', dataDir });
      await source.head();
      const fetches: number[] = [];
      const repacks: number[] = [];
      for (let c = 1; c <= commits; c++) {
        await repo.write(`apps/cm-${c % 100}.yaml`, manifest(c % 100, c));
        const made = await repo.commit(`change ${c}`);
        await repo.push();
        const t = performance.now();
        const head = await source.head();
        fetches.push(performance.now() - t);
        if (head.commit !== made) throw new Error(`fetched ${head.commit}, expected ${made}`);
        const r = performance.now();
        if (await source.repack()) repacks.push(performance.now() - r);
        if (c % 200 === 0) say(`${c} commits fetched`);
      }
      const [mirrorDir] = await readdir(path.join(dataDir, 'repos'));
      const mine = await sizeOf(path.join(dataDir, 'repos', mirrorDir ?? ''));
      await run('git', ['--git-dir', repo.bareDir, 'gc', '--quiet']);
      const git = await sizeOf(repo.bareDir);
      const first = quantile(fetches.slice(0, 20), 0.5);
      const last = quantile(fetches.slice(-20), 0.5);
      const mb = (b: number): number => b / 2 ** 20;
      say(`after ${commits} commits: mirror ${mb(mine.bytes).toFixed(2)} MB in ${mine.files} files (${mine.packs} packs); the served repository after git gc ${mb(git.bytes).toFixed(2)} MB in ${git.files} files; one-commit fetch median ${Math.round(first)} ms at the start, ${Math.round(last)} ms at the end, slowest ${Math.round(Math.max(...fetches))} ms; ${repacks.length} repack(s) after a fetch, the slowest ${Math.round(Math.max(0, ...repacks))} ms`);
      if (process.env.MIRROR_KEEP === undefined) await rm(dataDir, { recursive: true, force: true });
      else say(`mirror kept in ${dataDir}`);
      await repo.dispose();
      const results: Result[] = [
        result(BENCH, `mirror_mb_after_${commits}_commits`, mb(mine.bytes), 'MB', 'the served repository after git gc', mb(git.bytes)),
        result(BENCH, `mirror_files_after_${commits}_commits`, mine.files, 'files', 'the served repository after git gc', git.files),
        result(BENCH, `fetch_ms_after_${commits}_commits`, last, 'ms', 'the same fetch after the first commits', first),
      ];
      return results;
    } finally {
      await server.stop();
      await rm(root, { recursive: true, force: true });
    }
  },
};
