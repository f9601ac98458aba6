// `berth exec` on the node (kubelet's exec on :10250): a command run in one of the pod's running
// containers through Docker's exec, its stdin, stdout and stderr carried over a channel socket
// (src/channels.ts), with a TTY on request, and its exit code sent last on the status channel.
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { CHANNEL, frame, isOpen, unframe, type ChannelSocket, type ExecStatus, type TerminalSize } from '../channels.js';
import { BerthError, InvalidInputError, messageOf } from '../errors.js';
import type { Logger } from '../log.js';
import { translate, type DockerHost } from './docker-host.js';
import { LABEL } from './labels.js';
import { dockerDemuxer, findPodContainer, flagParam, parsePodUrl, streamEnded, type ContainerRef } from './pod-container.js';

/** What an exec request asks for, checked. */
export interface ExecQuery extends ContainerRef {
  command: string[];
  stdin: boolean;
  tty: boolean;
}

const PARAMS = new Set(['command', 'stdin', 'tty']);
/** Bounds of a command line: as many words and bytes as any shell one-liner needs. */
export const MAX_ARGS = 256;
export const MAX_COMMAND_BYTES = 64 * 1024;

/** Parse `/exec/<namespace>/<pod>?command=…&command=…[&container=][&stdin=1][&tty=1]`; anything else is an InvalidInputError. */
export function parseExecRequest(url: string): ExecQuery {
  const { query: params, ...ref } = parsePodUrl(url, 'exec', PARAMS);
  const command = params.getAll('command');
  if (command.length === 0 || command[0] === '') throw new InvalidInputError('EINVALID', 'command is required: the program and its arguments, one command= each');
  if (command.length > MAX_ARGS || command.reduce((n, a) => n + Buffer.byteLength(a), 0) > MAX_COMMAND_BYTES) {
    throw new InvalidInputError('EINVALID', `command is limited to ${MAX_ARGS} words and ${MAX_COMMAND_BYTES} bytes`);
  }
  return { ...ref, command, stdin: flagParam(params, 'stdin'), tty: flagParam(params, 'tty') };
}

/** An exec made in Docker, ready to start once the client's socket is open. */
export interface PreparedExec {
  exec: Docker.Exec;
  query: ExecQuery;
}

/** Find the container and make the exec: every refusal happens here, before the socket opens. */
export async function prepareExec(docker: Docker, host: DockerHost, node: string, q: ExecQuery): Promise<PreparedExec> {
  const info = await findPodContainer(docker, host, node, q);
  const name = info.Labels[LABEL.container] ?? info.Names[0] ?? info.Id;
  if (info.State !== 'running') {
    throw new BerthError('ENOTRUNNING', `container ${name} of pod ${q.namespace}/${q.pod} is not running (${info.State})`, { hint: `see why with \`berth logs ${q.pod} --previous\`` });
  }
  try {
    const exec = await docker.getContainer(info.Id).exec({ Cmd: q.command, AttachStdin: q.stdin, AttachStdout: true, AttachStderr: true, Tty: q.tty });
    return { exec, query: q };
  } catch (err) {
    throw translate(err, `cannot exec in container ${name}`, host);
  }
}

/** Start the exec and carry its streams over `ws` until it ends; then its exit code, and the socket closes. */
export async function runExec(prepared: PreparedExec, ws: ChannelSocket, log: Logger): Promise<void> {
  const { exec, query } = prepared;
  const finish = (status: ExecStatus): void => {
    if (!isOpen(ws)) return;
    ws.send(frame(CHANNEL.status, JSON.stringify(status)));
    ws.close(1000);
  };
  let startError: unknown;
  const started: Promise<Duplex | undefined> = exec.start({ hijack: true, stdin: query.stdin, Tty: query.tty }).then(
    (s) => s as Duplex,
    (err: unknown) => {
      startError = err;
      return undefined;
    },
  );
  // Frames are handled one after another, and those that come while Docker starts the command wait for it:
  // the client sends its terminal's size first, and what it types must reach a terminal of that size.
  const handle = async (data: Parameters<typeof unframe>[0]): Promise<void> => {
    const stream = await started;
    const m = unframe(data);
    if (stream === undefined || m === undefined) return;
    if (m.channel === CHANNEL.stdin && query.stdin) stream.write(m.payload);
    // Kubernetes' v5 close: the client's stdin has ended, so the command's does.
    else if (m.channel === CHANNEL.close && m.payload[0] === CHANNEL.stdin) stream.end();
    else if (m.channel === CHANNEL.resize && query.tty) {
      const size = parseSize(m.payload);
      if (size) await resizeSoon(exec, size);
    }
  };
  let chain: Promise<void> = Promise.resolve();
  ws.on('message', (data) => {
    chain = chain.then(() => handle(data)).catch((err: unknown) => log.debug({ err: messageOf(err) }, 'cannot pass a frame to an exec'));
  });
  const stream = await started;
  if (stream === undefined) {
    finish({ code: 'EEXEC', message: `cannot start the command: ${messageOf(startError)}` });
    return;
  }
  // The client gone: the command keeps its terminal no longer (a TTY's shell gets SIGHUP).
  ws.on('close', () => stream.destroy());
  const push = dockerDemuxer((payload, which) => {
    if (isOpen(ws)) ws.send(frame(which === 2 ? CHANNEL.stderr : CHANNEL.stdout, payload));
  }, query.tty);
  stream.on('data', (c: Buffer) => push(c));
  await streamEnded(stream);
  if (!isOpen(ws)) return;
  finish(await exitOf(exec));
}

/**
 * Resize the exec's terminal. Docker answers the start of an exec before its process runs, and refuses
 * to resize until it does: tried again 10 times, 10 ms longer each time, as the docker CLI does.
 */
async function resizeSoon(exec: Docker.Exec, size: TerminalSize): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await exec.resize({ h: size.Height, w: size.Width });
      return;
    } catch (err) {
      if (attempt > 10) throw err;
      await new Promise((r) => setTimeout(r, attempt * 10));
    }
  }
}

/** The exec's exit code, once Docker says it has stopped (a moment after its streams end). */
async function exitOf(exec: Docker.Exec): Promise<ExecStatus> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const info = await exec.inspect();
      if (!info.Running && info.ExitCode !== null) return { exitCode: info.ExitCode };
    } catch (err) {
      return { code: 'EEXEC', message: `cannot read the command's exit code: ${messageOf(err)}` };
    }
    if (Date.now() > deadline) return { code: 'EEXEC', message: 'the command closed its streams but Docker does not say it ended' };
    await new Promise((r) => setTimeout(r, 50));
  }
}

function parseSize(payload: Buffer): TerminalSize | undefined {
  try {
    const v = JSON.parse(payload.toString('utf8')) as Partial<TerminalSize>;
    const ok = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n > 0 && n < 10_000;
    return ok(v.Width) && ok(v.Height) ? { Width: v.Width, Height: v.Height } : undefined;
  } catch {
    return undefined;
  }
}
