import { describe, expect, inject, it } from 'vitest';
import { berthUpTestbed, noteLines } from '../support/berth-up.js';

// Readiness probes pace a rollout end to end (berth up): a new template whose readiness probe never
// passes takes no old pod down (surge 1, unavailable 0), and once its progress deadline passes the
// commit's berth/health says so.
describe('a rollout waits for readiness probes', () => {
  const bed = berthUpTestbed('probes');

  /** A Deployment whose pods are ready once /tmp/ready exists; `makeReady` decides whether they create it. */
  const manifest = (version: string, makeReady: boolean): string => `apiVersion: apps/v1
kind: Deployment
metadata: {name: app, namespace: probes}
spec:
  replicas: 2
  progressDeadlineSeconds: 8
  selector: {matchLabels: {app: app}}
  template:
    metadata: {labels: {app: app}}
    spec:
      containers:
        - name: app
          image: ${inject('testImage')}
          command: ["sh", "-c", "${makeReady ? 'touch /tmp/ready; ' : ''}exec sleep 3600"]
          env: [{name: VERSION, value: "${version}"}]
          readinessProbe:
            exec: {command: [cat, /tmp/ready]}
            periodSeconds: 1
`;

  it('keeps the old pods while the new one is not ready, then reports the progress deadline exceeded', async () => {
    const work = await bed.repo();
    await work.write('app.yaml', manifest('1', true));
    await work.commit('two ready replicas');
    const up = bed.up(work);
    const note = async (sha: string): Promise<string[]> => (await noteLines(work, sha)).map((l) => l.slice(l.indexOf(' ') + 1));
    const until = <T>(check: () => Promise<T | undefined | false>, what: string): Promise<T> => up.until(check, what, { intervalMs: 200 });

    const before = await until(async () => {
      const cs = await bed.running();
      return cs.length === 2 ? cs : undefined;
    }, '2 containers of the first template');
    const oldHash = before[0]?.labels['berth.hash'];

    await work.write('app.yaml', manifest('2', false));
    const sha = await work.commit('a version that never turns ready');
    const failed = await until(async () => {
      const lines = await note(sha);
      return lines.some((l) => l.startsWith('berth/health failure')) ? lines : undefined;
    }, 'berth/health failure on the second commit');
    expect(failed.find((l) => l.startsWith('berth/health failure'))).toBe(
      'berth/health failure progress deadline exceeded: deployment probes/app has 0/2 ready pods and made no progress for 8s',
    );
    // The rollout waited all along: both old pods still run, beside one surged new pod that never turned ready.
    const now = await bed.running();
    expect(now.filter((c) => c.labels['berth.hash'] === oldHash)).toHaveLength(2);
    expect(now.filter((c) => c.labels['berth.hash'] !== oldHash)).toHaveLength(1);
  }, 180_000);
});
