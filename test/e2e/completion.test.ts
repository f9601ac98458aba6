import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { EtcdStore, commitChunked, encode, nodeKey, podKey, sourceKey, type NodeRecord, type PodRecord } from '../../src/store/index.js';
import { berthCommandLine, runBerth } from '../support/berth.js';
import { uniqueName } from '../support/names.js';
import { run } from '../support/process.js';
import { deployment } from '../unit/controller/fixtures.js';

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

// `berth completion bash` sourced in bash, its function called as bash calls it (COMP_WORDS,
// COMP_CWORD), with `berth` being this checkout's CLI; names come from records in the harness etcd.
describe('berth completion', () => {
  const prefix = `/${uniqueName('complete')}`;
  let store: EtcdStore;
  let dir = '';
  let script = '';

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'berth-complete-'));
    const res = await runBerth(['completion', 'bash']);
    expect(res.code).toBe(0);
    script = path.join(dir, 'berth.bash');
    await fs.writeFile(script, res.stdout);
    store = await EtcdStore.connect([inject('etcdEndpoint')], prefix);
    const web = deployment('web', { namespace: 'shop' });
    const pod = (name: string): PodRecord => ({
      type: 'pod', namespace: 'shop', name, owner: { source: 'main', kind: 'Deployment', name: 'web' }, templateHash: 'h', template: web.spec.template, commit: 'c1', createdAt: new Date().toISOString(),
    });
    const node = (name: string): NodeRecord => ({ type: 'node', name, labels: {}, capacity: { cpu: 1000, memory: 2 ** 30, pods: 110 }, address: '10.0.0.1', version: '0.1.0', startedAt: new Date().toISOString() });
    await commitChunked(store, [
      { key: podKey('shop', 'web-aaa-0'), value: encode(pod('web-aaa-0')) },
      { key: podKey('shop', 'web-aaa-1'), value: encode(pod('web-aaa-1')) },
      { key: nodeKey('node-east'), value: encode(node('node-east')) },
      { key: nodeKey('node-west'), value: encode(node('node-west')) },
      { key: sourceKey('main'), value: encode({ type: 'seal', source: 'main', commit: 'c1', revision: 1, time: new Date().toISOString(), author: 'Ada', message: 'm', counts: { objects: 0, created: 0, updated: 0, deleted: 0 } }) },
    ], []);
  });
  afterAll(async () => {
    const { entries } = await store.list('');
    await commitChunked(store, [], entries.map((e) => e.key));
    await store.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  /** COMPREPLY for the words typed (the last one being completed), in a fresh bash that sourced the script. */
  const complete = async (...words: string[]): Promise<string[]> => {
    const berth = berthCommandLine([]).map(shellQuote).join(' ');
    const program = [
      `berth() { ${berth} "$@"; }`,
      `source ${shellQuote(script)}`,
      `COMP_WORDS=(${words.map(shellQuote).join(' ')})`,
      'COMP_CWORD=$((${#COMP_WORDS[@]} - 1))',
      '_berth',
      'printf "%s\\n" "${COMPREPLY[@]}"',
    ].join('\n');
    const { stdout } = await run('bash', ['-c', program]);
    return stdout.split('\n').filter((l) => l !== '');
  };
  const conn = (): string[] => ['--etcd', inject('etcdEndpoint'), '--prefix', prefix];

  it.each([
    { typed: ['berth', 'des'], expected: ['describe'] },
    { typed: ['berth', 'get', ''], expected: ['pods', 'deployments', 'services', 'endpoints', 'nodes'] },
    { typed: ['berth', 'describe', 'no'], expected: ['node'] },
    { typed: ['berth', 'get', 'pods', '--wat'], expected: ['--watch'] },
    { typed: ['berth', 'status', '-o', ''], expected: ['table', 'json', 'yaml'] },
    { typed: ['berth', 'up', '--log-format', ''], expected: ['auto', 'json', 'pretty'] },
    { typed: ['berth', 'completion', ''], expected: ['bash', 'zsh'] },
    // A flag's value is no argument: the kind after `-n shop` is still the first one.
    { typed: ['berth', 'get', '-n', 'shop', 'dep'], expected: ['deployments'] },
  ])('$typed → $expected', async ({ typed, expected }) => {
    expect(await complete(...typed)).toEqual(expected);
  });

  it('names from the API server or etcd: pods after `describe pod`, nodes after `get nodes`, sources for `--source`, namespaces for `-n`', async () => {
    expect(await complete('berth', 'describe', 'pod', ...conn(), 'web-')).toEqual(['web-aaa-0', 'web-aaa-1']);
    expect(await complete('berth', 'get', 'nodes', ...conn(), '')).toEqual(['node-east', 'node-west']);
    expect(await complete('berth', 'describe', 'node', ...conn(), 'node-w')).toEqual(['node-west']);
    expect(await complete('berth', 'history', ...conn(), '--source', '')).toEqual(['main']);
    expect(await complete('berth', 'get', 'pods', ...conn(), '-n', '')).toEqual(['shop']);
    // Nothing to read: no names, and no error in the middle of the line.
    expect(await complete('berth', 'get', 'nodes', '--etcd', 'http://127.0.0.1:9', '')).toEqual([]);
  });

  it('zsh gets the same function through bashcompinit; an unknown shell is a usage error', async () => {
    const zsh = await runBerth(['completion', 'zsh']);
    expect(zsh.code).toBe(0);
    expect(zsh.stdout.split('\n')[0]).toBe('#compdef berth');
    expect(zsh.stdout).toContain('autoload -U +X bashcompinit && bashcompinit\ncomplete -o default -F _berth berth\n');
    const fish = await runBerth(['completion', 'fish']);
    expect(fish.code).toBe(2);
    expect(fish.stderr.trim()).toBe('berth: berth completion knows bash and zsh, not "fish"; run berth completion bash (or zsh)');
  });
});
