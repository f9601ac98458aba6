import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// The project's own eslint.config.js, run through ESLint's Node API on snippets placed in src/, so
// the one-importer-per-library rule (STYLE.md) is proven to catch what it is meant to.
const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
// The snippets are not files of the TypeScript project: let its project service type them on their own.
const eslint = new ESLint({
  cwd: projectRoot,
  overrideConfig: { languageOptions: { parserOptions: { projectService: { allowDefaultProject: ['src/*/lint-probe.ts', 'src/lint-probe.ts'] } } } },
});

/** The no-restricted-imports messages for `source` imported by the file `file` (relative to the root). */
async function restricted(file: string, source: string): Promise<string[]> {
  const code = `import * as lib from '${source}';\nexport const used = lib;\n`;
  const [result] = await eslint.lintText(code, { filePath: path.join(projectRoot, file) });
  if (result === undefined) throw new Error(`no lint result for ${file}`);
  const fatal = result.messages.filter((m) => m.fatal);
  if (fatal.length > 0) throw new Error(`lint could not parse ${file}: ${fatal.map((m) => m.message).join('; ')}`);
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('one importer per library (eslint.config.js)', () => {
  it.each([
    ['src/controller/lint-probe.ts', 'dockerode', 'only src/agent imports dockerode'],
    ['src/controller/lint-probe.ts', 'dockerode/lib/docker', 'only src/agent imports dockerode'],
    ['src/api/lint-probe.ts', 'isomorphic-git', 'only src/sync imports isomorphic-git'],
    ['src/api/lint-probe.ts', 'isomorphic-git/http/node', 'only src/sync imports isomorphic-git'],
    ['src/scheduler/lint-probe.ts', 'etcd3/lib/rpc', 'only src/store imports etcd3'],
    ['src/agent/lint-probe.ts', 'commander/esm.mjs', 'only src/cli imports commander'],
    ['src/cli/lint-probe.ts', 'pino/file', 'only src/log.ts imports pino'],
    ['src/controller/lint-probe.ts', 'chokidar', 'only src/sync imports chokidar'],
    ['src/controller/lint-probe.ts', 'pino-pretty', 'only src/log.ts imports pino-pretty'],
    // Per library: owning one library does not open the others.
    ['src/store/lint-probe.ts', 'dockerode', 'only src/agent imports dockerode'],
    ['src/sync/lint-probe.ts', 'etcd3', 'only src/store imports etcd3'],
    ['src/agent/lint-probe.ts', 'isomorphic-git/http/node', 'only src/sync imports isomorphic-git'],
  ])('%s may not import %s', async (file, source, message) => {
    const messages = await restricted(file, source);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain(message);
  });

  it.each([
    ['src/agent/lint-probe.ts', 'dockerode'],
    ['src/sync/lint-probe.ts', 'isomorphic-git/http/node'],
    ['src/sync/lint-probe.ts', 'chokidar'],
    ['src/store/lint-probe.ts', 'etcd3'],
    ['src/cli/lint-probe.ts', 'commander'],
    ['src/log.ts', 'pino'],
    // A library whose name only starts alike is another library.
    ['src/controller/lint-probe.ts', 'pino-abstract-transport'],
    ['src/controller/lint-probe.ts', 'node:fs'],
  ])('%s may import %s', async (file, source) => {
    expect(await restricted(file, source)).toEqual([]);
  });
});
