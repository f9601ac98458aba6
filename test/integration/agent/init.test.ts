// Init containers on a real Docker engine: in order, each to a clean exit, before the pod's
// containers; a failing one restarted with the pod's back-off, the pod's containers held back.
import { describe, expect, inject, it } from 'vitest';
import type { BindingRecord, PodStatusRecord } from '../../../src/store/records.js';
import type { ContainerSpec } from '../../../src/manifest/types.js';
import type { Container } from '../../../src/agent/runtime.js';
import { agentTestbed } from '../../support/agent-testbed.js';
import { uniqueName } from '../../support/names.js';
import { waitFor } from '../../support/wait.js';

const image = inject('testImage');
const bed = agentTestbed('init');

const sh = (name: string, script: string): ContainerSpec => ({ name, image, command: ['sh', '-c', script], args: [], env: [], ports: [], resources: { requests: {}, limits: {} } });

function pod(node: string, name: string, inits: ContainerSpec[], containers: ContainerSpec[]): BindingRecord {
  return { type: 'binding', node, namespace: 'default', pod: name, templateHash: 'h1', template: { labels: {}, initContainers: inits, containers, nodeSelector: {}, restartPolicy: 'Always', terminationGracePeriodSeconds: 1 }, commit: 'commit-h1' };
}

async function until(node: string, name: string, what: string, test: (s: PodStatusRecord) => boolean): Promise<PodStatusRecord> {
  return waitFor(async () => {
    const s = await bed.status(node, name);
    return s !== undefined && test(s) && s;
  }, { timeoutMs: 40_000, what });
}

const byName = async (node: string): Promise<Map<string, Container>> => new Map((await bed.members(node)).map((c) => [c.labels['berth.container'] ?? '', c]));
const ms = (t: string | undefined): number => Date.parse(t ?? '');

describe('init containers', () => {
  it('run in order, each to a clean exit, a failed one again, before the pod’s containers; all in the pod’s network', async () => {
    const node = uniqueName('node');
    await bed.start(node, { hostIp: '127.0.0.1', stopGraceSeconds: 1 });
    // `second` fails on its first run and succeeds on its restart (the same container keeps its /tmp).
    const second = sh('second', '[ -f /tmp/tried ] && exit 0; touch /tmp/tried; exit 1');
    await bed.bind(pod(node, 'ordered', [sh('first', 'sleep 1'), second], [sh('app', 'exec sleep 3600')]));

    const s = await until(node, 'ordered', 'ready', (x) => x.conditions.some((c) => c.type === 'Ready' && c.status === 'True'));
    expect(s.initContainers).toMatchObject([
      { name: 'first', state: 'exited', exitCode: 0, restarts: 0 },
      { name: 'second', state: 'exited', exitCode: 0, restarts: 1 },
    ]);
    expect(s.conditions.find((c) => c.type === 'Initialized')).toMatchObject({ status: 'True' });
    const cs = await byName(node);
    const [first, again, app] = [cs.get('first'), cs.get('second'), cs.get('app')];
    // Docker's own clock: each began after the one before it ended.
    expect(ms(again?.startedAt)).toBeGreaterThanOrEqual(ms(first?.finishedAt));
    expect(ms(app?.startedAt)).toBeGreaterThanOrEqual(ms(again?.finishedAt));
    const [sandbox] = await bed.sandboxes(node);
    for (const c of [first, again, app]) expect(c?.joined).toBe(sandbox?.id);
  });

  it('a failing init container backs off (Init:CrashLoopBackOff) and the pod’s containers are never made', async () => {
    const node = uniqueName('node');
    await bed.start(node, { hostIp: '127.0.0.1', stopGraceSeconds: 1 });
    await bed.bind(pod(node, 'stuck', [sh('setup', 'echo no config; exit 3')], [sh('app', 'exec sleep 3600')]));

    const s = await until(node, 'stuck', 'CrashLoopBackOff', (x) => x.initContainers?.[0]?.reason === 'CrashLoopBackOff');
    expect(s.phase).toBe('Pending');
    expect(s.initContainers?.[0]).toMatchObject({ restarts: 1, lastState: { exitCode: 3, reason: 'Error' } });
    expect(s.conditions.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'ContainersNotInitialized' });
    expect(s.conditions.find((c) => c.type === 'Ready')?.message).toMatch(/^init container setup: back-off 10s restarting failed container setup: exited with code 3 \(Error\)$/);
    expect((await bed.members(node)).map((c) => c.labels['berth.container'])).toEqual(['setup']);
  });
});
