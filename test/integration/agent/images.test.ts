// Pulls from a registry that asks for a password (Debian's docker-registry with htpasswd, on
// loopback): with the operator's credentials the pod runs; without them, or with wrong ones, the pod
// says ErrImagePull and then ImagePullBackOff, naming the image and what the registry answered.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BindingRecord, PodStatusRecord } from '../../../src/store/records.js';
import { decode } from '../../../src/store/records.js';
import type { ContainerSpec } from '../../../src/manifest/types.js';
import { RegistryAuth } from '../../../src/agent/registry-auth.js';
import { pushImage, startRegistry, untagImage, type RegistryHandle } from '../../support/registry.js';
import { agentTestbed } from '../../support/agent-testbed.js';
import { uniqueName } from '../../support/names.js';
import { waitFor } from '../../support/wait.js';

const dockerHost = inject('dockerHost');
const bed = agentTestbed('images');
const user = { username: 'berth-op', password: `pw-${uniqueName('secret')}` };
let registry: RegistryHandle | undefined;
let dir = '';
let pushed = '';

beforeAll(async () => {
  registry = await startRegistry({ user });
  dir = await mkdtemp(join(tmpdir(), 'berth-images-'));
  pushed = `${registry.host}/${uniqueName('private')}/app:1`;
  await pushImage(dockerHost, bed.image, pushed, user);
  // Only the registry has it now: every pod below must pull it.
  await untagImage(dockerHost, pushed);
}, 60_000);
afterAll(async () => {
  await untagImage(dockerHost, pushed);
  await registry?.stop();
  await rm(dir, { recursive: true, force: true });
});

function sleeper(image: string): ContainerSpec {
  return { name: 'app', image, imagePullPolicy: 'Always', command: [], args: ['sleep', '3600'], env: [], ports: [], resources: { requests: {}, limits: {} } };
}

function binding(node: string, pod: string, image: string): BindingRecord {
  return { type: 'binding', node, namespace: 'default', pod, templateHash: 'h1', template: { labels: {}, containers: [sleeper(image)], nodeSelector: {}, restartPolicy: 'Always' }, commit: 'c1' };
}

async function authFile(name: string, auths: Record<string, unknown>): Promise<RegistryAuth> {
  const file = join(dir, `${name}.json`);
  await writeFile(file, JSON.stringify({ auths }), { mode: 0o600 });
  return new RegistryAuth(file, true);
}

async function reasonIs(node: string, pod: string, reason: string): Promise<PodStatusRecord> {
  return waitFor(async () => {
    const s = await bed.status(node, pod);
    return s?.containers[0]?.reason === reason && s;
  }, { timeoutMs: 30_000, what: `${pod} to be ${reason}` });
}

describe('pulls from a registry that asks for credentials', () => {
  it('pulls with the credentials of the operator’s Docker config and runs the pod; the password is nowhere in etcd', async () => {
    const node = uniqueName('node');
    const host = registry?.host ?? '';
    const auth = Buffer.from(`${user.username}:${user.password}`).toString('base64');
    await bed.start(node, { registryAuth: await authFile('good', { [`http://${host}`]: { auth } }) });
    await bed.bind(binding(node, 'web', pushed));
    await waitFor(async () => (await bed.status(node, 'web'))?.conditions[0]?.status === 'True', { timeoutMs: 60_000, what: 'web ready' });
    const events = (await bed.store.list('events/pod/default/web/')).entries.map((e) => decode('event', e.key, e.value)).filter((e) => e.component === `agent/${node}`);
    expect(events.map((e) => e.reason)).toEqual(expect.arrayContaining(['Pulling', 'Pulled', 'Created', 'Started']));
    const everything = (await bed.store.list('')).entries.map((e) => e.value.toString()).join('\n');
    expect(everything).not.toContain(user.password);
    expect(everything).not.toContain(auth);
  });

  it('pulls with the credentials a credential helper of the Docker config gives (credsStore), as Docker runs it', async () => {
    const node = uniqueName('node');
    const host = registry?.host ?? '';
    // A docker-credential-* of the test's own: answers for this registry only, with the registry's user.
    const bin = join(dir, 'bin');
    await mkdir(bin, { recursive: true });
    const script = join(bin, 'docker-credential-berthtest');
    await writeFile(script, `#!/bin/sh\nread -r url\n[ "$url" = "${host}" ] || { echo "credentials not found in native keychain"; exit 1; }\necho '{"ServerURL":"${host}","Username":"${user.username}","Secret":"${user.password}"}'\n`);
    await chmod(script, 0o755);
    const file = join(dir, 'helper.json');
    await writeFile(file, JSON.stringify({ auths: { [host]: {} }, credsStore: 'berthtest' }), { mode: 0o600 });
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` };
    await bed.start(node, { registryAuth: new RegistryAuth(file, true, { env }) });
    await bed.bind(binding(node, 'web', pushed));
    await waitFor(async () => (await bed.status(node, 'web'))?.conditions[0]?.status === 'True', { timeoutMs: 60_000, what: 'web ready' });
    const everything = (await bed.store.list('')).entries.map((e) => e.value.toString()).join('\n');
    expect(everything).not.toContain(user.password);
  });

  it.each([
    ['no credentials for it', {}, 'asks for credentials and the agent has none for it'],
    ['a wrong password', { u: 'wrong' }, 'refused the credentials'],
  ])('with %s: ErrImagePull, then ImagePullBackOff, naming the image and the registry’s answer', async (name, given, why) => {
    const node = uniqueName('node');
    const host = registry?.host ?? '';
    const auths = 'u' in given ? { [host]: { username: user.username, password: given.u } } : {};
    await bed.start(node, { registryAuth: await authFile(name.replace(/\W/g, '-'), auths), imageBackOff: { initialMs: 2000, maxMs: 4000 } });
    await bed.bind(binding(node, 'web', pushed));
    const failed = await reasonIs(node, 'web', 'ErrImagePull');
    expect(failed.containers[0]?.message).toContain(`cannot pull image ${pushed}: registry ${host} ${why}`);
    expect(failed.containers[0]?.message).toContain(`docker login ${host}`);
    expect(failed.conditions[0]).toMatchObject({ status: 'False', reason: 'ErrImagePull' });
    const waiting = await reasonIs(node, 'web', 'ImagePullBackOff');
    expect(waiting.containers[0]?.message).toContain(`Back-off pulling image ${pushed}: cannot pull image ${pushed}: registry ${host} ${why}`);
    const events = (await bed.store.list('events/pod/default/web/')).entries.map((e) => decode('event', e.key, e.value)).filter((e) => e.component === `agent/${node}`);
    expect(events.map((e) => e.reason)).toEqual(expect.arrayContaining(['Pulling', 'Failed', 'BackOff']));
    expect(JSON.stringify(events)).not.toContain(user.password);
  });
});
