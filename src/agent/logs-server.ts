// `berth logs` on the node (kubelet's :10250 for `kubectl logs`): GET
// /logs/<namespace>/<pod>?container=&tail=&since=&follow=1 on the node endpoint (node-server.ts),
// read from Docker's log stream, demultiplexed.
import type http from 'node:http';
import type Docker from 'dockerode';
import { BerthError, InvalidInputError } from '../errors.js';
import type { TerminatedState } from '../store/index.js';
import { statusOf, translate, type DockerHost } from './docker-host.js';
import { LABEL } from './labels.js';
import { dockerDemuxer, findPodContainer, flagParam, parsePodUrl, streamEnded, type ContainerRef } from './pod-container.js';

/** What a log request asks for, checked. */
export interface LogQuery extends ContainerRef {
  /** Lines from the end; all when absent. */
  tail?: number;
  /** Only lines newer than this many seconds. */
  sinceSeconds?: number;
  follow: boolean;
  /** The container's run before the current one (Kubernetes' lastState), not the current one. */
  previous: boolean;
}

const PARAMS = new Set(['tail', 'since', 'follow', 'previous']);

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
  const tail = whole('tail', 1_000_000);
  const sinceSeconds = whole('since', 10 * 365 * 86_400);
  return { ...ref, follow: flagParam(params, 'follow'), previous: flagParam(params, 'previous'), ...(tail === undefined ? {} : { tail }), ...(sinceSeconds === undefined ? {} : { sinceSeconds }) };
}

/**
 * Docker's `since`/`until` for an RFC 3339 time, to the nanosecond Docker wrote it with
 * (`seconds.nanoseconds`): a run's lines lie between its start and its end, and the next run's after.
 */
export function dockerTime(iso: string): string | undefined {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(iso);
  const seconds = m ? Date.parse(`${m[1] ?? ''}${m[3] ?? ''}`) / 1000 : NaN;
  // Docker's zero time (0001-01-01) is a run that never started.
  if (!m || !Number.isInteger(seconds) || seconds <= 0) return undefined;
  return `${seconds}.${(m[2] ?? '').padEnd(9, '0')}`;
}

/** Which Docker container and which stretch of its log a query reads. */
export interface LogWindow {
  id: string;
  /** Docker `since`/`until` values; absent: from the start, to the end. */
  since?: string;
  until?: string;
}

/**
 * Which lines a query reads. Docker stamps every line of a run before that run's end (it drains a
 * run's streams before it marks the container stopped), and the next run starts after it, so a
 * run's end splits the log of a container restarted in place. The current run: after the end of the
 * one the pod status keeps (`last`), when this container ran it; a container waiting to restart is
 * still in that run. With `previous`: that run, in the container that ran it; kubectl's words when there is none.
 */
export function logWindow(q: LogQuery, name: string, current: { id: string; startedAt?: string }, last: TerminatedState | undefined, nowSeconds: number): LogWindow {
  const asked = q.sinceSeconds === undefined ? undefined : `${nowSeconds - q.sinceSeconds}.000000000`;
  const from = (start: string | undefined): { since?: string } => {
    const since = start === undefined ? asked : asked === undefined || Number(dockerTime(start)) > Number(asked) ? dockerTime(start) : asked;
    return since === undefined ? {} : { since };
  };
  const sameContainer = last !== undefined && (last.containerId === undefined || last.containerId === current.id);
  if (!q.previous) {
    const restartedSince = sameContainer && last.finishedAt !== undefined && current.startedAt !== undefined && Date.parse(current.startedAt) > Date.parse(last.finishedAt);
    return { id: current.id, ...from(restartedSince ? last.finishedAt : sameContainer ? last.logsSince : undefined) };
  }
  const until = last?.finishedAt === undefined ? undefined : dockerTime(last.finishedAt);
  if (last === undefined || until === undefined) throw new BerthError('ENOTFOUND', `previous terminated container "${name}" in pod "${q.pod}" not found`);
  return { id: last.containerId ?? current.id, ...from(last.logsSince), until };
}

/** Write the logs the query asks for to `res` (and, following, until the container or the client ends). */
export async function streamLogs(docker: Docker, host: DockerHost, node: string, q: LogQuery, res: http.ServerResponse, lastStateOf: (container: string) => Promise<TerminatedState | undefined>): Promise<void> {
  const info = await findPodContainer(docker, host, node, q);
  const name = info.Labels[LABEL.container] ?? '';
  let startedAt: string | undefined;
  try {
    startedAt = (await docker.getContainer(info.Id).inspect()).State.StartedAt;
  } catch (err) {
    throw translate(err, `cannot inspect container ${name}`, host);
  }
  const window = logWindow(q, name, { id: info.Id, startedAt }, await lastStateOf(name), Math.floor(Date.now() / 1000));
  // NOTE: Docker cuts the tail before it applies since/until, so a window that ends before the log does takes its tail here.
  const cutHere = q.previous && q.tail !== undefined;
  const options = { stdout: true, stderr: true, ...(q.tail === undefined || cutHere ? {} : { tail: q.tail }), ...(window.since === undefined ? {} : { since: window.since }), ...(window.until === undefined ? {} : { until: window.until }) };
  const container = docker.getContainer(window.id);
  if (!q.follow || q.previous) {
    let body: Buffer;
    try {
      body = await container.logs({ ...options, follow: false });
    } catch (err) {
      if (q.previous && statusOf(err) === 404) throw new BerthError('ENOTFOUND', `the container of the previous run of "${name}" in pod "${q.pod}" was removed (berth had to replace it), and its logs with it`);
      throw translate(err, `cannot read the logs of container ${name}`, host);
    }
    const chunks: Buffer[] = [];
    dockerDemuxer((b) => chunks.push(Buffer.from(b)))(body);
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache' });
    res.end(cutHere ? lastLines(Buffer.concat(chunks), q.tail ?? 0) : Buffer.concat(chunks));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-cache' });
  const push = dockerDemuxer((b) => res.write(b));
  const stream = (await container.logs({ ...options, follow: true })) as NodeJS.ReadableStream & { destroy(): void };
  res.on('close', () => stream.destroy());
  stream.on('data', (c: Buffer) => push(c));
  await streamEnded(stream);
  res.end();
}

/** The last `n` lines of `text` (a last line without its newline counts). */
export function lastLines(text: Buffer, n: number): Buffer {
  if (n === 0) return Buffer.alloc(0);
  let at = text.length - (text[text.length - 1] === 0x0a ? 1 : 0);
  for (let seen = 0; at > 0; ) {
    const nl = text.lastIndexOf(0x0a, at - 1);
    if (nl < 0) return text;
    if (++seen === n) return text.subarray(nl + 1);
    at = nl;
  }
  return text;
}
