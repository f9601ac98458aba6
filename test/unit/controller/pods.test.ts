import { describe, expect, it } from 'vitest';
import { templateHash } from '../../../src/manifest/index.js';
import { planPods, podName, resolveRollout, type DesiredDeployment } from '../../../src/controller/pods.js';
import type { DeploymentObject } from '../../../src/manifest/types.js';
import { podKey } from '../../../src/store/index.js';
import type { PodRecord } from '../../../src/store/records.js';
import { deployment } from './fixtures.js';

const NOW = new Date('2025-06-01T12:00:00.000Z');
const web = deployment('web', { replicas: 3 });
const webV2 = deployment('web', { replicas: 3, pod: { image: 'nginx:1.28' } });
const H1 = templateHash(web.spec.template);
const H2 = templateHash(webV2.spec.template);

const want = (object = web, source = 'main', commit = 'c1'): DesiredDeployment => ({ source, object, commit });

/** The pod the plan would create for replica `i` of `d`, optionally bound. */
function running(d: DesiredDeployment, i: number, extra: Partial<PodRecord> = {}): PodRecord {
  const hash = templateHash(d.object.spec.template);
  return {
    type: 'pod', namespace: d.object.namespace, name: podName(d.object.name, hash, i),
    owner: { source: d.source, kind: 'Deployment', name: d.object.name },
    templateHash: hash, template: d.object.spec.template, commit: d.commit, createdAt: '2025-01-01T00:00:00.000Z', ...extra,
  };
}

type Strategy = DeploymentObject['spec']['strategy'];
const names = (pods: PodRecord[]): string[] => pods.map((p) => `${p.namespace}/${p.name}`);

describe('planPods', () => {
  it.each<{ case: string; deployments: DesiredDeployment[]; pods: PodRecord[]; sources?: string[]; create: string[]; delete: string[] }>([
    {
      case: 'a new Deployment gets replicas 0..n-1',
      deployments: [want()], pods: [],
      create: [`default/web-${H1}-0`, `default/web-${H1}-1`, `default/web-${H1}-2`], delete: [],
    },
    {
      case: 'nothing to do when every replica exists (idempotent)',
      deployments: [want()], pods: [0, 1, 2].map((i) => running(want(), i)),
      create: [], delete: [],
    },
    {
      case: 'scale up creates only the missing replicas',
      deployments: [want(deployment('web', { replicas: 5 }))], pods: [0, 1, 2].map((i) => running(want(), i)),
      create: [`default/web-${H1}-3`, `default/web-${H1}-4`], delete: [],
    },
    {
      case: 'scale down deletes the highest indexes',
      deployments: [want(deployment('web', { replicas: 1 }))], pods: [0, 1, 2].map((i) => running(want(), i)),
      create: [], delete: [`default/web-${H1}-1`, `default/web-${H1}-2`],
    },
    {
      case: 'replicas 0 deletes every pod',
      deployments: [want(deployment('web', { replicas: 0 }))], pods: [0, 1, 2].map((i) => running(want(), i)),
      create: [], delete: [`default/web-${H1}-0`, `default/web-${H1}-1`, `default/web-${H1}-2`],
    },
    {
      // Was "replaces every pod at once": a template change now rolls (default 25%/25% of 3: surge 1,
      // unavailable 0), so the first step only adds one new pod; the rest follows readiness (below).
      case: 'a template change starts a rollout with one surge pod',
      deployments: [want(webV2, 'main', 'c2')], pods: [0, 1, 2].map((i) => running(want(), i, { node: 'n1' })),
      create: [`default/web-${H2}-0`], delete: [],
    },
    {
      // Was "an index past replicas and a stale one go": the stale pod is now an old pod of a
      // rollout and waits until its replacements are ready; the index past replicas still goes.
      case: 'a pod with an index past replicas goes at once; a stale one waits for its replacement',
      deployments: [want(deployment('web', { replicas: 2 }))], pods: [running(want(), 2), running(want(webV2), 0), running(want(), 0)],
      create: [`default/web-${H1}-1`], delete: [`default/web-${H1}-2`],
    },
    {
      case: 'pods of a Deployment gone from its source are deleted',
      deployments: [want(deployment('api'))], pods: [running(want(), 0)],
      create: [`default/api-${templateHash(deployment('api').spec.template)}-0`], delete: [`default/web-${H1}-0`],
    },
    {
      case: 'pods of other sources are untouched',
      deployments: [want()], pods: [running(want(web, 'other'), 7), running(want(deployment('db'), 'other'), 0)],
      create: [`default/web-${H1}-0`, `default/web-${H1}-1`, `default/web-${H1}-2`], delete: [],
    },
    {
      case: 'a source planned for with no Deployments loses all its pods',
      deployments: [], sources: ['gone'], pods: [running(want(web, 'gone'), 0), running(want(web, 'kept'), 0)],
      create: [], delete: [`default/web-${H1}-0`],
    },
    {
      case: 'the same name in another namespace is another Deployment',
      deployments: [want(deployment('web', { replicas: 1, namespace: 'staging' }))], pods: [running(want(deployment('web', { replicas: 1 })), 0)],
      sources: ['main'],
      create: [`staging/web-${H1}-0`], delete: [`default/web-${H1}-0`],
    },
  ])('$case', ({ deployments, pods, sources, create, delete: del }) => {
    const plan = planPods(deployments, pods, NOW, sources ? { sources } : {});
    expect(names(plan.create)).toEqual(create);
    expect(names(plan.delete)).toEqual(del);
    expect(plan.conflicts).toEqual([]);
  });

  it('creates owned pods carrying the template, its hash, the commit and the time', () => {
    const [pod] = planPods([want(webV2, 'main', 'c2')], [], NOW).create;
    expect(pod).toEqual({
      type: 'pod', namespace: 'default', name: `web-${H2}-0`,
      owner: { source: 'main', kind: 'Deployment', name: 'web' },
      templateHash: H2, template: webV2.spec.template, commit: 'c2', createdAt: NOW.toISOString(),
    });
  });

  it('deletes bound pods as they are, so their bindings can go with them', () => {
    const bound = running(want(), 0, { node: 'n1' });
    expect(planPods([], [bound], NOW, { sources: ['main'] }).delete).toEqual([bound]);
  });

  it('gives a name two sources want to the first source, and reports the other', () => {
    const plan = planPods([want(web, 'b'), want(web, 'a')], [], NOW);
    expect(plan.create.map((p) => `${p.owner.source}:${p.name}`)).toEqual([`a:web-${H1}-0`, `a:web-${H1}-1`, `a:web-${H1}-2`]);
    expect(plan.conflicts.map((c) => `${c.key} ${c.wantedBy} held by ${c.heldBy}`)).toEqual(
      [0, 1, 2].map((i) => `pods/default/web-${H1}-${i} b:default/web held by a:default/web`),
    );
  });

  it('does not create over a pod that another owner holds', () => {
    const plan = planPods([want(web, 'main')], [running(want(web, 'other'), 0)], NOW);
    expect(names(plan.create)).toEqual([`default/web-${H1}-1`, `default/web-${H1}-2`]);
    expect(plan.delete).toEqual([]);
    expect(plan.conflicts).toEqual([{ key: `pods/default/web-${H1}-0`, wantedBy: 'main:default/web', heldBy: 'other:default/web' }]);
  });
});

/** Replica `i` of `d` bound to n1; `ready` marks its key ready. */
function pod(d: DeploymentObject, i: number, ready: Set<string>, isReady = true): PodRecord {
  const p = running(want(d), i, { node: 'n1' });
  if (isReady) ready.add(podKey(p.namespace, p.name));
  return p;
}

describe('planPods rolling updates', () => {
  const v1 = (replicas: number, strategy?: Strategy): DeploymentObject => deployment('web', { replicas, ...(strategy ? { strategy } : {}) });
  const v2 = (replicas: number, strategy?: Strategy): DeploymentObject =>
    deployment('web', { replicas, pod: { image: 'nginx:1.28' }, ...(strategy ? { strategy } : {}) });
  const rolling = (maxSurge: number | string, maxUnavailable: number | string): Strategy => ({ type: 'RollingUpdate', maxSurge, maxUnavailable });
  const recreate: Strategy = { type: 'Recreate', maxSurge: 0, maxUnavailable: '100%' };
  const o = (i: number): string => `default/web-${H1}-${i}`;
  const n = (i: number): string => `default/web-${H2}-${i}`;

  /** `old` and `new` list replica indexes of v1 and v2 pods; a `!` suffix marks one not ready. */
  it.each<{ case: string; target: DeploymentObject; old: string[]; new?: string[]; create: string[]; delete: string[] }>([
    // replicas 1, defaults: surge ceil(25% of 1) = 1, unavailable floor(25% of 1) = 0
    { case: 'replicas 1, defaults: the new pod comes first', target: v2(1), old: ['0'], create: [n(0)], delete: [] },
    { case: 'replicas 1, defaults: the old pod stays while the new one is not ready', target: v2(1), old: ['0'], new: ['0!'], create: [], delete: [] },
    { case: 'replicas 1, defaults: the old pod goes once the new one is ready', target: v2(1), old: ['0'], new: ['0'], create: [], delete: [o(0)] },
    // replicas 4, 25%/25%: surge 1, unavailable 1 → at most 5 pods, at least 3 ready
    { case: 'replicas 4, 25%/25%: one surge pod and one old pod down at once', target: v2(4), old: ['0', '1', '2', '3'], create: [n(0)], delete: [o(3)] },
    { case: 'replicas 4, 25%/25%: waits while the new pod is not ready', target: v2(4), old: ['0', '1', '2'], new: ['0!'], create: [n(1)], delete: [] },
    { case: 'replicas 4, 25%/25%: each ready new pod lets one more old pod go', target: v2(4), old: ['0', '1', '2'], new: ['0', '1!'], create: [], delete: [o(2)] },
    { case: 'replicas 4, 25%/25%: the last old pods go when the new ones are ready', target: v2(4), old: ['0'], new: ['0', '1', '2', '3'], create: [], delete: [o(0)] },
    // maxSurge 0, maxUnavailable 1: an old pod goes first, its replacement follows on the next step
    { case: 'maxSurge 0: the old pod is deleted first', target: v2(1, rolling(0, 1)), old: ['0'], create: [], delete: [o(0)] },
    { case: 'maxSurge 0: the new pod follows once the old is gone', target: v2(1, rolling(0, 1)), old: [], create: [n(0)], delete: [] },
    { case: 'maxSurge 0, replicas 3: one at a time', target: v2(3, rolling(0, 1)), old: ['0', '1'], new: ['0!'], create: [], delete: [] },
    { case: 'maxSurge 0, replicas 3: the replica an old pod left is created, no more old go', target: v2(3, rolling(0, 1)), old: ['0', '1'], new: [], create: [n(0)], delete: [] },
    // Recreate
    { case: 'Recreate deletes every old pod and creates nothing yet', target: v2(3, recreate), old: ['0', '1', '2'], create: [], delete: [o(0), o(1), o(2)] },
    { case: 'Recreate creates nothing while an old pod remains', target: v2(3, recreate), old: ['2!'], create: [], delete: [o(2)] },
    { case: 'Recreate creates every replica once no old pod is left', target: v2(3, recreate), old: [], create: [n(0), n(1), n(2)], delete: [] },
    // Percentages: surge rounds up, unavailable rounds down
    { case: '10 replicas at 15%/15%: surge 2, unavailable 1', target: v2(10, rolling('15%', '15%')), old: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], create: [n(0), n(1)], delete: [o(9)] },
    { case: '3 replicas at 50%/50%: surge 2, unavailable 1', target: v2(3, rolling('50%', '50%')), old: ['0', '1', '2'], create: [n(0), n(1)], delete: [o(2)] },
    // Unready old pods go first and count for nothing
    { case: 'an unready old pod goes before ready ones with a higher index', target: v2(4), old: ['0', '1!', '2', '3'], create: [n(0)], delete: [o(1)] },
    { case: 'unready old pods go while enough pods remain, even below the ready floor', target: v2(3, rolling(1, 1)), old: ['0!', '1!', '2!'], create: [n(0)], delete: [o(2)] },
    { case: 'unready old pods wait while the new ones are not ready either', target: v2(3), old: ['0!', '1!', '2'], new: ['0!'], create: [], delete: [] },
    // Scale changes during a rollout
    { case: 'a scale-up mid-rollout creates within the new surge', target: v2(5), old: ['0', '1', '2'], new: ['0'], create: [n(1), n(2), n(3)], delete: [] },
    { case: 'a scale-down mid-rollout deletes ready old pods down to the new floor', target: v2(1), old: ['0', '1', '2'], new: ['0'], create: [], delete: [o(0), o(1), o(2)] },
    { case: 'a scale-down mid-rollout deletes new pods past replicas at once', target: v2(2), old: ['0', '1'], new: ['0!', '1!', '2!'], create: [], delete: [n(2)] },
    // Both zero after rounding: maxUnavailable 1 so the rollout moves
    { case: 'surge 0% and unavailable 10% of 3 both resolve to 0: one pod may be down', target: v2(3, rolling('0%', '10%')), old: ['0', '1', '2'], create: [], delete: [o(2)] },
    // Not a rollout
    { case: 'a first rollout creates every replica at once', target: v2(3, rolling(0, 1)), old: [], create: [n(0), n(1), n(2)], delete: [] },
    { case: 'with no old pods a scale-down deletes at once', target: v2(1), old: [], new: ['0', '1', '2'], create: [], delete: [n(1), n(2)] },
  ])('$case', ({ target, old, new: fresh = [], create, delete: del }) => {
    const ready = new Set<string>();
    const at = (d: DeploymentObject) => (s: string): PodRecord => pod(d, Number.parseInt(s, 10), ready, !s.endsWith('!'));
    const pods = [...old.map(at(v1(1))), ...fresh.map(at(v2(1)))];
    const plan = planPods([want(target, 'main', 'c2')], pods, NOW, { ready });
    expect(names(plan.create)).toEqual(create);
    expect(names(plan.delete)).toEqual(del);
  });

  it('plays a whole rollout of 3 replicas to the end without ever leaving 3..4 pods or 3 ready', () => {
    // A tiny simulation: every created pod becomes ready on the next step.
    let pods: PodRecord[] = [0, 1, 2].map((i) => running(want(), i, { node: 'n1' }));
    let ready = new Set(pods.map((p) => podKey(p.namespace, p.name)));
    for (let step = 0; step < 20; step++) {
      const plan = planPods([want(webV2, 'main', 'c2')], pods, NOW, { ready });
      if (plan.create.length === 0 && plan.delete.length === 0) break;
      const gone = new Set(plan.delete.map((p) => p.name));
      pods = [...pods.filter((p) => !gone.has(p.name)), ...plan.create.map((p) => ({ ...p, node: 'n1' }))];
      expect(pods.length).toBeLessThanOrEqual(4);
      expect(pods.filter((p) => ready.has(podKey(p.namespace, p.name))).length).toBeGreaterThanOrEqual(3);
      ready = new Set(pods.map((p) => podKey(p.namespace, p.name)));
    }
    expect(pods.map((p) => p.name).sort()).toEqual([0, 1, 2].map((i) => `web-${H2}-${i}`));
  });

  it('deletes every pod of a Deployment removed from its source at once, ready or not', () => {
    const ready = new Set<string>();
    const pods = [pod(v1(1), 0, ready), pod(v2(1), 1, ready, false)];
    expect(names(planPods([], pods, NOW, { sources: ['main'], ready }).delete)).toEqual([o(0), n(1)].sort());
  });
});

describe('resolveRollout', () => {
  it.each<{ strategy: Strategy; replicas: number; want: { maxSurge: number; maxUnavailable: number } }>([
    { strategy: { type: 'RollingUpdate', maxSurge: '25%', maxUnavailable: '25%' }, replicas: 1, want: { maxSurge: 1, maxUnavailable: 0 } },
    { strategy: { type: 'RollingUpdate', maxSurge: '25%', maxUnavailable: '25%' }, replicas: 3, want: { maxSurge: 1, maxUnavailable: 0 } },
    { strategy: { type: 'RollingUpdate', maxSurge: '25%', maxUnavailable: '25%' }, replicas: 4, want: { maxSurge: 1, maxUnavailable: 1 } },
    { strategy: { type: 'RollingUpdate', maxSurge: '30%', maxUnavailable: '30%' }, replicas: 10, want: { maxSurge: 3, maxUnavailable: 3 } },
    { strategy: { type: 'RollingUpdate', maxSurge: '31%', maxUnavailable: '39%' }, replicas: 10, want: { maxSurge: 4, maxUnavailable: 3 } },
    { strategy: { type: 'RollingUpdate', maxSurge: 2, maxUnavailable: 0 }, replicas: 3, want: { maxSurge: 2, maxUnavailable: 0 } },
    { strategy: { type: 'RollingUpdate', maxSurge: '0%', maxUnavailable: '10%' }, replicas: 3, want: { maxSurge: 0, maxUnavailable: 1 } },
    { strategy: { type: 'RollingUpdate', maxSurge: 0, maxUnavailable: 0 }, replicas: 5, want: { maxSurge: 0, maxUnavailable: 1 } },
    { strategy: { type: 'Recreate', maxSurge: 0, maxUnavailable: '100%' }, replicas: 3, want: { maxSurge: 0, maxUnavailable: 3 } },
  ])('$strategy.type $strategy.maxSurge/$strategy.maxUnavailable of $replicas → $want.maxSurge/$want.maxUnavailable', ({ strategy, replicas, want: expected }) => {
    expect(resolveRollout(strategy, replicas)).toEqual(expected);
  });
});

describe('podName', () => {
  const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
  const long = 'a'.repeat(200);
  it.each([
    { case: 'short names are kept', deployment: 'web', index: 0, name: 'web-abcdef0123-0' },
    { case: 'a 46-character name is kept', deployment: 'x'.repeat(46), index: 7, name: `${'x'.repeat(46)}-abcdef0123-7` },
    { case: 'a 47-character name is cut and tagged', deployment: 'x'.repeat(47), index: 0, name: undefined },
    { case: 'a 253-character subdomain', deployment: `${'a.'.repeat(126)}b`, index: 3, name: undefined },
    { case: 'dots become dashes, tagged', deployment: 'web.v2', index: 0, name: undefined },
    { case: 'a huge index still fits', deployment: long, index: 1234567, name: undefined },
  ])('$case', ({ deployment: d, index, name }) => {
    const got = podName(d, 'abcdef0123', index);
    if (name !== undefined) expect(got).toBe(name);
    expect(got.length).toBeLessThanOrEqual(63);
    expect(got).toMatch(LABEL);
    expect(got.endsWith(`-abcdef0123-${index}`)).toBe(true);
  });

  it('keeps the Deployment part the same for every index of a long name', () => {
    const heads = [0, 9, 10, 99999].map((i) => podName(long, 'abcdef0123', i).replace(/-abcdef0123-\d+$/, ''));
    expect(new Set(heads).size).toBe(1);
  });

  it('tells apart long names that share a prefix, and names that differ only by a dot', () => {
    expect(podName(`${long}-one`, 'h', 0)).not.toBe(podName(`${long}-two`, 'h', 0));
    expect(podName('web.v2', 'h', 0)).not.toBe(podName('web-v2', 'h', 0));
  });
});
