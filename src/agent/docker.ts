// The Docker adapter: the only importer of dockerode. Every failure is translated here.
import type Docker from './dockerode.js';
import { dockerClient } from './dockerode.js';
import { InvalidInputError, UnavailableError } from '../errors.js';
import type { Closer } from '../store/store.js';
import type { Container, ContainerRuntime, ContainerState, ExecResult, NetworkInfo, PullProgress, RunSpec, RuntimeEvent } from './runtime.js';
import { RUNTIME_DOWN, compareText, isRuntimeDown, labelFilters } from './runtime.js';
import type { DockerHost } from './docker-host.js';
import { DOCKER_HINT, dockerHostOptions, dockerMessage, lineSplitter, parseImageRef, pullError, statusOf, translate } from './docker-host.js';
import { dockerUser, needsImageUser, nonRootViolation } from './security.js';
import type { RegistryCredential } from './registry-auth.js';
import { makeNetwork } from './docker-network.js';
import { STATES, briefOf, createOptions, demux, destroy, ipOf, joinedOf, listKey, parseEvent, parseJson, portsOf } from './docker-shapes.js';
import { InspectCache } from './inspect-cache.js';

/** How to reach Docker and how to run containers there. */
export interface DockerRuntimeOptions {
  /** A `--docker` value; default `DOCKER_HOST`, then /var/run/docker.sock. */
  docker?: string;
  /** Run docker-init as PID 1 (default: when the daemon has docker-init) so SIGTERM reaches the process. */
  init?: boolean;
}

/** Docker's "never" timestamp. */
const ZERO_TIME = '0001-01-01T00:00:00Z';
/** How many containers are inspected at once while listing. */
const INSPECT_CONCURRENCY = 8;
/**
 * How long after an event stream opens before its inspects are kept. NOTE: dockerd (20.10 to now) sends
 * the stream's headers before it subscribes to its events, so an event of the first moments can be lost.
 */
const EVENTS_SETTLE_MS = 1000;
/** Networks being made by this process, by engine and name (see ensureNetwork). */
const ensuring = new Map<string, Promise<NetworkInfo>>();


/** ContainerRuntime over a Docker Engine API (tested against dockerd 20.10, API 1.41). */
export class DockerRuntime implements ContainerRuntime {
  /** Where the daemon is, for messages. */
  readonly host: DockerHost;
  private readonly docker: Docker;
  private init: boolean | undefined;
  /** Inspects kept between lists while this runtime's event streams say nothing changed (inspect-cache.ts). */
  readonly inspects = new InspectCache();

  constructor(opts: DockerRuntimeOptions = {}) {
    this.host = dockerHostOptions(opts.docker);
    this.init = opts.init;
    this.docker = dockerClient(this.host);
  }

  async ping(): Promise<void> {
    try {
      await this.docker.ping();
    } catch (err) {
      throw translate(err, `Docker at ${this.host.display} did not answer`, this.host);
    }
  }

  async list(labels: Record<string, string>, opts: { brief?: ReadonlySet<string> } = {}): Promise<Container[]> {
    let infos: Docker.ContainerInfo[];
    try {
      infos = await this.docker.listContainers({ all: true, filters: { label: labelFilters(labels) } });
    } catch (err) {
      throw translate(err, 'cannot list containers', this.host);
    }
    // The list endpoint has no exit code, timestamps or port bindings; inspect gives them, or the inspect
    // kept from an earlier list while nothing says the container changed.
    const out: Container[] = infos.filter((c) => opts.brief?.has(c.Id)).map(briefOf);
    const full = infos.filter((c) => !opts.brief?.has(c.Id));
    const stale: { id: string; key: string }[] = [];
    for (const info of full) {
      const key = listKey(info);
      const kept = this.inspects.lookup(info.Id, key);
      if (kept) out.push(kept);
      else stale.push({ id: info.Id, key });
    }
    for (let i = 0; i < stale.length; i += INSPECT_CONCURRENCY) {
      const batch = await Promise.all(stale.slice(i, i + INSPECT_CONCURRENCY).map((c) => this.inspectKept(c.id, c.key, labels)));
      for (const c of batch) if (c) out.push(c);
    }
    this.inspects.retain(labels, new Set(infos.map((c) => c.Id)));
    return out.sort((a, b) => compareText(a.name, b.name) || compareText(a.id, b.id));
  }

  /** Inspect `id`, listed as `key` under `labels`, and keep the result for the next list while it holds. */
  private async inspectKept(id: string, key: string, labels: Record<string, string>): Promise<Container | undefined> {
    const at = this.inspects.begin();
    let c: Container | undefined;
    try {
      c = await this.inspect(id);
      return c;
    } finally {
      this.inspects.done(at, id, key, labels, c);
    }
  }

  /** Inspect one container; undefined when it vanished since it was listed. */
  private async inspect(id: string): Promise<Container | undefined> {
    let info: Docker.ContainerInspectInfo;
    try {
      info = await this.docker.getContainer(id).inspect();
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw translate(err, `cannot inspect container ${id}`, this.host);
    }
    const st = info.State;
    const state = STATES.has(st.Status as ContainerState) ? (st.Status as ContainerState) : 'dead';
    const c: Container = {
      id: info.Id,
      name: info.Name.replace(/^\//, ''),
      labels: info.Config.Labels ?? {},
      image: info.Config.Image,
      state,
      exitCode: st.ExitCode,
      ports: portsOf(info.HostConfig.PortBindings),
    };
    if (st.Error) c.error = st.Error;
    if (st.OOMKilled) c.oomKilled = true;
    if (st.StartedAt && st.StartedAt !== ZERO_TIME) c.startedAt = st.StartedAt;
    if (st.FinishedAt && st.FinishedAt !== ZERO_TIME) c.finishedAt = st.FinishedAt;
    // On the host's network a container has no address of its own: probes reach it at the Docker host's.
    const ip = info.HostConfig.NetworkMode === 'host' ? (this.host.kind === 'socket' ? '127.0.0.1' : this.host.host) : ipOf(info.NetworkSettings);
    if (ip !== undefined) c.ip = ip;
    const joined = joinedOf(info.HostConfig.NetworkMode);
    if (joined !== undefined) c.joined = joined;
    if (state === 'running') c.published = portsOf(info.NetworkSettings.Ports);
    return c;
  }

  async create(spec: RunSpec): Promise<string> {
    const security = spec.security;
    let user: string | undefined;
    if (security !== undefined) {
      const imageUser = needsImageUser(security) ? await this.imageUser(spec.image) : '';
      const violation = nonRootViolation(security, imageUser);
      if (violation !== undefined) throw new InvalidInputError('ENONROOT', violation, { hint: 'the pod asks for runAsNonRoot' });
      user = dockerUser(security, imageUser);
    }
    try {
      const c = await this.docker.createContainer(createOptions(spec, await this.useInit(), user));
      return c.id;
    } catch (err) {
      throw translate(err, `cannot create container ${spec.name}`, this.host);
    }
  }

  /** docker-init makes SIGTERM reach a shell or busybox PID 1 (a stop then takes ~0.1 s, not the grace). */
  private async useInit(): Promise<boolean> {
    if (this.init === undefined) {
      try {
        const v = await this.docker.version();
        // The daemon lists docker-init among its components only when it found the binary.
        this.init = (v.Components ?? []).some((c) => c.Name === 'docker-init');
      } catch (err) {
        throw translate(err, 'cannot read the Docker version', this.host);
      }
    }
    return this.init;
  }

  async start(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).start();
    } catch (err) {
      // NOTE: 304 means already running: the state we wanted.
      if (statusOf(err) === 304) return;
      throw translate(err, `cannot start container ${id}`, this.host);
    } finally {
      // What this process changed is not kept stale until its event arrives (the round lists again at once).
      this.inspects.touch(id);
    }
  }

  async stop(id: string, graceSeconds: number): Promise<void> {
    try {
      await this.docker.getContainer(id).stop({ t: Math.max(0, Math.round(graceSeconds)) });
    } catch (err) {
      // NOTE: 304 means already stopped and 404 already gone; both are the state we wanted.
      const s = statusOf(err);
      if (s === 304 || s === 404) return;
      throw translate(err, `cannot stop container ${id}`, this.host);
    } finally {
      this.inspects.touch(id);
    }
  }

  async remove(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).remove({ force: true });
    } catch (err) {
      const s = statusOf(err);
      // 404: gone already. 409 "removal already in progress": someone else is finishing the job.
      if (s === 404 || (s === 409 && /already in progress/i.test(dockerMessage(err)))) return;
      throw translate(err, `cannot remove container ${id}`, this.host);
    } finally {
      this.inspects.touch(id);
    }
  }

  events(labels: Record<string, string>, onEvent: (e: RuntimeEvent) => void, onError?: (err: Error) => void): Closer {
    const abort = new AbortController();
    let closed = false;
    let failed = false;
    const fail = (err: Error): void => {
      unwatch();
      if (closed || failed) return;
      failed = true;
      onError?.(err);
    };
    let settleTimer: NodeJS.Timeout | undefined;
    let token: number | undefined;
    /** The stream no longer hears every change: what the cache kept is dropped. */
    const unwatch = (): void => {
      clearTimeout(settleTimer);
      if (token !== undefined) this.inspects.unwatch(token);
      token = undefined;
    };
    const lines = lineSplitter((line) => {
      const e = parseEvent(line);
      if (!e || closed) return;
      // Before the listener: the round it kicks inspects the container again.
      this.inspects.touch(e.id, e.action);
      onEvent(e);
    });
    this.docker
      .getEvents({ filters: { type: ['container'], label: labelFilters(labels) }, abortSignal: abort.signal } as Docker.GetEventsOptions)
      .then((stream) => {
        if (closed) {
          destroy(stream);
          return;
        }
        abort.signal.addEventListener('abort', () => destroy(stream));
        settleTimer = setTimeout(() => {
          if (!closed && !failed) token = this.inspects.watching(labels);
        }, EVENTS_SETTLE_MS);
        settleTimer.unref();
        stream.on('data', (chunk: Buffer) => lines.push(chunk));
        stream.on('error', (err: unknown) => fail(translate(err, 'the Docker event stream broke', this.host)));
        // The stream only ends when the daemon goes away (or restarts).
        stream.on('end', () => fail(new UnavailableError(RUNTIME_DOWN, `the Docker event stream from ${this.host.display} ended`, { hint: DOCKER_HINT })));
      })
      .catch((err: unknown) => fail(translate(err, 'cannot watch Docker events', this.host)));
    return {
      close: async () => {
        closed = true;
        unwatch();
        abort.abort();
      },
    };
  }

  ensureNetwork(name: string, labels: Record<string, string>): Promise<NetworkInfo> {
    // Every caller of this process on this engine (the agents, their Service loops) shares one attempt.
    const key = `${this.host.display}\0${name}`;
    let attempt = ensuring.get(key);
    if (attempt === undefined) {
      attempt = makeNetwork(this.docker, this.host, name, labels).finally(() => ensuring.delete(key));
      ensuring.set(key, attempt);
    }
    return attempt;
  }

  async pull(image: string, onProgress?: (p: PullProgress) => void, auth?: RegistryCredential): Promise<void> {
    const { repository, tag } = parseImageRef(image);
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.docker.createImage({ fromImage: repository, tag, ...(auth === undefined ? {} : { authconfig: auth }) });
    } catch (err) {
      const t = translate(err, 'pull', this.host);
      if (isRuntimeDown(t)) throw t;
      throw pullError(image, dockerMessage(err), this.host, err);
    }
    // NOTE: a failed pull can still answer 200; the failure is an {"error": …} line in the stream.
    await new Promise<void>((resolve, reject) => {
      let error: string | undefined;
      const lines = lineSplitter((line) => {
        const p = parseJson(line);
        if (typeof p?.error === 'string') error ??= p.error;
        else if (typeof p?.status === 'string') {
          const progress: PullProgress = { status: p.status };
          if (typeof p.id === 'string') progress.id = p.id;
          if (typeof p.progress === 'string') progress.progress = p.progress;
          const detail = p.progressDetail as { current?: unknown; total?: unknown } | undefined;
          if (typeof detail?.current === 'number') progress.current = detail.current;
          if (typeof detail?.total === 'number') progress.total = detail.total;
          onProgress?.(progress);
        }
      });
      stream.on('data', (chunk: Buffer) => lines.push(chunk));
      stream.on('error', (err: unknown) => reject(translate(err, `pull of ${image} broke`, this.host)));
      stream.on('end', () => {
        lines.flush();
        if (error === undefined) resolve();
        else reject(pullError(image, error, this.host));
      });
    });
  }

  async exec(id: string, command: string[], timeoutMs: number): Promise<ExecResult> {
    let stream: NodeJS.ReadWriteStream;
    let exec: Docker.Exec;
    try {
      exec = await this.docker.getContainer(id).exec({ Cmd: command, AttachStdout: true, AttachStderr: true });
      stream = (await exec.start({ hijack: true, stdin: false })) as NodeJS.ReadWriteStream;
    } catch (err) {
      throw translate(err, `cannot exec in container ${id}`, this.host);
    }
    // NOTE: Docker cannot kill an exec'd process; on a timeout berth stops waiting (as kubelet does) and it runs on.
    const output: Buffer[] = [];
    let size = 0;
    const ended = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      stream.on('data', (chunk: Buffer) => {
        if (size < 4096) output.push(chunk);
        size += chunk.length;
      });
      stream.on('end', () => (clearTimeout(timer), resolve(true)));
      stream.on('error', () => (clearTimeout(timer), resolve(true)));
    });
    destroy(stream);
    if (!ended) return { exitCode: -1, timedOut: true, output: '' };
    try {
      const info = await exec.inspect();
      return { exitCode: info.ExitCode ?? -1, timedOut: false, output: demux(Buffer.concat(output)) };
    } catch (err) {
      throw translate(err, `cannot inspect an exec in container ${id}`, this.host);
    }
  }

  async listVolumes(labels: Record<string, string>): Promise<{ name: string; labels: Record<string, string> }[]> {
    try {
      const { Volumes } = await this.docker.listVolumes({ filters: { label: labelFilters(labels) } });
      return (Volumes ?? []).map((v) => ({ name: v.Name, labels: v.Labels ?? {} })).sort((a, b) => compareText(a.name, b.name));
    } catch (err) {
      throw translate(err, 'cannot list volumes', this.host);
    }
  }

  async removeVolume(name: string): Promise<boolean> {
    try {
      await this.docker.getVolume(name).remove();
      return true;
    } catch (err) {
      const s = statusOf(err);
      // 404: gone already. 409: a container still uses it; the next round tries again.
      if (s === 404) return true;
      if (s === 409) return false;
      throw translate(err, `cannot remove volume ${name}`, this.host);
    }
  }

  /** The image's `USER` ("" when it runs as root by default). */
  private async imageUser(image: string): Promise<string> {
    try {
      return (await this.docker.getImage(image).inspect()).Config.User ?? '';
    } catch (err) {
      throw translate(err, `cannot inspect image ${image}`, this.host);
    }
  }

  async hasImage(image: string): Promise<boolean> {
    try {
      await this.docker.getImage(image).inspect();
      return true;
    } catch (err) {
      if (statusOf(err) === 404) return false;
      throw translate(err, `cannot inspect image ${image}`, this.host);
    }
  }
}

