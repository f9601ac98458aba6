import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import { EtcdStore } from '../../src/store/etcd.js';
import { commitChunked } from '../../src/store/chunked.js';
import { runBerth, type BerthProcess } from '../support/berth.js';
import { createRepo } from '../support/repo.js';
import { berthUpTestbed } from '../support/berth-up.js';
import { listContainers } from '../support/containers.js';
import { uniqueName } from '../support/names.js';
import { run } from '../support/process.js';
import { ageKeyPair, encryptSecret } from '../support/sops.js';

const NS = 'vault';

/** A Deployment whose container reads Secret `secret` through env (secretKeyRef, envFrom secretRef) and a Secret volume. */
const app = (name: string, secret: string, image: string): string => `apiVersion: apps/v1
kind: Deployment
metadata: {name: ${name}, namespace: ${NS}}
spec:
  replicas: 1
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
        - name: app
          image: ${image}
          command: [sleep, "3600"]
          env: [{name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: ${secret}, key: password}}}]
          envFrom: [{secretRef: {name: ${secret}}, prefix: FROM_}]
          volumeMounts: [{name: creds, mountPath: /etc/creds}]
      volumes:
        - name: creds
          secret: {secretName: ${secret}, items: [{key: password, path: pw}], defaultMode: 0400}
`;

// The whole path of a Secret: encrypted in Git, ciphertext in etcd, decrypted only by the agent into
// the pod's environment and files; a change rolls the pod; nothing plain anywhere else.
describe('Secrets encrypted with sops and age', () => {
  const bed = berthUpTestbed('secrets');
  const image = inject('testImage');
  const prefix = `/${uniqueName('secrets')}`;
  const secret1 = `pw-${randomBytes(8).toString('hex')}`;
  const secret2 = `pw-${randomBytes(8).toString('hex')}`;
  const foreign = `pw-${randomBytes(8).toString('hex')}`;

  it('passes the value to env and file on its node only, rolls on change, and never writes it anywhere else', async () => {
    const me = await ageKeyPair();
    const stranger = await ageKeyPair();
    const repo = await bed.repo();
    const keyFile = path.join(bed.dataDir, 'age.key');
    await fs.writeFile(keyFile, me.keyFile, { mode: 0o600 });
    await repo.write('db-secret.yaml', await encryptSecret({ name: 'db', namespace: NS, stringData: { password: secret1 }, data: { user: 'app' } }, [me.recipient]));
    await repo.write('app.yaml', app('web', 'db', image));
    await repo.commit('web reads the db Secret');

    const proc = bed.up(repo, ['--etcd', inject('etcdEndpoint'), '--prefix', prefix, '--age-key-file', keyFile, '--log-level', 'debug']);
    const logs = capture(proc);
    const until = <T>(check: () => Promise<T | undefined | false>, what: string): Promise<T> => proc.until(check, what, { timeoutMs: 120_000 });
    const runningOf = async (name: string): Promise<{ id: string; hash: string } | undefined> => {
      const c = (await listContainers(bed.dockerHost, 'berth.node', bed.node)).find((x) => x.state === 'running' && x.labels['berth.pod']?.startsWith(`${name}-`));
      return c === undefined ? undefined : { id: c.id, hash: c.labels['berth.hash'] ?? '' };
    };
    const inside = async (id: string): Promise<string> =>
      (await run('docker', ['exec', id, 'sh', '-c', 'echo "$DB_PASSWORD|$FROM_password|$FROM_user|$(cat /etc/creds/pw)|$(stat -L -c %a /etc/creds/pw)"'], { env: { ...process.env, DOCKER_HOST: bed.dockerHost } })).stdout.trim();

    const first = await until(() => runningOf('web'), 'the pod reading the Secret running');
    expect(await inside(first.id)).toBe(`${secret1}|${secret1}|app|${secret1}|400`);

    // A changed Secret (the same Deployment) rolls the pod: its env is read at start.
    await repo.write('db-secret.yaml', await encryptSecret({ name: 'db', namespace: NS, stringData: { password: secret2 }, data: { user: 'app' } }, [me.recipient]));
    await repo.commit('rotate the db password');
    const second = await until(async () => {
      const c = await runningOf('web');
      return c !== undefined && c.hash !== first.hash && c;
    }, 'the pod made again with the new Secret');
    expect(await inside(second.id)).toBe(`${secret2}|${secret2}|app|${secret2}|400`);

    // A Secret this node cannot open, and one edited after sops encrypted it: their pods wait, their
    // status naming the Secret's file and why (never a value).
    const tampered = (await encryptSecret({ name: 'bent', namespace: NS, stringData: { password: foreign, other: 'x' } }, [me.recipient])).replace(/( {2}password: ENC\[[^\n]*\n)( {2}other: ENC\[[^\n]*\n)/, '$2$1');
    await repo.write('foreign-secret.yaml', await encryptSecret({ name: 'foreign', namespace: NS, stringData: { password: foreign } }, [stranger.recipient]));
    await repo.write('bent-secret.yaml', tampered);
    await repo.write('more.yaml', `${app('lost', 'foreign', image)}---\n${app('bent', 'bent', image)}`);
    await repo.commit('two pods whose Secrets this node cannot use');
    const store = await EtcdStore.connect([inject('etcdEndpoint')], prefix);
    try {
      const reasons = await until(async () => {
        const statuses = (await store.list('status/')).entries.map((e) => e.value);
        const lost = statuses.find((v) => v.includes('"lost-') && v.includes('CreateContainerConfigError'));
        const bent = statuses.find((v) => v.includes('"bent-') && v.includes('CreateContainerConfigError'));
        return lost !== undefined && bent !== undefined && { lost, bent };
      }, 'CreateContainerConfigError on both pods');
      expect(reasons.lost).toMatch(/cannot decrypt secret \\"foreign\\": foreign-secret\.yaml: no age identity of this node's --age-key-file opens it \(encrypted to age1/);
      expect(reasons.bent).toMatch(/cannot decrypt secret \\"bent\\": bent-secret\.yaml: its MAC does not match its values/);

      // A plain Secret is refused at its line, and what runs stays.
      await repo.write('plain-secret.yaml', `apiVersion: v1\nkind: Secret\nmetadata: {name: plain, namespace: ${NS}}\nstringData:\n  password: ${foreign}\n`);
      const refused = await repo.commit('a plain Secret');
      const history = await until(async () => {
        const records = (await store.list('history/')).entries.map((e) => e.value);
        return records.find((v) => v.includes(refused));
      }, 'the plain Secret rejected');
      expect(history).toContain('plain-secret.yaml:5:3: a Secret in plain text in the repository');
      expect((await runningOf('web'))?.id).toBe(second.id);

      // Nothing plain in etcd (the whole keyspace of this berth), nor in any line berth wrote.
      const everything = (await store.list('')).entries.map((e) => `${e.key}=${e.value}`).join('\n');
      expect(everything).toContain('ENC[AES256_GCM');
      for (const value of [secret1, secret2, foreign]) {
        expect(everything).not.toContain(value);
        expect(everything).not.toContain(Buffer.from(value).toString('base64'));
        expect(logs()).not.toContain(value);
      }
      expect(logs()).toContain('"level"');
    } finally {
      await commitChunked(store, [], (await store.list('')).entries.map((e) => e.key));
      await store.close();
    }
  }, 300_000);

  it('validate refuses a plain Secret at its line, and accepts it with --allow-plain-secrets (a commit, read in the check worker as sync reads it)', async () => {
    const repo = await createRepo(inject('gitRoot'), uniqueName('plain-secret'));
    try {
      await repo.write('s.yaml', `apiVersion: v1\nkind: Secret\nmetadata: {name: plain}\nstringData:\n  password: ${foreign}\n`);
      await repo.commit('a plain Secret');
      const refused = await runBerth(['validate', '--repo', repo.workDir, '--rev', 'HEAD']);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toMatch(/^s\.yaml:5:3: a Secret in plain text in the repository; .*--allow-plain-secrets\)$/m);
      expect(refused.stdout + refused.stderr).not.toContain(foreign);
      const allowed = await runBerth(['validate', '--repo', repo.workDir, '--rev', 'HEAD', '--allow-plain-secrets']);
      expect(allowed.code).toBe(0);
      expect(allowed.stdout + allowed.stderr).not.toContain(foreign);
    } finally {
      await repo.dispose();
    }
  }, 120_000);
});

/** Every line `proc` writes from now on (its own tail keeps only the end). */
function capture(proc: BerthProcess): () => string {
  const chunks: Buffer[] = [];
  proc.child.stdout?.on('data', (c: Buffer) => chunks.push(c));
  proc.child.stderr?.on('data', (c: Buffer) => chunks.push(c));
  return () => Buffer.concat(chunks).toString('utf8');
}
