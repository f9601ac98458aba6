// `?watch=1`: a read endpoint as server-sent events, driven by etcd watches from the listed revision.
import type { ServerResponse } from 'node:http';
import type { Logger } from '../log.js';
import type { Closer, Store } from '../store/index.js';
import type { Listing, ReadQuery, Resource } from './resources.js';
import { errorBody } from './errors.js';

/** How often a comment line keeps an idle stream (and the proxies on its way) open. */
const KEEPALIVE_MS = 15_000;

/** What the stream needs from the server. */
export interface StreamContext {
  store: Store;
  log: Logger;
  now: () => Date;
  /** The open streams, ended when the server stops. */
  open: Set<() => void>;
}

/**
 * Send `first` (read at or after `from`) as a `snapshot` event, then an `update` event with the whole
 * list each time a change under the resource's prefixes alters it. Changes that come while a read runs
 * coalesce into one more read. A watch that breaks (its revision compacted) ends the stream: an
 * EventSource reconnects and gets a fresh snapshot. The watches close when the client goes.
 */
export function streamResource(res: ServerResponse, resource: Resource, q: ReadQuery, from: number, first: Listing, ctx: StreamContext): void {
  const { store, log } = ctx;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  const send = (event: string, data: unknown, id?: number): void => {
    if (!res.writableEnded) res.write(`event: ${event}\n${id === undefined ? '' : `id: ${id}\n`}data: ${JSON.stringify(data)}\n\n`);
  };
  let last = JSON.stringify(first.items);
  send('snapshot', { items: first.items }, from);

  let closed = false;
  let reading = false;
  let again = false;
  const refresh = async (): Promise<void> => {
    if (reading) {
      again = true;
      return;
    }
    reading = true;
    try {
      do {
        again = false;
        try {
          const revision = await store.revision();
          const { items } = await resource.read(store, q, ctx.now());
          const text = JSON.stringify(items);
          if (text !== last && !closed) {
            last = text;
            send('update', { items }, revision);
          }
        } catch (err) {
          // A named object that went away, etcd briefly unreachable: say so, and keep watching.
          send('error', errorBody(err).body);
        }
      } while (again && !closed);
    } finally {
      reading = false;
    }
  };

  const watches: Closer[] = [];
  const end = (): void => {
    if (closed) return;
    closed = true;
    clearInterval(keepalive);
    ctx.open.delete(end);
    for (const w of watches) void w.close().catch(() => undefined);
    if (!res.writableEnded) res.end();
  };
  const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
  ctx.open.add(end);
  res.on('close', end);
  for (const prefix of resource.watch) {
    watches.push(store.watch(prefix, from + 1, () => void refresh(), (err) => {
      log.debug({ err: err.message, resource: resource.path }, 'watch of a stream broke; ending the stream');
      send('error', errorBody(err).body);
      end();
    }));
  }
}
