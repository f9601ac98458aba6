// Which Docker container a request for a pod's container means: the node's own (its label), not the
// pod's sandbox, the newest of that name. Shared by the node endpoint's logs and exec.
import type Docker from 'dockerode';
import { BerthError, InvalidInputError } from '../errors.js';
import { translate, type DockerHost } from './docker-host.js';
import { LABEL } from './labels.js';
import { SANDBOX_LABEL } from './sandbox.js';

/** A pod's container on this node, as a request names it. */
export interface ContainerRef {
  namespace: string;
  pod: string;
  /** Optional when the pod has one container. */
  container?: string;
}

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/**
 * The pod and container of a node endpoint request `/<verb>/<namespace>/<pod>?container=…`, and its
 * query for the rest; a wrong path, an unknown parameter or a bad name is an InvalidInputError.
 */
export function parsePodUrl(url: string, verb: string, params: ReadonlySet<string>): ContainerRef & { query: URLSearchParams } {
  const u = new URL(url, 'http://agent');
  const [, head, namespace, pod, ...rest] = u.pathname.split('/');
  if (head !== verb || namespace === undefined || pod === undefined || rest.length > 0 || !NAME.test(namespace) || !NAME.test(pod)) {
    throw new InvalidInputError('EINVALID', `expected /${verb}/<namespace>/<pod>`);
  }
  for (const key of u.searchParams.keys()) if (key !== 'container' && !params.has(key)) throw new InvalidInputError('EINVALID', `unknown parameter "${key}"`);
  const container = u.searchParams.get('container') ?? undefined;
  if (container !== undefined && !NAME.test(container)) throw new InvalidInputError('EINVALID', 'container must be a container name');
  return { namespace, pod, query: u.searchParams, ...(container ? { container } : {}) };
}

/** A yes-or-no parameter of a pod URL: `1`, or `0` and absent for no; anything else is refused. */
export function flagParam(params: URLSearchParams, key: string): boolean {
  const v = params.get(key);
  if (v !== null && v !== '0' && v !== '1') throw new InvalidInputError('EINVALID', `${key} must be 0 or 1`);
  return v === '1';
}

/** The newest Docker container of the pod's container (the only one, when the pod has one). */
export async function findPodContainer(docker: Docker, host: DockerHost, node: string, q: ContainerRef): Promise<Docker.ContainerInfo> {
  let infos: Docker.ContainerInfo[];
  try {
    infos = await docker.listContainers({ all: true, filters: { label: [`${LABEL.node}=${node}`, `${LABEL.namespace}=${q.namespace}`, `${LABEL.pod}=${q.pod}`] } });
  } catch (err) {
    throw translate(err, 'cannot list containers', host);
  }
  // The pod's own containers: not its sandbox (which holds the network and has no container name).
  infos = infos.filter((i) => i.Labels[LABEL.container] !== undefined && i.Labels[SANDBOX_LABEL] !== 'true');
  const names = [...new Set(infos.map((i) => i.Labels[LABEL.container] ?? ''))].sort();
  if (names.length === 0) throw new BerthError('ENOTFOUND', `pod ${q.namespace}/${q.pod} has no container on node ${node}`);
  const name = q.container ?? (names.length === 1 ? names[0] : undefined);
  if (name === undefined) throw new InvalidInputError('ECONTAINER', `pod ${q.namespace}/${q.pod} has ${names.length} containers: ${names.join(', ')}`, { hint: 'pick one with -c' });
  const info = infos.filter((i) => i.Labels[LABEL.container] === name).sort((a, b) => b.Created - a.Created)[0];
  if (!info) throw new BerthError('ENOTFOUND', `pod ${q.namespace}/${q.pod} has no container "${name}"; its containers: ${names.join(', ')}`);
  return info;
}

/** Resolves once a Docker stream (logs, an exec's output) ends, closes or fails: the caller then finishes its answer. */
export function streamEnded(stream: NodeJS.ReadableStream): Promise<void> {
  return new Promise<void>((resolve) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', resolve);
  });
}

/**
 * Docker's multiplexed stream (8-byte frame headers: stream, 0, 0, 0, size) → each payload with its
 * stream (1 stdout, 2 stderr), in order, whatever the chunk boundaries. A stream that is not
 * multiplexed (a TTY's) passes whole as stdout: `raw` says so, or, left undefined, the first byte does.
 */
export function dockerDemuxer(write: (payload: Buffer, stream: 1 | 2) => void, raw?: boolean): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  let plain = raw;
  return (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    plain ??= pending.length > 0 && ![0, 1, 2].includes(pending[0] ?? 0);
    if (plain) {
      write(pending, 1);
      pending = Buffer.alloc(0);
      return;
    }
    while (pending.length >= 8) {
      const size = pending.readUInt32BE(4);
      if (pending.length < 8 + size) return;
      write(pending.subarray(8, 8 + size), pending[0] === 2 ? 2 : 1);
      pending = pending.subarray(8 + size);
    }
  };
}
