// `berth exec`'s stream: one WebSocket carrying numbered channels, numbered as Kubernetes'
// channel protocols number them (stdin 0, stdout 1, stderr 2, status 3, resize 4, close 255): the
// CLI speaks it to the API server, which relays it unchanged to the agent of the pod's node. The
// only importer of ws (the API server's WebSocket routes come through @fastify/websocket, which
// hands it the same sockets).
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { BerthError, UnavailableError, messageOf } from './errors.js';

/** The subprotocol name: berth's own, since the status channel carries berth's JSON, not Kubernetes' Status. */
export const EXEC_PROTOCOL = 'v1.exec.berth';

/** The channels, by Kubernetes' numbers. */
export const CHANNEL = { stdin: 0, stdout: 1, stderr: 2, status: 3, resize: 4, close: 255 } as const;

/** A socket of numbered channels. */
export type ChannelSocket = WebSocket;

/** What the status channel says last: the command's exit code, or why it could not run. */
export type ExecStatus = { exitCode: number } | { code: string; message: string };

/** A terminal's size, sent on the resize channel. */
export interface TerminalSize {
  Width: number;
  Height: number;
}

/** Largest message either side accepts: a chunk of a stream, never a whole file. */
export const MAX_MESSAGE = 1024 * 1024;

/** One message: the channel's number, then its bytes. */
export function frame(channel: number, data: Buffer | string): Buffer {
  return Buffer.concat([Buffer.from([channel]), typeof data === 'string' ? Buffer.from(data) : data]);
}

/** A message's channel and bytes; undefined for an empty one. */
export function unframe(data: WebSocket.RawData): { channel: number; payload: Buffer } | undefined {
  const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
  const channel = buf[0];
  return channel === undefined ? undefined : { channel, payload: buf.subarray(1) };
}

/** A refusal by the far side before the socket opened: its HTTP status and body (berth's `{code, message}`). */
export class ChannelRefusedError extends BerthError {
  constructor(readonly status: number, code: string, message: string) {
    super(code, message);
  }
}

/**
 * Open a channel socket to `url` (http or https; the bearer token in the header). A refusal becomes a
 * {@link ChannelRefusedError} with the far side's code and message; no answer an UnavailableError.
 */
export async function connectChannels(url: string, token: string | undefined): Promise<ChannelSocket> {
  const ws = new WebSocket(url.replace(/^http/, 'ws'), [EXEC_PROTOCOL], {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    maxPayload: MAX_MESSAGE,
    handshakeTimeout: 15_000,
  });
  return new Promise<ChannelSocket>((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    // NOTE: ws aborts the handshake (an 'error', and the body unread) on terminate(): read the body, then end the request.
    ws.once('unexpected-response', (req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        let body: { code?: unknown; message?: unknown } = {};
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
        } catch {
          // Not berth's answer: the status says enough.
        }
        const status = res.statusCode ?? 0;
        reject(new ChannelRefusedError(status, typeof body.code === 'string' ? body.code : `EHTTP${status}`, typeof body.message === 'string' ? body.message : `answered ${status}`));
        req.destroy();
      });
    });
    ws.on('error', (err) => reject(new UnavailableError('ECHANNEL', messageOf(err), { cause: err })));
  });
}

const server = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE, handleProtocols: (offered) => (offered.has(EXEC_PROTOCOL) ? EXEC_PROTOCOL : false) });

/** Answer a node:http `upgrade` with a channel socket (the request already checked). */
export async function acceptChannels(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<ChannelSocket> {
  return new Promise((resolve) => server.handleUpgrade(req, socket, head, resolve));
}

/** Refuse a node:http `upgrade` with an HTTP answer: `status` and berth's `{code, message}`. */
export function refuseUpgrade(socket: Duplex, status: number, code: string, message: string): void {
  const body = JSON.stringify({ code, message });
  socket.end(`HTTP/1.1 ${status} ${status === 401 ? 'Unauthorized' : status === 404 ? 'Not Found' : status === 400 ? 'Bad Request' : 'Error'}\r\n`
    + `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** Send each message of one socket to the other, unchanged, and close each when the other closes. */
export function relay(a: ChannelSocket, b: ChannelSocket): void {
  const pipe = (from: ChannelSocket, to: ChannelSocket): void => {
    from.on('message', (data, binary) => {
      if (to.readyState === WebSocket.OPEN) to.send(data, { binary });
    });
    from.on('close', (code, reason) => {
      if (to.readyState === WebSocket.OPEN || to.readyState === WebSocket.CONNECTING) to.close(closable(code), reason);
    });
    from.on('error', () => to.terminate());
  };
  pipe(a, b);
  pipe(b, a);
}

/** Codes a peer may not send (1005 no status, 1006 abnormal) become a plain normal close. */
function closable(code: number): number {
  return code === 1000 || (code >= 3000 && code <= 4999) || (code >= 1001 && code <= 1014 && code !== 1004 && code !== 1005 && code !== 1006) ? code : 1000;
}

/** Whether the socket is open for sending. */
export function isOpen(ws: ChannelSocket): boolean {
  return ws.readyState === WebSocket.OPEN;
}
