// GET /api/v1/pods/<namespace>/<pod>/logs: proxied to the agent of the pod's node (agentapi/<node>),
// which reads them from its engine. The API server keeps nothing; a client that goes ends the upstream request.
import { BerthError, UnavailableError, messageOf } from '../errors.js';
import { agentApiKey, decode, podKey, type Store } from '../store/index.js';

/** The query of a log request, validated by the route. */
export interface LogsQuery {
  container?: string;
  tail?: number;
  /** Seconds. */
  since?: number;
  follow?: '0' | '1' | 'true' | 'false';
}

/** The agent's answer, to be relayed: its status, content type and body. */
export interface Upstream {
  status: number;
  type: string;
  body: ReadableStream<Uint8Array> | null;
}

/** Ask the agent of the pod's node for its logs, with the API token; `signal` aborts when the client goes. */
export async function fetchLogs(store: Store, token: string, namespace: string, pod: string, q: LogsQuery, signal: AbortSignal): Promise<Upstream> {
  const podEntry = await store.get(podKey(namespace, pod));
  if (!podEntry) throw new BerthError('ENOTFOUND', `pod "${pod}" not found in namespace "${namespace}"`, { hint: 'list them with `berth get pods`' });
  const { node } = decode('pod', podEntry.key, podEntry.value);
  if (node === undefined) throw new BerthError('ENOTFOUND', `pod ${namespace}/${pod} is not on a node yet, so it has no logs`);
  const agentEntry = await store.get(agentApiKey(node));
  if (!agentEntry) throw new UnavailableError('EAGENTGONE', `the agent of node ${node} serves no logs now (it is gone, or too old)`, { hint: 'check `berth get nodes`' });
  const { url } = decode('agentApi', agentEntry.key, agentEntry.value);
  const search = new URLSearchParams();
  if (q.container !== undefined) search.set('container', q.container);
  if (q.tail !== undefined) search.set('tail', String(q.tail));
  if (q.since !== undefined) search.set('since', String(q.since));
  if (q.follow === '1' || q.follow === 'true') search.set('follow', '1');
  let res: Response;
  try {
    res = await fetch(`${url}/logs/${namespace}/${pod}${search.size > 0 ? `?${search}` : ''}`, { headers: { authorization: `Bearer ${token}` }, signal });
  } catch (err) {
    throw new UnavailableError('EAGENTUNREACHABLE', `cannot reach the agent of node ${node} at ${url}: ${messageOf(err)}`, { cause: err });
  }
  return { status: res.status, type: res.headers.get('content-type') ?? 'text/plain; charset=utf-8', body: res.body };
}
