import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { EtcdStore, commitChunked } from '../../src/store/index.js';
import { applyCommit, checkRevision } from '../../src/sync/index.js';
import { runBerth } from '../support/berth.js';
import { deploymentYaml } from '../support/manifests.js';
import { uniqueName } from '../support/names.js';
import { createRepo, type TestRepo } from '../support/repo.js';

// `berth diff` against a source's desired state as sync sealed it, in the harness etcd.
const web = (replicas: number): string => deploymentYaml({ name: 'web', namespace: 'shop', replicas, image: 'busybox:1', command: ['sleep', '1d'] });

describe('berth diff', () => {
  const prefix = `/${uniqueName('diff')}`;
  let store: EtcdStore;
  let repo: TestRepo;
  let v1 = '';
  const diff = (...args: string[]): ReturnType<typeof runBerth> =>
    runBerth(['diff', '--repo', repo.workDir, '--source', 'shop', '--etcd', inject('etcdEndpoint'), '--prefix', prefix, ...args], { timeoutMs: 120_000 });

  beforeAll(async () => {
    store = await EtcdStore.connect([inject('etcdEndpoint')], prefix);
    repo = await createRepo(inject('gitRoot'), uniqueName('diff'));
    await repo.write('web.yaml', web(1));
    v1 = await repo.commit('web v1');
    // Applied as sync applies it: checked, then sealed.
    const { check } = await checkRevision(repo.workDir, v1, '.');
    await applyCommit(store, 'shop', { commit: v1, author: 'a', message: 'web v1', time: new Date().toISOString() }, check.objects, new Date());
  });
  afterAll(async () => {
    const { entries } = await store.list('');
    await commitChunked(store, [], entries.map((e) => e.key));
    await store.close();
    await repo.dispose();
  });

  it('exits 0 and prints nothing when the branch head is the commit in force', async () => {
    const res = await diff();
    expect(res.stdout).toBe('');
    expect(res.stderr).toBe(`commit ${v1.slice(0, 7)} changes nothing in source shop at ${v1.slice(0, 7)}\n`);
    expect(res.code).toBe(0);
  });

  it('exits 1 with the unified diff of each changed, created and deleted object', async () => {
    await repo.write('web.yaml', web(3));
    await repo.write('cm.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: conf, namespace: shop}\ndata: {a: "1"}\n');
    const v2 = await repo.commit('scale web, add conf');
    const res = await diff();
    expect(res.code).toBe(1);
    expect(res.stdout).toContain(`--- desired/Deployment/shop/web\t${v1.slice(0, 7)} (in force)\n+++ commit/Deployment/shop/web\t${v2.slice(0, 7)}\n`);
    expect(res.stdout).toContain('\n-  replicas: 1\n+  replicas: 3\n');
    expect(res.stdout).toContain('diff -u -N desired/ConfigMap/shop/conf commit/ConfigMap/shop/conf\n--- desired/ConfigMap/shop/conf\t(absent)\n');
    expect(res.stderr).toBe(`commit ${v2.slice(0, 7)} against source shop at ${v1.slice(0, 7)}: 1 to create, 1 to update, 0 to delete\n`);
    // --rev names any commit: the one in force changes nothing.
    const back = await diff('--rev', v1.slice(0, 8));
    expect([back.code, back.stdout]).toEqual([0, '']);
  });

  it('exits 2 on a commit sync would reject, printing its errors, and on a revision that does not exist', async () => {
    await repo.write('web.yaml', web(1).replace('replicas: 1', 'replicas: lots'));
    await repo.commit('break web');
    const bad = await diff();
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/^web\.yaml:5:\d+: .*replicas/m);
    expect(bad.stderr).toContain('would be rejected');
    const missing = await diff('--rev', 'no-such-branch');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("revision 'no-such-branch' not found");
  });
});
