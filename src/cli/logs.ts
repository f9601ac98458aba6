// `berth logs POD [-n NS] [-c CONTAINER] [-f] [--tail N] [--since 10m] [-p]`: through the API server,
// which proxies to the agent of the pod's node.
import { UsageError } from '../errors.js';
import { podServer, type ServerFlags } from './client.js';
import { parseDuration } from './duration.js';

/** Flags of `berth logs`. */
export interface LogsFlags extends ServerFlags {
  namespace?: string;
  container?: string;
  follow?: boolean;
  tail?: string;
  since?: string;
  previous?: boolean;
}

/** Print the pod's logs (stdout and stderr of its container, interleaved as they came); with -f, until Ctrl-C. */
export async function runLogs(pod: string, flags: LogsFlags): Promise<void> {
  const tail = flags.tail === undefined ? undefined : Number(flags.tail);
  if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) throw new UsageError('ETAIL', `--tail must be a whole number, not "${flags.tail}"`);
  const since = flags.since === undefined ? undefined : Math.ceil(parseDuration(flags.since, '--since') / 1000);
  const { api, namespace } = await podServer(flags, pod);
  const stop = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());
  const body = await api.stream(`/api/v1/pods/${namespace}/${encodeURIComponent(pod)}/logs`, {
    container: flags.container, tail, since, ...(flags.follow ? { follow: '1' } : {}), ...(flags.previous ? { previous: '1' } : {}),
  }, stop.signal);
  try {
    for await (const chunk of body) process.stdout.write(chunk);
  } catch (err) {
    if (!stop.signal.aborted) throw err;
  }
}
