import { describe, expect, it } from 'vitest';
import { objectKey, parseFiles, planDesired, type DesiredObject } from '../../../src/manifest/index.js';

function configMap(name: string, value: string, path = `${name}.yaml`, line = 1): DesiredObject {
  const text = `${'\n'.repeat(line - 1)}apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {v: "${value}"}\n`;
  const [object] = parseFiles([{ path, text }]).objects;
  if (object === undefined) throw new Error('fixture did not parse');
  return object;
}

const keys = (objects: DesiredObject[]): string[] => objects.map(objectKey);

describe('planDesired', () => {
  it('creates, updates and deletes, each sorted by objectKey', () => {
    const current = [configMap('keep', '1'), configMap('change', '1'), configMap('drop-b', '1'), configMap('drop-a', '1')];
    const desired = [configMap('new-b', '1'), configMap('change', '2'), configMap('keep', '1'), configMap('new-a', '1')];
    const plan = planDesired(desired, current);
    expect(keys(plan.create)).toEqual(['ConfigMap/default/new-a', 'ConfigMap/default/new-b']);
    expect(plan.update.map((u) => [objectKey(u.from), u.from.spec, u.to.spec])).toEqual([
      ['ConfigMap/default/change', { data: { v: '1' } }, { data: { v: '2' } }],
    ]);
    expect(keys(plan.delete)).toEqual(['ConfigMap/default/drop-a', 'ConfigMap/default/drop-b']);
  });

  it('is empty when nothing changed', () => {
    const objects = [configMap('a', '1'), configMap('b', '1')];
    expect(planDesired(objects, [...objects].reverse())).toEqual({ create: [], update: [], delete: [] });
  });

  it('updates an object that moved to another file, with the same hash, so the stored path stays true', () => {
    const plan = planDesired([configMap('a', '1', 'moved/a.yaml')], [configMap('a', '1', 'a.yaml')]);
    expect(plan.update).toHaveLength(1);
    expect(plan.update[0]?.from.hash).toBe(plan.update[0]?.to.hash);
    expect(plan.update[0]?.to.path).toBe('moved/a.yaml');
  });

  it('does not update an object whose line alone moved', () => {
    expect(planDesired([configMap('a', '1', 'a.yaml', 5)], [configMap('a', '1', 'a.yaml', 1)]).update).toEqual([]);
  });

  it('treats the same name in another namespace or kind as another object', () => {
    const a = configMap('a', '1');
    const other = { ...a, namespace: 'prod' };
    const plan = planDesired([other], [a]);
    expect(keys(plan.create)).toEqual(['ConfigMap/prod/a']);
    expect(keys(plan.delete)).toEqual(['ConfigMap/default/a']);
  });
});
