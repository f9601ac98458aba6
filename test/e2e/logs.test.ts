import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { EtcdStore, agentApiKey, decode, readLocalEtcdTls } from '../../src/store/index.js';
import { runBerth, spawnBerth, waitWhileUp } from '../support/berth.js';
import { berthUpTestbed } from '../support/berth-up.js';
import { deploymentYaml } from '../support/manifests.js';
import { exited } from '../support/process.js';

const errorLines = (stderr: string): string[] => stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));

// `berth logs` through the API server of a real `berth up`, which proxies to its agent's log endpoint.
describe('berth logs', () => {
  const bed = berthUpTestbed('logs');

  it('prints a pod\'s stdout and stderr, the last n lines, follows new ones, and a crashed run with --previous; the agent\'s endpoint wants the token', async () => {
    const work = await bed.repo();
    const script = 'echo hello-out; echo hello-err >&2; i=0; while true; do i=$((i+1)); echo tick-$i; sleep 1; done';
    await work.write('app.yaml', deploymentYaml({ name: 'talk', namespace: 'logs', replicas: 1, image: inject('testImage'), command: ['sh', '-c', script] }));
    // A container that crashes once and runs on its second try (restarted in place, so /tmp keeps the count).
    const twice = 'n=$(cat /tmp/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /tmp/n; echo run-$n; echo err-$n >&2; if [ $n -ge 2 ]; then exec sleep 100000; fi; sleep 1; exit 3';
    await work.write('crash.yaml', deploymentYaml({ name: 'crash', namespace: 'crash', replicas: 1, image: inject('testImage'), command: ['sh', '-c', twice] }));
    await work.commit('a talking pod and one that crashes once');
    const up = bed.up(work);
    const url = await up.api();
    const pod = await up.until(async () => {
      const res = await fetch(`${url}/api/v1/pods?namespace=logs`);
      const [p] = ((await res.json()) as { items: { name: string; status: string }[] }).items;
      return p?.status === 'Running' ? p.name : undefined;
    }, 'the pod running');
    const dataDir = ['--data-dir', bed.dataDir];

    const all = await up.until(async () => {
      const res = await runBerth(['logs', pod, ...dataDir]);
      // Docker copies stdout and stderr separately: hello-err may land after tick-1, never after tick-2.
      return res.code === 0 && res.stdout.includes('tick-2') ? res : undefined;
    }, 'the first lines');
    expect(all.stdout.split('\n').slice(0, 3)).toEqual(expect.arrayContaining(['hello-out', 'hello-err']));

    const last = await runBerth(['logs', pod, '-n', 'logs', '--tail', '1', ...dataDir]);
    expect(last.stdout).toMatch(/^tick-\d+\n$/);
    const seen = Number(/tick-(\d+)/.exec(last.stdout)?.[1]);

    const follow = spawnBerth(['logs', pod, '-f', '--since', '1h', ...dataDir]);
    await waitWhileUp(follow, () => Number([...follow.output.toString().matchAll(/tick-(\d+)/g)].at(-1)?.[1] ?? 0) > seen + 1, 'new lines while following');
    const gone = exited(follow.child);
    follow.child.kill('SIGINT');
    await gone;
    expect(follow.child.exitCode).toBe(0);

    const missing = await runBerth(['logs', 'nope', '-n', 'logs', ...dataDir]);
    expect(missing.code).toBe(1);
    expect(errorLines(missing.stderr)).toEqual(['berth: pod "nope" not found in namespace "logs"; list them with `berth get pods`']);
    expect((await fetch(`${url}/api/v1/pods/logs/${pod}/logs?tail=-1`)).status).toBe(400);

    // --previous: the run before this one, kept by Docker in the container restarted in place.
    const crashed = await up.until(async () => {
      const res = await fetch(`${url}/api/v1/pods?namespace=crash`);
      const [p] = ((await res.json()) as { items: { name: string; status: string; restarts: number }[] }).items;
      return p?.status === 'Running' && p.restarts >= 1 ? p.name : undefined;
    }, 'the crashing pod running again', { timeoutMs: 120_000 });
    const current = await up.until(async () => {
      const res = await runBerth(['logs', crashed, ...dataDir]);
      return res.stdout.includes('err-2') && res;
    }, 'the second run\'s lines');
    expect(current.stdout.split('\n').filter(Boolean).sort()).toEqual(['err-2', 'run-2']);
    const previous = await runBerth(['logs', crashed, '--previous', ...dataDir]);
    expect(previous.code).toBe(0);
    expect(previous.stdout.split('\n').filter(Boolean).sort()).toEqual(['err-1', 'run-1']);
    const previousTail = await runBerth(['logs', crashed, '-p', '--tail', '1', ...dataDir]);
    expect(previousTail.stdout).toMatch(/^(run|err)-1\n$/);
    const never = await runBerth(['logs', pod, '--previous', ...dataDir]);
    expect(never.code).toBe(1);
    expect(errorLines(never.stderr)).toEqual([`berth: previous terminated container "talk" in pod "${pod}" not found`]);

    // The agent's own endpoint: nothing without the token.
    const etcd = (await fs.readFile(path.join(bed.dataDir, 'etcd', 'endpoint'), 'utf8')).trim();
    const store = await EtcdStore.connect([etcd], '/berth', { tls: await readLocalEtcdTls(path.join(bed.dataDir, 'etcd')) });
    try {
      const entry = await store.get(agentApiKey(bed.node));
      const agent = entry && decode('agentApi', entry.key, entry.value).url;
      expect(agent).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      for (const headers of [{}, { authorization: 'Bearer wrong' }] as Record<string, string>[]) {
        expect((await fetch(`${agent ?? ''}/logs/logs/${pod}`, { headers })).status).toBe(401);
      }
    } finally {
      await store.close();
    }
  }, 180_000);
});
