// An in-memory ContainerRuntime for unit tests. test/integration/agent/runtime.contract.test.ts runs
// the same suite against it and the real DockerRuntime, so its behaviour cannot drift from Docker's.
import { randomBytes } from 'node:crypto';
import { BerthError, UnavailableError } from '../../src/errors.js';
import type { Closer } from '../../src/store/store.js';
import type { Container, ContainerRuntime, ExecResult, NetworkInfo, PullProgress, RunSpec, RuntimeEvent } from '../../src/agent/runtime.js';
import { RUNTIME_DOWN, hasLabels } from '../../src/agent/runtime.js';
import { portsClash } from '../../src/agent/plan.js';
import { DOCKER_HINT, dockerHostOptions, pullError } from '../../src/agent/docker-host.js';
import type { RegistryCredential } from '../../src/agent/registry-auth.js';

const FAKE_HOST = dockerHostOptions('/fake/docker.sock', {});

interface FakeContainer extends Container {
  spec: RunSpec;
}

type Op = 'create' | 'start' | 'stop' | 'remove' | 'pull' | 'removeVolume' | 'ensureNetwork';

/** An engine in memory: containers, images, a registry to pull from, events, and fault hooks. */
export class FakeRuntime implements ContainerRuntime {
  /** Every call, in order, e.g. `create berth_n_default_web_app_abc`, `stop <id>`. */
  readonly calls: string[] = [];
  private readonly containers = new Map<string, FakeContainer>();
  private readonly volumes = new Map<string, Record<string, string>>();
  private readonly images: Set<string>;
  private readonly registry: Set<string>;
  private readonly listeners = new Set<{ labels: Record<string, string>; onEvent: (e: RuntimeEvent) => void; onError?: (err: Error) => void }>();
  private readonly faults = new Map<Op, (target: string) => Error | undefined>();
  private down = false;
  /** Networks made by ensureNetwork, with their labels. */
  readonly networks = new Map<string, Record<string, string>>();
  /** The last address and host port handed out. */
  private lastIp = 1;
  private lastHostPort = 32767;
  /** The grace period of each container's last stop, by id. */
  readonly graces = new Map<string, number>();
  /** Calls refused because the engine was down (setDown(true)), over the fake's life. */
  refused = 0;

  private readonly unreachable: Set<string>;

  /** Per registry host: the `user:password` its pulls need (as a docker-registry with htpasswd). */
  private readonly locked: Map<string, string>;

  /**
   * `registry`: images a pull can fetch; `unreachable`: registry hosts (`127.0.0.1:1`) whose pulls fail
   * as unreachable; `locked`: registry hosts whose pulls need `user:password`.
   */
  /** Whether ensureNetwork makes networks with a subnet (static addresses, pods without sandboxes) or without (an older berth's). */
  private readonly subnets: boolean;

  constructor(opts: { images?: string[]; registry?: string[]; unreachable?: string[]; locked?: Record<string, string>; now?: () => Date; subnets?: boolean } = {}) {
    this.subnets = opts.subnets ?? true;
    this.images = new Set(opts.images ?? []);
    this.registry = new Set(opts.registry ?? []);
    this.unreachable = new Set(opts.unreachable ?? []);
    this.locked = new Map(Object.entries(opts.locked ?? {}));
    if (opts.now) this.now = opts.now;
  }

  /** The RunSpec each container present was created from, in creation order. */
  specs(): RunSpec[] {
    return [...this.containers.values()].map((c) => structuredClone(c.spec));
  }

  /** The clock for startedAt/finishedAt. */
  now: () => Date = () => new Date();

  async ping(): Promise<void> {
    this.check();
  }

  async list(labels: Record<string, string>): Promise<Container[]> {
    this.check();
    return [...this.containers.values()]
      .filter((c) => hasLabels(c.labels, labels))
      .map(({ spec: _spec, ...c }) => structuredClone(c))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async create(spec: RunSpec): Promise<string> {
    this.check('create', spec.name);
    if (!this.images.has(spec.image)) throw new BerthError('EDOCKERNOTFOUND', `cannot create container ${spec.name}: No such image: ${spec.image}`);
    if ([...this.containers.values()].some((c) => c.name === spec.name)) {
      throw new BerthError('EDOCKERCONFLICT', `cannot create container ${spec.name}: Conflict. The container name "/${spec.name}" is already in use`);
    }
    let joined: string | undefined;
    if (spec.netns !== undefined) {
      joined = [...this.containers.values()].find((c) => c.id === spec.netns || c.name === spec.netns)?.id;
      if (joined === undefined) throw new BerthError('EDOCKERNOTFOUND', `cannot create container ${spec.name}: No such container: ${spec.netns}`);
    }
    // Docker's own networks (host, none, bridge) are always there.
    if (spec.network !== undefined && !['host', 'none', 'bridge'].includes(spec.network) && !this.networks.has(spec.network)) throw new BerthError('EDOCKERNOTFOUND', `cannot create container ${spec.name}: network ${spec.network} not found`);
    const id = randomBytes(32).toString('hex');
    const ports = spec.netns !== undefined ? [] : spec.ports.filter((p) => p.hostPort !== undefined).map((p) => ({ ...p, hostIp: p.hostIp ?? '0.0.0.0' }));
    this.containers.set(id, { id, name: spec.name, labels: { ...spec.labels }, image: spec.image, state: 'created', exitCode: 0, ports, spec: structuredClone(spec), ...(joined === undefined ? {} : { joined }) });
    // Docker makes a named volume on first use, with the mount's labels.
    for (const m of spec.mounts ?? []) if (m.type === 'tmpfs' && !this.volumes.has(m.name)) this.volumes.set(m.name, { ...m.labels });
    this.emit('create', id);
    return id;
  }

  async start(id: string): Promise<void> {
    this.check('start', id);
    const c = this.get(id, 'start');
    if (c.state === 'running') return;
    const clash = [...this.containers.values()].find((o) => o.id !== id && o.state === 'running' && o.ports.some((p) => c.ports.some((q) => portsClash(p, q))));
    if (clash) {
      const p = c.ports.find((q) => clash.ports.some((r) => portsClash(q, r)));
      c.error = `Bind for ${p?.hostIp ?? ''}:${p?.hostPort ?? ''} failed: port is already allocated`;
      throw new BerthError('EDOCKER', `cannot start container ${id}: driver failed programming external connectivity: ${c.error}`);
    }
    if (c.joined !== undefined && this.containers.get(c.joined)?.state !== 'running') {
      throw new BerthError('EDOCKER', `cannot start container ${id}: cannot join network of a non running container: ${c.joined}`);
    }
    // A static address held by another container: Docker's State.Error and message.
    if (c.spec.ip !== undefined && [...this.containers.values()].some((o) => o.id !== id && o.state === 'running' && o.ip === c.spec.ip)) {
      c.error = 'Address already in use';
      throw new BerthError('EDOCKER', `cannot start container ${id}: ${c.error}`);
    }
    c.state = 'running';
    if (c.spec.network !== undefined) c.ip = c.spec.ip ?? `10.88.${Math.floor(++this.lastIp / 250)}.${this.lastIp % 250}`;
    c.published = c.spec.netns !== undefined ? [] : c.spec.ports.filter((p) => p.hostPort !== undefined || c.spec.publishAll === true).map((p) => ({ ...p, hostPort: p.hostPort ?? ++this.lastHostPort, hostIp: p.hostIp ?? '0.0.0.0' }));
    c.startedAt = this.now().toISOString();
    delete c.finishedAt;
    delete c.error;
    c.exitCode = 0;
    this.emit('start', id);
  }

  async stop(id: string, graceSeconds: number): Promise<void> {
    this.check('stop', id);
    this.graces.set(id, graceSeconds);
    const c = this.containers.get(id);
    if (!c || c.state !== 'running') return;
    this.exit(id, 143);
  }

  async remove(id: string): Promise<void> {
    this.check('remove', id);
    const c = this.containers.get(id);
    if (!c) return;
    if (c.state === 'running') this.exit(id, 137);
    this.containers.delete(id);
    this.emit('destroy', id, c);
  }

  events(labels: Record<string, string>, onEvent: (e: RuntimeEvent) => void, onError?: (err: Error) => void): Closer {
    const l = { labels, onEvent, ...(onError ? { onError } : {}) };
    if (this.down) queueMicrotask(() => onError?.(downError()));
    else this.listeners.add(l);
    return { close: async () => void this.listeners.delete(l) };
  }

  async ensureNetwork(name: string, labels: Record<string, string>): Promise<NetworkInfo> {
    this.check();
    // Not among `calls` (tests compare those), but it can be made to fail.
    const err = this.faults.get('ensureNetwork')?.(name);
    if (err) throw err;
    if (!this.networks.has(name)) this.networks.set(name, { ...labels });
    // Docker's own addresses (lastIp) stay in 10.88.0.0/17, as on a network berth made with a subnet.
    return this.subnets ? { id: name, subnet: '10.88.0.0/16', ipRange: '10.88.0.0/17' } : { id: name };
  }

  async pull(image: string, onProgress?: (p: PullProgress) => void, auth?: RegistryCredential): Promise<void> {
    this.check('pull', image);
    // The daemon's own words for the ways a pull fails, translated by the real adapter's pullError.
    const registry = image.includes('/') ? image.slice(0, image.indexOf('/')) : 'docker.io';
    if (this.unreachable.has(registry)) throw pullError(image, `Get "http://${registry}/v2/": dial tcp ${registry}: connect: connection refused`, FAKE_HOST);
    const lock = this.locked.get(registry);
    if (lock !== undefined && auth === undefined) throw pullError(image, `Head "http://${registry}/v2/x/manifests/1": no basic auth credentials`, FAKE_HOST);
    if (lock !== undefined && `${auth?.username ?? ''}:${auth?.password ?? ''}` !== lock) throw pullError(image, 'unauthorized: authentication required', FAKE_HOST);
    if (!this.registry.has(image)) throw pullError(image, `manifest for ${image} not found: manifest unknown: manifest unknown`, FAKE_HOST);
    onProgress?.({ status: `Pulling from ${image}` });
    this.images.add(image);
  }

  async hasImage(image: string): Promise<boolean> {
    this.check();
    return this.images.has(image);
  }

  async listVolumes(labels: Record<string, string>): Promise<{ name: string; labels: Record<string, string> }[]> {
    this.check();
    return [...this.volumes].filter(([, l]) => hasLabels(l, labels)).map(([name, l]) => ({ name, labels: { ...l } })).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  async removeVolume(name: string): Promise<boolean> {
    this.check('removeVolume', name);
    const used = [...this.containers.values()].some((c) => (c.spec.mounts ?? []).some((m) => m.type === 'tmpfs' && m.name === name));
    if (used) return false;
    this.volumes.delete(name);
    return true;
  }

  /** How an exec ends, per container id (default: exit 0). Tests set it to make probes fail. */
  execResult: (id: string, command: string[]) => ExecResult = () => ({ exitCode: 0, timedOut: false, output: '' });

  async exec(id: string, command: string[], _timeoutMs: number): Promise<ExecResult> {
    this.check();
    this.calls.push(`exec ${id} ${command.join(' ')}`);
    const c = this.get(id, 'exec');
    if (c.state !== 'running') throw new BerthError('EDOCKERCONFLICT', `cannot exec in container ${id}: container is not running`);
    return this.execResult(id, command);
  }

  // ---- test hooks: what a person or a crash does behind the agent's back ----

  /** The process of `id` ends with `exitCode` (137: `docker kill`; 1: a crash). */
  exit(id: string, exitCode: number): void {
    const c = this.containers.get(id);
    if (!c || c.state !== 'running') return;
    c.state = 'exited';
    c.exitCode = exitCode;
    delete c.ip;
    delete c.published;
    c.finishedAt = this.now().toISOString();
    this.emit('die', id);
  }

  /** `docker rm -f`. */
  removeNow(id: string): void {
    const c = this.containers.get(id);
    if (!c) return;
    this.exit(id, 137);
    this.containers.delete(id);
    this.emit('destroy', id, c);
  }

  /** Put a container there directly (someone else's, or one left over from an earlier agent). */
  inject(c: Omit<Container, 'id'> & { id?: string }): string {
    const id = c.id ?? randomBytes(32).toString('hex');
    const spec: RunSpec = { name: c.name, image: c.image, command: [], args: [], env: [], labels: c.labels, ports: c.ports, limits: {} };
    this.containers.set(id, { ...structuredClone(c), id, spec });
    return id;
  }

  /** Put `image` in the registry, for a later pull (a push, as seen from this engine). */
  publish(image: string): void {
    this.registry.add(image);
  }

  /** The spec a container was created from (undefined for a missing one). */
  specOf(id: string): RunSpec | undefined {
    return this.containers.get(id)?.spec;
  }

  /** Make `op` fail whenever `fault(target)` returns an error (target: the name for create, else the id or image). */
  failOn(op: Op, fault: ((target: string) => Error | undefined) | undefined): void {
    if (fault) this.faults.set(op, fault);
    else this.faults.delete(op);
  }

  /** The engine goes away (every call fails, event streams break) or comes back. */
  setDown(down: boolean): void {
    this.down = down;
    if (!down) return;
    for (const l of this.listeners) l.onError?.(downError());
    this.listeners.clear();
  }

  private check(op?: Op, target?: string): void {
    if (op) this.calls.push(`${op} ${target ?? ''}`);
    if (this.down) {
      this.refused++;
      throw downError();
    }
    const err = op ? this.faults.get(op)?.(target ?? '') : undefined;
    if (err) throw err;
  }

  private get(id: string, what: string): FakeContainer {
    const c = this.containers.get(id);
    if (!c) throw new BerthError('EDOCKERNOTFOUND', `cannot ${what} container ${id}: No such container: ${id}`);
    return c;
  }

  private emit(action: string, id: string, gone?: FakeContainer): void {
    const c = gone ?? this.containers.get(id);
    if (!c) return;
    const e: RuntimeEvent = { action, id, labels: { ...c.labels, name: c.name, image: c.image }, time: this.now().getTime() };
    // Like Docker's stream, events arrive after the call that caused them has answered.
    queueMicrotask(() => {
      for (const l of this.listeners) if (hasLabels(c.labels, l.labels)) l.onEvent(e);
    });
  }
}

function downError(): UnavailableError {
  return new UnavailableError(RUNTIME_DOWN, `cannot reach Docker at ${FAKE_HOST.display} (ECONNREFUSED)`, { hint: DOCKER_HINT });
}
