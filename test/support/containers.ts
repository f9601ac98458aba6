import { run } from './process.js';

/** A container as `docker ps` shows it. */
export interface Listed {
  id: string;
  name: string;
  state: string;
  image: string;
  labels: Record<string, string>;
}

/**
 * Every container (any state) carrying `label=value`, through the docker CLI: what a user would see.
 * Pod sandboxes (label berth.sandbox=true) are left out unless `opts.sandboxes`: tests count a pod's own containers.
 */
export async function listContainers(dockerHost: string, label: string, value: string, opts: { sandboxes?: boolean } = {}): Promise<Listed[]> {
  const { stdout } = await run('docker', ['ps', '-a', '--no-trunc', '--filter', `label=${label}=${value}`, '--format', '{{.ID}}\t{{.Names}}\t{{.State}}\t{{.Image}}\t{{.Labels}}'], {
    env: { ...process.env, DOCKER_HOST: dockerHost },
  });
  const all = stdout.split('\n').filter(Boolean).map((line) => {
    const [id = '', name = '', state = '', image = '', labels = ''] = line.split('\t');
    return { id, name, state, image, labels: Object.fromEntries(labels.split(',').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])) };
  });
  return opts.sandboxes === true ? all : all.filter((c) => c.labels['berth.sandbox'] !== 'true');
}

/** Remove every container carrying `label=value` (test cleanup). */
export async function removeContainers(dockerHost: string, label: string, value: string): Promise<void> {
  const ids = (await listContainers(dockerHost, label, value, { sandboxes: true })).map((c) => c.id);
  if (ids.length > 0) await run('docker', ['rm', '-f', ...ids], { env: { ...process.env, DOCKER_HOST: dockerHost } });
}
