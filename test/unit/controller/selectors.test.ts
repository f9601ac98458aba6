import { describe, expect, it } from 'vitest';
import type { DesiredService } from '../../../src/controller/index.js';
import { ServiceSelectors } from '../../../src/controller/selectors.js';
import { hashObject, type ServiceObject } from '../../../src/manifest/index.js';
import { podKey, type PodRecord } from '../../../src/store/index.js';
import { pod } from '../scheduler/fixtures.js';

function service(name: string, selector: Record<string, string>, o: { namespace?: string; source?: string } = {}): DesiredService {
  const meaning = {
    kind: 'Service' as const, namespace: o.namespace ?? 'default', name, labels: {},
    spec: { type: 'ClusterIP' as const, headless: false, selector, ports: [], sessionAffinity: 'None' as const },
  };
  const object: ServiceObject = { ...meaning, path: `${name}.yaml`, line: 1, hash: hashObject(meaning) };
  return { source: o.source ?? 'main', object };
}

const services = [
  service('web', { app: 'web' }),
  service('api', { app: 'api' }),
  service('everything', {}),
  service('web', { app: 'web' }, { namespace: 'shop' }),
  // Declared again by a later source: the first source's selector stands.
  service('api', { app: 'web' }, { source: 'zeta' }),
];
const relabel = (p: PodRecord, app: string): PodRecord => ({ ...p, template: { ...p.template, labels: { app } } });
const web = pod('web-0', { owner: 'web' });
const api = pod('api-0', { owner: 'api' });
const shop = pod('web-0', { owner: 'web', namespace: 'shop' });

describe('ServiceSelectors', () => {
  const open = (pods: PodRecord[] = []): { index: ServiceSelectors; pods: Map<string, PodRecord> } => {
    const all = new Map(pods.map((p) => [podKey(p.namespace, p.name), p]));
    const index = new ServiceSelectors((key) => all.get(key));
    index.reset(services, pods);
    return { index, pods: all };
  };

  it.each([
    ['a new pod: the Services of its namespace that select it', undefined, web, ['endpoints/default/web', 'endpoints/default/everything']],
    ['a pod of another namespace: only that namespace\'s', undefined, shop, ['endpoints/shop/web']],
    ['a pod relabelled: the Services it left and joined', web, relabel(web, 'api'), ['endpoints/default/web', 'endpoints/default/everything', 'endpoints/default/api']],
    ['a pod deleted: the Services that selected it', api, undefined, ['endpoints/default/api', 'endpoints/default/everything']],
  ])('names, for %s', (_, before, after, expected) => {
    const { index } = open(before ? [before] : []);
    const p = after ?? before;
    if (p === undefined) throw new Error('no pod');
    expect([...index.podChanged(podKey(p.namespace, p.name), before, after)].sort()).toEqual([...expected].sort());
  });

  it('keeps each Service\'s pods as pods change, and reads nothing else', () => {
    const { index, pods } = open([web, api, shop]);
    const names = (namespace: string, name: string): string[] => [...index.podsOf({ namespace, name })].map((p) => p.name);
    expect([names('default', 'web'), names('default', 'api'), names('default', 'everything'), names('shop', 'web')]).toEqual([['web-0'], ['api-0'], ['web-0', 'api-0'], ['web-0']]);
    const moved = relabel(web, 'api');
    pods.set(podKey('default', 'web-0'), moved);
    index.podChanged(podKey('default', 'web-0'), web, moved);
    expect([names('default', 'web'), names('default', 'api').sort(), index.selecting(moved).sort()]).toEqual([[], ['api-0', 'web-0'], ['endpoints/default/api', 'endpoints/default/everything']]);
  });
});
