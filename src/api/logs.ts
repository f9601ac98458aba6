// GET /api/v1/pods/<namespace>/<pod>/logs and /exec: proxied to the endpoint of the pod's node's
// agent (agentapi/<node>), which reads them from its engine. The API server keeps nothing; a client
// that goes ends the upstream request.
import { ChannelRefusedError, connectChannels, type ChannelSocket } from '../channels.js';
import { BerthError, ConflictError, InvalidInputError, UnavailableError, messageOf } from '../errors.js';
import { agentApiKey, decode, podKey, type Store } from '../store/index.js';

/** The query of a log request, validated by the route. */
export interface LogsQuery {
  container?: string;
  tail?: number;
  /** Seconds. */
  since?: number;
  follow?: '0' | '1' | 'true' | 'false';
  previous?: '0' | '1' | 'true' | 'false';
}

/** The query of an exec request, validated by the route. */
export interface ExecQuery {
  container?: string;
  /** One word of the command each, in order (one word arrives as a string). */
  command: string | string[];
  stdin?: '0' | '1';
  tty?: '0' | '1';
}

/** The agent's answer, to be relayed: its status, content type and body. */
export interface Upstream {
  status: number;
  type: string;
  body: ReadableStream<Uint8Array> | null;
}

/** The URL of the endpoint of the agent that runs the pod, and its node. */
async function agentOf(store: Store, namespace: string, pod: string, what: string): Promise<{ url: string; node: string }> {
  const podEntry = await store.get(podKey(namespace, pod));
  if (!podEntry) throw new BerthError('ENOTFOUND', `pod "${pod}" not found in namespace "${namespace}"`, { hint: 'list them with `berth get pods`' });
  const { node } = decode('pod', podEntry.key, podEntry.value);
  if (node === undefined) throw new BerthError('ENOTFOUND', `pod ${namespace}/${pod} is not on a node yet, so it has no ${what}`);
  const agentEntry = await store.get(agentApiKey(node));
  if (!agentEntry) throw new UnavailableError('EAGENTGONE', `the agent of node ${node} serves no ${what} now (it is gone, started without --listen, or too old)`, { hint: 'check `berth get nodes`' });
  return { url: decode('agentApi', agentEntry.key, agentEntry.value).url, node };
}

/** Ask the agent of the pod's node for its logs, with the API token; `signal` aborts when the client goes. */
export async function fetchLogs(store: Store, token: string, namespace: string, pod: string, q: LogsQuery, signal: AbortSignal): Promise<Upstream> {
  const { url, node } = await agentOf(store, namespace, pod, 'logs');
  const search = new URLSearchParams();
  if (q.container !== undefined) search.set('container', q.container);
  if (q.tail !== undefined) search.set('tail', String(q.tail));
  if (q.since !== undefined) search.set('since', String(q.since));
  if (q.follow === '1' || q.follow === 'true') search.set('follow', '1');
  if (q.previous === '1' || q.previous === 'true') search.set('previous', '1');
  let res: Response;
  try {
    res = await fetch(`${url}/logs/${namespace}/${pod}${search.size > 0 ? `?${search}` : ''}`, { headers: { authorization: `Bearer ${token}` }, signal });
  } catch (err) {
    throw new UnavailableError('EAGENTUNREACHABLE', `cannot reach the agent of node ${node} at ${url}: ${messageOf(err)}`, { cause: err });
  }
  return { status: res.status, type: res.headers.get('content-type') ?? 'text/plain; charset=utf-8', body: res.body };
}

/** Open the exec on the agent of the pod's node, with the API token; its refusals become the API's own errors. */
export async function openExec(store: Store, token: string, namespace: string, pod: string, q: ExecQuery): Promise<ChannelSocket> {
  const { url, node } = await agentOf(store, namespace, pod, 'exec');
  const search = new URLSearchParams();
  if (q.container !== undefined) search.set('container', q.container);
  for (const word of typeof q.command === 'string' ? [q.command] : q.command) search.append('command', word);
  if (q.stdin === '1') search.set('stdin', '1');
  if (q.tty === '1') search.set('tty', '1');
  try {
    return await connectChannels(`${url}/exec/${namespace}/${pod}?${search}`, token);
  } catch (err) {
    if (!(err instanceof ChannelRefusedError)) throw new UnavailableError('EAGENTUNREACHABLE', `cannot reach the agent of node ${node} at ${url}: ${messageOf(err)}`, { cause: err });
    if (err.status === 400) throw new InvalidInputError(err.code, err.message);
    if (err.status === 404) throw new BerthError('ENOTFOUND', err.message);
    if (err.status === 409) throw new ConflictError(err.code, err.message);
    if (err.status === 401) throw new UnavailableError('EAGENTTOKEN', `the agent of node ${node} refused the API's token`, { hint: 'start the agent and the API server with the same --token-file' });
    throw new UnavailableError(err.code, `the agent of node ${node}: ${err.message}`);
  }
}
