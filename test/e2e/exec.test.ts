import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { connectChannels } from '../../src/channels.js';
import { EtcdStore, agentApiKey, decode, readLocalEtcdTls } from '../../src/store/index.js';
import { berthCommandLine, runBerth } from '../support/berth.js';
import { berthUpTestbed } from '../support/berth-up.js';
import { deploymentYaml } from '../support/manifests.js';

const errorLines = (stderr: string): string[] => stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));

/** Run `berth ARGS` under script(1), which gives it a terminal; `input` is typed into it. */
function runInTerminal(args: string[], input: string): Promise<{ code: number | null; output: string }> {
  const line = berthCommandLine(args).map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', line, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`berth ${args.join(' ')} in a terminal did not exit; output: ${output}`));
    }, 60_000);
    // Typed once berth's exec is open: the shell's prompt says so.
    let typed = false;
    child.stdout.on('data', () => {
      if (!typed && /[#$] /.test(output)) {
        typed = true;
        child.stdin.write(input);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

// `berth exec` through the API server of a real `berth up`, which relays to its agent's endpoint.
describe('berth exec', () => {
  const bed = berthUpTestbed('exec');

  it('runs a command in the pod with its exit code, stdin with -i, a terminal with -it; the token is required', async () => {
    const work = await bed.repo();
    await work.write('app.yaml', deploymentYaml({ name: 'box', namespace: 'exec', replicas: 1, image: inject('testImage'), command: ['sh', '-c', 'sleep 100000'] }));
    await work.commit('a pod to exec in');
    const up = bed.up(work);
    const url = await up.api();
    const pod = await up.until(async () => {
      const res = await fetch(`${url}/api/v1/pods?namespace=exec`);
      const [p] = ((await res.json()) as { items: { name: string; status: string }[] }).items;
      return p?.status === 'Running' ? p.name : undefined;
    }, 'the pod running');
    const dataDir = ['--data-dir', bed.dataDir];

    // berth up's start-up ends with a summary: what it follows, its etcd, the node, where the API and dashboard are.
    const summary = up.output.toString().split('\n').find((l) => l.includes('"berth is up'));
    expect(JSON.parse(summary ?? '{}')).toMatchObject({
      msg: expect.stringMatching(new RegExp(`^berth is up: default: ${work.workDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} main( at [0-9a-f]{7})?; etcd https://localhost:\\d+ \\(its own\\); node ${bed.node}; API and dashboard on ${url}/$`)) as unknown,
      etcd: [expect.stringMatching(/^https:\/\/localhost:\d+$/)] as unknown, node: bed.node, api: url, dashboard: `${url}/`,
    });

    const ran = await runBerth(['exec', pod, ...dataDir, '--', 'sh', '-c', 'echo out; echo err >&2; hostname; exit 3']);
    expect(ran.stdout).toBe(`out\n${pod}\n`);
    expect(errorLines(ran.stderr)).toEqual(['err']);
    expect(ran.code).toBe(3);

    const fed = await runBerth(['exec', '-i', pod, '-n', 'exec', '-c', 'box', ...dataDir, '--', 'sh', '-c', 'tr a-z A-Z; echo done'], { input: 'hello\nworld\n' });
    expect(fed).toMatchObject({ code: 0, stdout: 'HELLO\nWORLD\ndone\n' });

    // Without -i the command's stdin is empty; -t with no terminal says it runs without one.
    const alone = await runBerth(['exec', '-t', pod, ...dataDir, '--', 'sh', '-c', 'cat; tty; true'], { input: 'ignored\n' });
    expect(alone.stdout).toBe('not a tty\n');
    expect(errorLines(alone.stderr)).toEqual(['berth: warning: no TTY for the command: -t needs -i and a terminal on standard input']);

    // script(1)'s terminal has no size: berth sends 80x24 on the resize channel.
    const shell = await runInTerminal(['exec', '-it', pod, ...dataDir, '--', 'sh'], 'tty; stty size; exit 7\n');
    expect(shell.output).toMatch(/\/dev\/pts\/\d+\r*\n24 80\r*\n/);
    expect(shell.code).toBe(7);

    const missing = await runBerth(['exec', 'nope', '-n', 'exec', ...dataDir, '--', 'true']);
    expect(missing.code).toBe(1);
    expect(errorLines(missing.stderr)).toEqual(['berth: pod "nope" not found in namespace "exec"; list them with `berth get pods`']);
    const noCommand = await runBerth(['exec', pod, ...dataDir]);
    expect(noCommand.code).toBe(2);
    const notFound = await runBerth(['exec', pod, ...dataDir, '--', 'no-such-program']);
    expect(notFound.code).not.toBe(0);
    expect(notFound.stdout + notFound.stderr).toMatch(/no-such-program/);

    // exec is a write: even from loopback, no token, no exec.
    const stranger = await runBerth(['exec', pod, '--server', url, '--data-dir', path.join(bed.dataDir, 'elsewhere'), '--', 'true'], { env: { ...process.env, BERTH_TOKEN: '' } });
    expect(stranger.code).toBe(1);
    expect(errorLines(stranger.stderr)[0]).toMatch(/^berth: exec needs the API token/);
    const wrong = await runBerth(['exec', pod, '--server', url, '--data-dir', path.join(bed.dataDir, 'elsewhere'), '--', 'true'], { env: { ...process.env, BERTH_TOKEN: 'wrong' } });
    expect(errorLines(wrong.stderr)[0]).toMatch(/^berth: exec needs the API token/);

    // The agent's own endpoint: nothing without the token.
    const etcd = (await fs.readFile(path.join(bed.dataDir, 'etcd', 'endpoint'), 'utf8')).trim();
    const store = await EtcdStore.connect([etcd], '/berth', { tls: await readLocalEtcdTls(path.join(bed.dataDir, 'etcd')) });
    try {
      const entry = await store.get(agentApiKey(bed.node));
      const agent = entry ? decode('agentApi', entry.key, entry.value).url : '';
      for (const token of [undefined, 'wrong']) {
        await expect(connectChannels(`${agent}/exec/exec/${pod}?command=true`, token)).rejects.toMatchObject({ status: 401, code: 'EUNAUTHORIZED' });
      }
    } finally {
      await store.close();
    }
  }, 240_000);
});
