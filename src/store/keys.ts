// The keyspace of DESIGN.md, relative to the store prefix. Every key is built here and nowhere else.

/** `desired/<source>/<kind>/<namespace>/<name>` (objectKey is `<kind>/<namespace>/<name>`). */
export const desiredPrefix = (source: string): string => `desired/${source}/`;
export const desiredKey = (source: string, objectKey: string): string => `desired/${source}/${objectKey}`;

export const SEALED_FILES = 'sealedfiles/';
/** `sealedfiles/<source>/<path>`: what sync kept of one manifest file of the sealed commit (sync/kept-files.ts). */
export const sealedFilesPrefix = (source: string): string => `sealedfiles/${source}/`;
export const sealedFileKey = (source: string, path: string): string => `sealedfiles/${source}/${path}`;

export const SOURCES = 'sources/';
export const sourceKey = (source: string): string => `sources/${source}`;

export const HISTORY = 'history/';
export const historyPrefix = (source: string): string => `history/${source}/`;
/** Zero-padded so that keys sort in order of sequence. */
export const historyKey = (source: string, seq: number): string => `history/${source}/${String(seq).padStart(12, '0')}`;

export const PODS = 'pods/';
export const podKey = (namespace: string, pod: string): string => `pods/${namespace}/${pod}`;

export const BINDINGS = 'bindings/';
export const bindingsPrefix = (node: string): string => `bindings/${node}/`;
export const bindingKey = (node: string, namespace: string, pod: string): string => `bindings/${node}/${namespace}/${pod}`;

export const NODES = 'nodes/';
export const nodeKey = (node: string): string => `nodes/${node}`;

export const LOST_NODES = 'lostnodes/';
/** `lostnodes/<node>`: a node whose lease expired, NotReady since when (controller's node lifecycle loop); gone when it registers again. */
export const lostNodeKey = (node: string): string => `lostnodes/${node}`;

export const CORDONS = 'cordons/';
/** `cordons/<node>`: no new pod is scheduled on the node (`berth cordon`, `berth drain`); `berth uncordon` deletes it. */
export const cordonKey = (node: string): string => `cordons/${node}`;

export const LEADERS = 'leaders/';
/** `leaders/<name>`: who runs `name` (controller, scheduler, sync/<source>) now, on the leader's lease (election.ts). */
export const leaderKey = (name: string): string => `leaders/${name}`;

export const STATUS = 'status/';
export const statusPrefix = (node: string): string => `status/${node}/`;
export const statusKey = (node: string, namespace: string, pod: string): string => `status/${node}/${namespace}/${pod}`;

export const ENDPOINTS = 'endpoints/';
/** `endpoints/<namespace>/<service>`: where a Service's connections go (controller); agents program their nodes from it. */
export const endpointsKey = (namespace: string, service: string): string => `endpoints/${namespace}/${service}`;

export const EVENTS = 'events/';
/** `events/<object>/<id>`: `id` names what happened (src/events: reason and a hash), so a repeat finds its record. */
export const eventKey = (object: string, id: string): string => `events/${object}/${id}`;

export const OUTBOX = 'outbox/';
export const outboxPrefix = (source: string): string => `outbox/${source}/`;
/**
 * Zero-padded so that keys sort in order of sequence. Writers take `seq` = the store's revision + 1
 * and create the key only if absent (`ifUnchanged: {key: 0}`), retrying with a fresh `seq` when
 * another writer took it, so an undelivered status is never overwritten (store/sequence.ts: commitSequenced).
 */
export const outboxKey = (source: string, seq: number, part = 0): string =>
  `outbox/${source}/${String(seq).padStart(12, '0')}${part === 0 ? '' : `-${String(part).padStart(3, '0')}`}`;

/** `outboxsending/<source>`: the outbox entry a forge is being sent now (see OutboxSendingRecord). */
export const outboxSendingKey = (source: string): string => `outboxsending/${source}`;

export const HEALTH = 'health/';
/**
 * The `berth/health` last reported for the commit in force of `source` (controller). Compared and
 * swapped in the txn that puts the report into the outbox, so a restarted or second controller
 * never reports the same thing twice.
 */
export const healthKey = (source: string): string => `health/${source}`;

export const SYNC_ERRORS = 'syncerrors/';
/** Why sync of `source` is stuck, while it is (sync writes it after a while of failing, deletes it once it works). */
export const syncErrorKey = (source: string): string => `syncerrors/${source}`;

export const SYNC_REQUESTS = 'requests/sync/';
/** A request to look at the branch of `source` now (the API writes it; that source's sync watches it). */
export const syncRequestKey = (source: string): string => `requests/sync/${source}`;

export const FOLLOWED = 'followed/';
/** What the sync of `source` follows (repository without credentials, branch), for the webhooks of any API server. */
export const followedKey = (source: string): string => `followed/${source}`;

export const ROLLBACK_REQUESTS = 'requests/rollback/';
/** A `berth rollback` of `source` (the API writes it; that source's sync makes the commit and writes the outcome into it). */
export const rollbackRequestKey = (source: string): string => `requests/rollback/${source}`;

export const SUSPENDED = 'suspended/';
/** A suspended source (the API writes it, sync obeys it): no new commit is applied while it exists; with a commit, that one is pinned. */
export const suspensionKey = (source: string): string => `suspended/${source}`;

export const NOTES = 'notes/';
/** The statuses delivered for one commit of a source, as its git note has them: `notes/<source>/<commit>/` (one key per outbox entry). */
export const notesPrefix = (source: string, commit: string): string => `notes/${source}/${commit}/`;
/** The copy of the delivered outbox entry `seq` (the same sequence number), written in the txn that deletes it from the outbox. */
export const noteKey = (source: string, commit: string, seq: string): string => `notes/${source}/${commit}/${seq}`;

export const AGENT_APIS = 'agentapi/';
/** Where the agent of `node` serves its pods' logs (on the agent's own lease; the API server proxies to it). */
export const agentApiKey = (node: string): string => `agentapi/${node}`;
