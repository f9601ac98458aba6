import { describe, expect, it } from 'vitest';
import { formatPlanDiff, planDesired, unifiedHunks } from '../../../src/manifest/index.js';
import { deployment } from '../controller/fixtures.js';

describe('unifiedHunks', () => {
  it.each([
    { name: 'no change', a: ['a', 'b'], b: ['a', 'b'], hunks: [] },
    { name: 'a changed line with context', a: ['a', 'b', 'c'], b: ['a', 'x', 'c'], hunks: ['@@ -1,3 +1,3 @@', ' a', '-b', '+x', ' c'] },
    { name: 'from nothing', a: [], b: ['a', 'b'], hunks: ['@@ -0,0 +1,2 @@', '+a', '+b'] },
    { name: 'to nothing', a: ['a'], b: [], hunks: ['@@ -1,1 +0,0 @@', '-a'] },
    {
      name: 'two changes far apart make two hunks',
      a: ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', '12'],
      b: ['x', '2', '3', '4', '5', '6', '7', '8', '9', '10', '11', 'y'],
      hunks: ['@@ -1,4 +1,4 @@', '-1', '+x', ' 2', ' 3', ' 4', '@@ -9,4 +9,4 @@', ' 9', ' 10', ' 11', '-12', '+y'],
    },
    {
      name: 'two changes close together make one hunk',
      a: ['1', '2', '3', '4', '5'],
      b: ['x', '2', '3', '4', 'y'],
      hunks: ['@@ -1,5 +1,5 @@', '-1', '+x', ' 2', ' 3', ' 4', '-5', '+y'],
    },
  ])('$name', ({ a, b, hunks }) => {
    expect(unifiedHunks(a, b)).toEqual(hunks);
  });
});

describe('formatPlanDiff', () => {
  const web = deployment('web', { replicas: 1, namespace: 'shop' });
  const api = deployment('api', { replicas: 1, namespace: 'shop' });
  const labels = { from: 'aaaaaaa (in force)', to: 'bbbbbbb' };

  it('is empty when nothing changes', () => {
    expect(formatPlanDiff(planDesired([web], [web]), labels)).toBe('');
  });

  it('shows a changed field of the normalized object, headed as kubectl diff heads it', () => {
    const scaled = { ...web, hash: 'other', spec: { ...web.spec, replicas: 3 } };
    const text = formatPlanDiff(planDesired([scaled], [web]), labels);
    expect(text.split('\n').slice(0, 3)).toEqual([
      'diff -u -N desired/Deployment/shop/web commit/Deployment/shop/web',
      '--- desired/Deployment/shop/web\taaaaaaa (in force)',
      '+++ commit/Deployment/shop/web\tbbbbbbb',
    ]);
    expect(text).toContain('\n-  replicas: 1\n+  replicas: 3\n');
    expect(text.split('\n').filter((l) => /^[-+][^-+]/.test(l))).toHaveLength(2);
  });

  it('shows a created and a deleted object whole, in key order', () => {
    const text = formatPlanDiff(planDesired([api], [web]), labels);
    const headers = text.split('\n').filter((l) => l.startsWith('diff '));
    expect(headers).toEqual(['diff -u -N desired/Deployment/shop/api commit/Deployment/shop/api', 'diff -u -N desired/Deployment/shop/web commit/Deployment/shop/web']);
    expect(text).toContain('--- desired/Deployment/shop/api\t(absent)');
    expect(text).toContain('+++ commit/Deployment/shop/web\t(absent)');
    expect(text).toContain('+  name: api');
    expect(text).toContain('-  name: web');
  });

  it('shows a move to another file as a change of its file line', () => {
    const moved = { ...web, path: 'apps/web.yaml' };
    const text = formatPlanDiff(planDesired([moved], [web]), labels);
    expect(text).toContain(`-# file: ${web.path}\n+# file: apps/web.yaml`);
  });

  it('escapes control characters of repository values', () => {
    const hostile = { ...web, hash: 'x', labels: { app: 'a\u001b[2Jb\ndiff -u -N forged' } };
    const text = formatPlanDiff(planDesired([hostile], [web]), labels);
    expect(text).not.toContain('\u001b');
    expect(text.split('\n').filter((l) => l.startsWith('diff '))).toHaveLength(1);
  });
});
