// `berth logs` on the node (kubelet's :10250 for `kubectl logs`): GET
// /logs/<namespace>/<pod>?container=&tail=&since=&follow=1 on the node endpoint (node-server.ts),
// read from Docker's log stream, demultiplexed.
import type http from 'node:http';
import type Docker from 'dockerode';
import { InvalidInputError } from '../errors.js';
import type { DockerHost } from './docker-host.js';
import { dockerDemuxer, findPodContainer, parsePodUrl, type ContainerRef } from './pod-container.js';

/** What a log request asks for, checked. */
export interface LogQuery extends ContainerRef {
  /** Lines from the end; all when absent. */
  tail?: number;
  /** Only lines newer than this many seconds. */
  sinceSeconds?: number;
  follow: boolean;
}

const PARAMS = new Set(['tail', 'since', 'follow']);

/** Parse `/logs/<namespace>/<pod>?…`; anything else, or a bad parameter, is an InvalidInputError. */
export function parseLogRequest(url: string): LogQuery {
  const { query: params, ...ref } = parsePodUrl(url, 'logs', PARAMS);
  const whole = (key: string, max: number): number | undefined => {
    const v = params.get(key);
    if (v === null) return undefined;
    const n = Number(v);
    if (!/^\d+$/.test(v) || n > max) throw new InvalidInputError('EINVALID', `${key} must be a whole number from 0 to ${max}`);
    return n;
  };
  const follow = params.get('follow');
  if (follow !== null && follow !== '0' && follow !== '1') throw new InvalidInputError('EINVALID', 'follow must be 0 or 1');
  const tail = whole('tail', 1_000_000);
  const sinceSeconds = whole('since', 10 * 365 * 86_400);
  return { ...ref, follow: follow === '1', ...(tail === undefined ? {} : { tail }), ...(sinceSeconds === undefined ? {} : { sinceSeconds }) };
}

/** Write the logs the query asks for to `res` (and, following, until the container or the client ends). */
export async function streamLogs(docker: Docker, host: DockerHost, node: string, q: LogQuery, res: http.ServerResponse): Promise<void> {
  const info = await findPodContainer(docker, host, node, q);
  const options = { stdout: true, stderr: true, ...(q.tail === undefined ? {} : { tail: q.tail }), ...(q.sinceSeconds === undefined ? {} : { since: Math.floor(Date.now() / 1000) - q.sinceSeconds }) };
  const container = docker.getContainer(info.Id);
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache' });
  const push = dockerDemuxer((b) => res.write(b));
  if (!q.follow) {
    push(await container.logs({ ...options, follow: false }));
    res.end();
    return;
  }
  const stream = (await container.logs({ ...options, follow: true })) as NodeJS.ReadableStream & { destroy(): void };
  res.on('close', () => stream.destroy());
  stream.on('data', (c: Buffer) => push(c));
  await new Promise<void>((resolve) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', resolve);
  });
  res.end();
}
