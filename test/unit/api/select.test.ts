import { describe, expect, it } from 'vitest';
import { BerthError } from '../../../src/errors.js';
import { selectNamed, selectNamespaced, type Selector } from '../../../src/api/select.js';

const POD = { singular: 'pod', plural: 'pods' };
const rows = [
  { namespace: 'shop', name: 'web' },
  { namespace: 'shop', name: 'db' },
  { namespace: 'blog', name: 'web' },
  { namespace: 'blog', name: 'cms' },
];
const names = (rs: { namespace: string; name: string }[]): string[] => rs.map((r) => `${r.namespace}/${r.name}`);

describe('selectNamespaced', () => {
  it.each<{ sel: Selector; want: string[] }>([
    { sel: {}, want: ['shop/web', 'shop/db', 'blog/web', 'blog/cms'] },
    { sel: { namespace: 'blog' }, want: ['blog/web', 'blog/cms'] },
    { sel: { namespace: 'none' }, want: [] },
    { sel: { name: 'db' }, want: ['shop/db'] },
    { sel: { namespace: 'blog', name: 'web' }, want: ['blog/web'] },
  ])('$sel', ({ sel, want }) => {
    expect(names(selectNamespaced(rows, POD, sel))).toEqual(want);
  });

  it.each<{ sel: Selector; code: string; line: string }>([
    { sel: { name: 'x' }, code: 'ENOTFOUND', line: 'pod "x" not found; list them with `berth get pods`' },
    { sel: { namespace: 'shop', name: 'cms' }, code: 'ENOTFOUND', line: 'pod "cms" not found in namespace "shop"; list them with `berth get pods`' },
    { sel: { name: 'web' }, code: 'EAMBIGUOUS', line: 'pod "web" exists in namespaces shop, blog; pass -n <namespace>' },
  ])('$sel → $code', ({ sel, code, line }) => {
    let caught: unknown;
    try {
      selectNamespaced(rows, POD, sel);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(BerthError);
    expect(caught).toMatchObject({ code });
    expect((caught as BerthError).toLine()).toBe(line);
  });
});

describe('selectNamed', () => {
  const nodes = [{ name: 'n1' }, { name: 'n2' }];
  const NODE = { singular: 'node', plural: 'nodes' };

  it.each([
    { name: undefined, want: ['n1', 'n2'] },
    { name: 'n2', want: ['n2'] },
  ])('$name', ({ name, want }) => {
    expect(selectNamed(nodes, NODE, name).map((n) => n.name)).toEqual(want);
  });

  it('names a node that is not there', () => {
    expect(() => selectNamed(nodes, NODE, 'n9')).toThrow('node "n9" not found');
  });
});
