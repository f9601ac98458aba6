import { describe, expect, it } from 'vitest';
import { templateHash } from '../../../src/manifest/index.js';
import { planPods, podName, type DesiredDeployment } from '../../../src/controller/pods.js';
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
      case: 'a template change replaces every pod at once',
      deployments: [want(webV2, 'main', 'c2')], pods: [0, 1, 2].map((i) => running(want(), i, { node: 'n1' })),
      create: [`default/web-${H2}-0`, `default/web-${H2}-1`, `default/web-${H2}-2`],
      delete: [`default/web-${H1}-0`, `default/web-${H1}-1`, `default/web-${H1}-2`],
    },
    {
      case: 'a pod with an index past replicas and a stale one go, in key order',
      deployments: [want(deployment('web', { replicas: 2 }))], pods: [running(want(), 2), running(want(webV2), 0), running(want(), 0)],
      create: [`default/web-${H1}-1`], delete: [`default/web-${H1}-2`, `default/web-${H2}-0`].sort(),
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
