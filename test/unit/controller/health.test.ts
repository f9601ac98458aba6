import { describe, expect, it } from 'vitest';
import { commitHealth, MAX_HEALTH_DESCRIPTION, SETTLE_MS, UNSCHEDULED_AFTER_MS, type HealthInput } from '../../../src/controller/index.js';
import type { PodRecord, PodStatusRecord } from '../../../src/store/index.js';
import { deployment } from './fixtures.js';
import { podsOf, sealOf, shapes, statusOf, want, type StatusShape } from './healthFixtures.js';

const NOW = new Date('2025-06-01T12:00:00.000Z');
const COMMIT = 'abc1234'.padEnd(40, 'f');
const seconds = (s: number): Date => new Date(NOW.getTime() + s * 1000);
/** The seal was applied at 11:59; a rollout still short of ready pods is judged again at its progress deadline (600 s). */
const DEADLINE = seconds(9 * 60);

const web = want(deployment('web', { namespace: 'demo', replicas: 2 }), COMMIT);
const api = want(deployment('api', { namespace: 'demo', replicas: 3 }), 'c0ffee0');
const webPods = podsOf(web);
const apiPods = podsOf(api);
const all = [...apiPods, ...webPods];
const ref = (p: PodRecord | undefined): string => `${p?.namespace}/${p?.name}`;
const [web0, web1] = webPods;

/** Every pod of `pods` ready, except those given a shape in `odd` (by pod). */
function statuses(pods: PodRecord[], odd: Map<PodRecord | undefined, StatusShape | null> = new Map()): PodStatusRecord[] {
  return pods.flatMap((p) => {
    const shape = odd.get(p);
    return shape === null ? [] : [statusOf(p, shape)];
  });
}

const input = (over: Partial<HealthInput> = {}): HealthInput => ({
  seal: sealOf(COMMIT), deployments: [web, api], pods: all, statuses: statuses(all), nodes: new Set(['n1']), now: NOW, ...over,
});

describe('commitHealth', () => {
  it.each<{ case: string; input: HealthInput; state: string; reason: string; description: string; settling?: boolean; recheckAt?: Date }>([
    {
      case: 'zero deployments: success at once',
      input: input({ deployments: [], pods: [], statuses: [] }),
      state: 'success', reason: 'Running', description: 'no deployments at abc1234',
    },
    {
      case: 'replicas 0: success at once, with no pod',
      input: input({ deployments: [want(deployment('web', { namespace: 'demo', replicas: 0 }), COMMIT)], pods: [], statuses: [] }),
      state: 'success', reason: 'Running', description: '0/0 replicas of 1 deployment running abc1234',
    },
    {
      case: 'no pods yet',
      input: input({ pods: [], statuses: [] }),
      state: 'pending', reason: 'RollingOut', description: 'rolling out: 0/5 ready', recheckAt: DEADLINE,
    },
    {
      case: 'pods created, not yet bound (young)',
      input: input({ pods: [...podsOf(api, { node: undefined, createdAt: NOW }), ...podsOf(web, { node: undefined, createdAt: NOW })], statuses: [] }),
      state: 'pending', reason: 'RollingOut', description: 'rolling out: 0/5 ready', recheckAt: seconds(UNSCHEDULED_AFTER_MS / 1000),
    },
    {
      case: 'bound, no status yet',
      input: input({ statuses: [] }),
      state: 'pending', reason: 'RollingOut', description: 'rolling out: 0/5 ready', recheckAt: DEADLINE,
    },
    {
      case: 'some ready, some creating',
      input: input({ statuses: statuses(all, new Map([[web0, shapes.creating()], [web1, null]])) }),
      state: 'pending', reason: 'RollingOut', description: 'rolling out: 3/5 ready', recheckAt: DEADLINE,
    },
    {
      case: 'all ready',
      input: input(),
      state: 'success', reason: 'Running', description: '5/5 replicas of 2 deployments running abc1234',
    },
    {
      case: 'a status of an older template does not count',
      input: input({ statuses: statuses(all, new Map([[web0, { templateHash: 'old0000000' }]])) }),
      state: 'pending', reason: 'RollingOut', description: 'rolling out: 4/5 ready', recheckAt: DEADLINE,
    },
    {
      case: 'a status left by the node the pod was on before does not count',
      input: input({ statuses: statuses(all, new Map([[web0, { node: 'n0' }]])) }),
      state: 'pending', reason: 'RollingOut', description: 'rolling out: 4/5 ready', recheckAt: DEADLINE,
    },
    {
      case: 'ready pods of an older template or past replicas do not count',
      input: input({
        deployments: [want(deployment('web', { namespace: 'demo', replicas: 1, pod: { image: 'nginx:1.28' } }), COMMIT)],
        statuses: statuses(all),
      }),
      state: 'pending', reason: 'RollingOut', description: 'rolling out: 0/1 ready', recheckAt: DEADLINE,
    },
    {
      case: 'an unbound pod older than the threshold is named, still pending',
      input: input({ pods: [...apiPods, web0 as PodRecord, ...podsOf(web, { node: undefined }).slice(1)], statuses: statuses(all, new Map([[web1, null]])) }),
      state: 'pending', reason: 'Unschedulable', description: `unschedulable: ${ref(web1)} has no node after 60s; 4/5 ready`, recheckAt: DEADLINE,
    },
    {
      case: 'crash loop (back-off)',
      input: input({ statuses: statuses(all, new Map([[web1, shapes.crashLoop()]])) }),
      state: 'failure', reason: 'CrashLoopBackOff', description: `crash loop: ${ref(web1)} container main exited with code 1`, recheckAt: DEADLINE,
    },
    {
      case: 'crash loop: the description is the same at any restart count',
      input: input({ statuses: statuses(all, new Map([[web1, shapes.crashLoop(7)]])) }),
      state: 'failure', reason: 'CrashLoopBackOff', description: `crash loop: ${ref(web1)} container main exited with code 1`, recheckAt: DEADLINE,
    },
    {
      case: 'crash loop (exited, about to restart)',
      input: input({ statuses: statuses(all, new Map([[web1, shapes.exited(2)]])) }),
      state: 'failure', reason: 'CrashLoopBackOff', description: `crash loop: ${ref(web1)} container main exited with code 1`, recheckAt: DEADLINE,
    },
    {
      case: 'crash loop (running again moments after a restart): settling',
      input: input({ statuses: statuses(all, new Map([[web1, shapes.restarted(seconds(-1), 4)]])) }),
      state: 'failure', reason: 'CrashLoopBackOff', description: `crash loop: ${ref(web1)} container main exited and was restarted`,
      settling: true, recheckAt: seconds(SETTLE_MS / 1000 - 1),
    },
    {
      case: 'a restarted container that has run for the settle time is ready',
      input: input({ statuses: statuses(all, new Map([[web1, shapes.restarted(seconds(-SETTLE_MS / 1000), 4)]])) }),
      state: 'success', reason: 'Running', description: '5/5 replicas of 2 deployments running abc1234',
    },
    {
      case: 'image pull error',
      input: input({ statuses: statuses(all, new Map([[web0, shapes.imagePull()]])) }),
      state: 'failure', reason: 'ErrImagePull', description: `image pull failed: ${ref(web0)} container main: pull access denied for nope`, recheckAt: DEADLINE,
    },
    {
      case: 'image pull back-off: the same failure as the pull error it waits after, so health does not flap',
      input: input({ statuses: statuses(all, new Map([[web0, shapes.imagePullBackOff()]])) }),
      state: 'failure', reason: 'ErrImagePull', description: `image pull failed: ${ref(web0)} container main: pull access denied for nope`, recheckAt: DEADLINE,
    },
    {
      case: 'an image being pulled (ContainerCreating) is waited for',
      input: input({ statuses: statuses(all, new Map([[web0, shapes.pulling()]])) }),
      state: 'pending', reason: 'RollingOut', description: 'rolling out: 4/5 ready', recheckAt: DEADLINE,
    },
    {
      case: 'start failure',
      input: input({ statuses: statuses(all, new Map([[web0, shapes.startFailed()]])) }),
      state: 'failure', reason: 'StartFailed', description: `start failed: ${ref(web0)} container main: port is already allocated`, recheckAt: DEADLINE,
    },
    {
      case: 'create failure reads as a start failure',
      input: input({ statuses: statuses(all, new Map([[web0, shapes.startFailed('CreateFailed')]])) }),
      state: 'failure', reason: 'StartFailed', description: `start failed: ${ref(web0)} container main: port is already allocated`, recheckAt: DEADLINE,
    },
    {
      case: 'a pod that ended (restartPolicy Never)',
      input: input({ statuses: statuses(all, new Map([[web0, shapes.ended()]])) }),
      state: 'failure', reason: 'PodFailed', description: `failed: ${ref(web0)} container main exited with code 2`, recheckAt: DEADLINE,
    },
    {
      case: 'drift not yet healed',
      input: input({ statuses: statuses(all, new Map([[web0, shapes.drifted()]])) }),
      state: 'failure', reason: 'Drifted', description: `drift: ${ref(web0)} container main (0123456789ab) was removed; healing`, recheckAt: DEADLINE,
    },
    {
      case: 'drift healed moments ago: settling',
      input: input({ statuses: statuses(all, new Map([[web0, shapes.healed(seconds(-2))]])) }),
      state: 'failure', reason: 'Drifted', settling: true, recheckAt: seconds(SETTLE_MS / 1000 - 2),
      description: `drift: ${ref(web0)} container main was stopped from outside (exited with code 137); healing`,
    },
    {
      case: 'drift healed and settled',
      input: input({ statuses: statuses(all, new Map([[web0, shapes.healed(seconds(-60))]])) }),
      state: 'success', reason: 'Running', description: '5/5 replicas of 2 deployments running abc1234',
    },
    {
      case: 'a pod on a node no longer registered',
      input: input({ nodes: new Set(['n2']) }),
      state: 'failure', reason: 'NodeLost', description: `node lost: ${ref(apiPods[0])} is on node n1, which is no longer registered`, recheckAt: DEADLINE,
    },
    {
      case: 'nodes not given: not checked',
      input: (({ nodes: _, ...rest }) => rest)(input({ nodes: new Set(['n2']) })),
      state: 'success', reason: 'Running', description: '5/5 replicas of 2 deployments running abc1234',
    },
    {
      case: 'a pod name held by another source',
      input: input({ pods: all.map((p) => (p === web0 ? { ...p, owner: { ...p.owner, source: 'other' } } : p)) }),
      state: 'failure', reason: 'Conflict', description: `conflict: ${ref(web0)} is held by other:demo/web`, recheckAt: DEADLINE,
    },
    {
      case: 'a Ready reason this version does not know is a failure under its own name',
      input: input({ statuses: statuses(all, new Map([[web0, { ready: { status: 'False', reason: 'Frozen', message: 'main: paused' } }]])) }),
      state: 'failure', reason: 'Frozen', description: `Frozen: ${ref(web0)}: main: paused`, recheckAt: DEADLINE,
    },
    {
      case: 'several failures: an image pull error is named before a crash loop',
      input: input({ statuses: statuses(all, new Map([[apiPods[0], shapes.crashLoop()], [web1, shapes.imagePull()]])) }),
      state: 'failure', reason: 'ErrImagePull', description: `image pull failed: ${ref(web1)} container main: pull access denied for nope`, recheckAt: DEADLINE,
    },
    {
      case: 'several failures: a standing one is named before a settling one, and the verdict is not settling',
      input: input({ statuses: statuses(all, new Map([[apiPods[0], shapes.restarted(seconds(-1))], [web1, shapes.drifted()]])) }),
      state: 'failure', reason: 'Drifted', settling: false, description: `drift: ${ref(web1)} container main (0123456789ab) was removed; healing`,
      recheckAt: seconds(SETTLE_MS / 1000 - 1),
    },
    {
      case: 'a failure beats a rollout in progress',
      input: input({ statuses: statuses(all, new Map([[apiPods[0], null], [web1, shapes.crashLoop()]])) }),
      state: 'failure', reason: 'CrashLoopBackOff', description: `crash loop: ${ref(web1)} container main exited with code 1`, recheckAt: DEADLINE,
    },
    {
      case: 'no progress for progressDeadlineSeconds: failure, Progressing False',
      input: input({ statuses: statuses(all, new Map([[web1, shapes.creating()]])), now: seconds(9 * 60) }),
      state: 'failure', reason: 'ProgressDeadlineExceeded',
      description: 'progress deadline exceeded: deployment demo/web has 1/2 ready pods and made no progress for 600s',
    },
    {
      case: 'a pod turning Ready is progress: the deadline counts from then',
      input: input({ statuses: statuses(all, new Map([[web1, shapes.creating()], [web0, { ready: { lastTransitionTime: seconds(60).toISOString() } }]])), now: seconds(9 * 60) }),
      state: 'pending', reason: 'RollingOut', description: 'rolling out: 4/5 ready', recheckAt: seconds(11 * 60),
    },
    {
      case: 'a shorter deadline of its own',
      input: input({ deployments: [want(deployment('web', { namespace: 'demo', replicas: 2, progressDeadlineSeconds: 30 }), COMMIT), api], statuses: statuses(all, new Map([[web1, shapes.creating()]])) }),
      state: 'failure', reason: 'ProgressDeadlineExceeded',
      description: 'progress deadline exceeded: deployment demo/web has 1/2 ready pods and made no progress for 30s',
    },
    {
      case: 'Deployments of other sources are not this commit’s',
      input: input({ deployments: [web, want(deployment('db', { namespace: 'demo', replicas: 1 }), 'c1', 'other')], pods: webPods, statuses: statuses(webPods) }),
      state: 'success', reason: 'Running', description: '2/2 replicas of 1 deployment running abc1234',
    },
  ])('$case', ({ input: given, state, reason, description, settling, recheckAt }) => {
    const health = commitHealth(given);
    expect({ state: health.state, reason: health.reason, description: health.description }).toEqual({ state, reason, description });
    expect(health.settling).toBe(settling ?? false);
    expect(health.recheckAt).toEqual(recheckAt);
    expect(health.description.length).toBeLessThanOrEqual(MAX_HEALTH_DESCRIPTION);
  });

  it('counts ready replicas of the current templates', () => {
    expect(commitHealth(input({ statuses: statuses(all, new Map([[web1, shapes.creating()]])) }))).toMatchObject({ ready: 4, replicas: 5 });
  });

  it('says it with conditions: Ready, Progressing, Degraded, observed at the commit', () => {
    const c = (h: ReturnType<typeof commitHealth>): string[] => h.conditions.map((x) => `${x.type}=${x.status}/${x.reason}@${x.observedCommit?.slice(0, 7)}`);
    expect(c(commitHealth(input()))).toEqual(['Ready=True/Running@abc1234', 'Progressing=False/RolledOut@abc1234', 'Degraded=False/AsExpected@abc1234']);
    expect(c(commitHealth(input({ statuses: [] })))).toEqual(['Ready=False/RollingOut@abc1234', 'Progressing=True/RollingOut@abc1234', 'Degraded=False/AsExpected@abc1234']);
    expect(c(commitHealth(input({ statuses: statuses(all, new Map([[web0, shapes.imagePull()]])) })))).toEqual([
      'Ready=False/ErrImagePull@abc1234', 'Progressing=False/ErrImagePull@abc1234', 'Degraded=True/ErrImagePull@abc1234',
    ]);
  });

  it('names the failed pod in the failure detail, without the kind', () => {
    expect(commitHealth(input({ statuses: statuses(all, new Map([[web1, shapes.crashLoop()]])) })).detail).toBe(`${ref(web1)} container main exited with code 1`);
  });

  it('cuts a long description to the limit', () => {
    const long = { ready: { reason: 'ErrImagePull', message: 'x' }, containers: [{ state: 'waiting' as const, restarts: 0, message: 'no such image: '.padEnd(300, 'y') }] };
    const { description } = commitHealth(input({ statuses: statuses(all, new Map([[web0, long]])) }));
    expect(description).toHaveLength(MAX_HEALTH_DESCRIPTION);
    expect(description.endsWith('…')).toBe(true);
  });

  it('is deterministic: pods and statuses in any order give the same verdict', () => {
    const odd = new Map([[web1, shapes.crashLoop()], [apiPods[2], shapes.imagePull()]]);
    const a = commitHealth(input({ statuses: statuses(all, odd) }));
    const b = commitHealth(input({ pods: [...all].reverse(), statuses: statuses(all, odd).reverse(), deployments: [api, web] }));
    expect(b).toEqual(a);
  });
});

describe('progress deadline', () => {
  it('turns the Progressing condition False with reason ProgressDeadlineExceeded', () => {
    const health = commitHealth(input({ statuses: statuses(all, new Map([[web1, shapes.creating()]])), now: seconds(9 * 60) }));
    expect(health.conditions.find((c) => c.type === 'Progressing')).toMatchObject({ status: 'False', reason: 'ProgressDeadlineExceeded' });
    expect(health.conditions.find((c) => c.type === 'Degraded')).toMatchObject({ status: 'True', reason: 'ProgressDeadlineExceeded' });
  });
});
