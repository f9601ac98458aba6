// `berth exec POD [-n NS] [-c CONTAINER] [-i] [-t] -- COMMAND [ARG...]`: through the API server, which
// relays a channel socket (src/channels.ts) to the agent of the pod's node. Exits with the command's code.
import { CHANNEL, frame, isOpen, unframe, type ChannelSocket, type ExecStatus } from '../channels.js';
import { BerthError, UsageError } from '../errors.js';
import { podServer, type ServerFlags } from './client.js';

/** Flags of `berth exec`. */
export interface ExecFlags extends ServerFlags {
  namespace?: string;
  container?: string;
  stdin?: boolean;
  tty?: boolean;
}

/** Run the command in the pod's container; resolves with its exit code. */
export async function runExec(pod: string, command: string[], flags: ExecFlags): Promise<number> {
  if (command.length === 0) throw new UsageError('EUSAGE', 'no command given', { hint: 'put it after --, e.g. `berth exec web-0 -- ls /`' });
  const { api, namespace } = await podServer(flags, pod);
  // As kubectl: a TTY only when berth's own input is one; else say so and run without.
  let tty = flags.tty === true;
  const terminal = process.stdin.isTTY && flags.stdin === true;
  if (tty && !terminal) {
    process.stderr.write('berth: warning: no TTY for the command: -t needs -i and a terminal on standard input\n');
    tty = false;
  }
  const query = new URLSearchParams();
  if (flags.container !== undefined) query.set('container', flags.container);
  for (const word of command) query.append('command', word);
  if (flags.stdin) query.set('stdin', '1');
  if (tty) query.set('tty', '1');
  const ws = await api.channels(`/api/v1/pods/${namespace}/${encodeURIComponent(pod)}/exec`, query);
  return converse(ws, flags.stdin === true, tty);
}

/** Feed stdin (with -i), print stdout and stderr, follow the terminal's size (with -t); the status channel's exit code. */
async function converse(ws: ChannelSocket, stdin: boolean, tty: boolean): Promise<number> {
  let status: ExecStatus | undefined;
  const resize = (): void => {
    if (isOpen(ws)) ws.send(frame(CHANNEL.resize, JSON.stringify({ Width: process.stdout.columns || 80, Height: process.stdout.rows || 24 })));
  };
  const restore: (() => void)[] = [];
  if (tty) {
    process.stdin.setRawMode(true);
    restore.push(() => process.stdin.setRawMode(false));
    resize();
    process.stdout.on('resize', resize);
    restore.push(() => process.stdout.off('resize', resize));
  }
  if (stdin) {
    const onData = (c: Buffer): void => {
      if (isOpen(ws)) ws.send(frame(CHANNEL.stdin, c));
    };
    const onEnd = (): void => {
      if (isOpen(ws)) ws.send(frame(CHANNEL.close, Buffer.from([CHANNEL.stdin])));
    };
    process.stdin.on('data', onData);
    process.stdin.once('end', onEnd);
    restore.push(() => {
      process.stdin.off('data', onData);
      process.stdin.off('end', onEnd);
      process.stdin.pause();
    });
  } else if (!tty) {
    // Without -i, Ctrl-C ends berth (and the command's streams), as it does for kubectl.
    const stop = (): void => ws.close(1000);
    process.once('SIGINT', stop);
    restore.push(() => process.off('SIGINT', stop));
  }
  ws.on('message', (data) => {
    const m = unframe(data);
    if (m?.channel === CHANNEL.stdout) process.stdout.write(m.payload);
    else if (m?.channel === CHANNEL.stderr) process.stderr.write(m.payload);
    else if (m?.channel === CHANNEL.status) status = JSON.parse(m.payload.toString('utf8')) as ExecStatus;
  });
  await new Promise<void>((resolve) => ws.once('close', () => resolve()));
  for (const undo of restore) undo();
  if (status === undefined) throw new BerthError('EEXEC', 'the exec ended without an exit code (the connection was cut, or the agent stopped)');
  if ('code' in status) throw new BerthError(status.code, status.message);
  return status.exitCode;
}
