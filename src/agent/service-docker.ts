// The Docker side of Service stubs: the pod network, the stub image, and stub containers with the
// Service's names as network aliases. Container listing, events, removal and exec go through the
// agent's DockerRuntime; what RunSpec cannot say (aliases, NET_ADMIN in the stub's own namespace,
// its ip_forward sysctl) is said here.
import type Docker from './dockerode.js';
import { dockerClient } from './dockerode.js';
import { BerthError } from '../errors.js';
import type { Closer } from '../store/store.js';
import { dockerHostOptions, translate, type DockerHost } from './docker-host.js';
import { DockerRuntime } from './docker.js';
import { parseImageRef } from './docker-host.js';
import { stubImageTar, type HostFiles } from './proxy-image.js';
import { STUB_LABEL, type StubSpec } from './rules.js';
import { NETWORK_LABEL } from './sandbox.js';
import type { Container, RuntimeEvent } from './runtime.js';

/** The engine operations the Service loop needs (an in-memory twin in unit tests). */
export interface StubRuntime {
  ensureNetwork(name: string): Promise<void>;
  ensureImage(tag: string): Promise<void>;
  /** This node's stubs. */
  list(node: string): Promise<Container[]>;
  /** Create and start a stub; resolves to its id. */
  create(spec: StubSpec): Promise<string>;
  remove(id: string): Promise<void>;
  /** Replace the stub's nat table with `rules` (iptables-restore input), in one step. */
  load(id: string, rules: string): Promise<void>;
  /** Events of this node's stubs. */
  events(node: string, onEvent: (e: RuntimeEvent) => void, onError?: (err: Error) => void): Closer;
}

/** How long one iptables-restore may take before it counts as failed. */
const LOAD_TIMEOUT_MS = 10_000;

/** StubRuntime on a Docker Engine. */
export class DockerStubs implements StubRuntime {
  private readonly host: DockerHost;
  private readonly docker: Docker;
  private readonly runtime: DockerRuntime;

  constructor(opts: { docker?: string; files?: HostFiles } = {}) {
    this.host = dockerHostOptions(opts.docker);
    this.runtime = new DockerRuntime(opts.docker === undefined ? {} : { docker: opts.docker });
    this.files = opts.files;
    this.docker = dockerClient(this.host);
  }

  private readonly files: HostFiles | undefined;
  /** Network ids by name, from ensureNetwork: a name two networks share is refused by Docker as ambiguous. */
  private readonly networks = new Map<string, string>();

  /** The pod network by the same path the agent's sandboxes take (one attempt per process), by id from then on. */
  async ensureNetwork(name: string): Promise<void> {
    this.networks.set(name, (await this.runtime.ensureNetwork(name, { [NETWORK_LABEL]: name })).id);
  }

  async ensureImage(tag: string): Promise<void> {
    if (await this.runtime.hasImage(tag)) return;
    const { repository, tag: version } = parseImageRef(tag);
    const { stream, done } = await stubImageTar(this.files);
    try {
      const out = (await this.docker.importImage(stream, { repo: repository, tag: version })) as NodeJS.ReadableStream;
      let body = '';
      out.on('data', (chunk: Buffer) => (body = (body + chunk.toString()).slice(-2000)));
      await new Promise<void>((resolve, reject) => {
        out.on('end', resolve);
        out.on('error', reject);
      });
      await done;
      if (body.includes('"error"')) throw new BerthError('EDOCKER', `cannot import the Service stub image ${tag}: ${body}`);
    } catch (err) {
      throw translate(err, `cannot build the Service stub image ${tag}`, this.host);
    }
  }

  list(node: string): Promise<Container[]> {
    return this.runtime.list({ [STUB_LABEL.node]: node });
  }

  async create(spec: StubSpec): Promise<string> {
    const network = this.networks.get(spec.network) ?? spec.network;
    const exposed = Object.fromEntries(spec.published.map((p) => [`${p.port}/tcp`, {}]));
    const bindings = Object.fromEntries(spec.published.map((p) => [`${p.port}/tcp`, [{ HostIp: spec.hostIp, HostPort: String(p.nodePort) }]]));
    try {
      const c = await this.docker.createContainer({
        name: spec.name,
        Image: spec.image,
        Cmd: ['/bin/sleep', '2147483647'],
        Env: ['PATH=/bin:/sbin'],
        Labels: spec.labels,
        ExposedPorts: exposed,
        HostConfig: {
          NetworkMode: network,
          PortBindings: bindings,
          // NET_ADMIN in the stub's own network namespace only: its rules never reach the host's.
          CapAdd: ['NET_ADMIN'],
          CapDrop: ['ALL'],
          Sysctls: { 'net.ipv4.ip_forward': '1' },
          RestartPolicy: { Name: 'unless-stopped' },
          Init: false,
        },
        NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: spec.aliases } } },
      });
      await c.start();
      return c.id;
    } catch (err) {
      throw translate(err, `cannot run the Service stub ${spec.name}`, this.host);
    }
  }

  remove(id: string): Promise<void> {
    return this.runtime.remove(id);
  }

  async load(id: string, rules: string): Promise<void> {
    const r = await this.runtime.exec(id, ['/bin/sh', '-c', 'printf "%s" "$1" | /sbin/iptables-restore', 'load', rules], LOAD_TIMEOUT_MS);
    if (r.exitCode !== 0) throw new BerthError('ESTUBRULES', `iptables-restore in the Service stub ${id.slice(0, 12)} failed (${r.timedOut ? 'timed out' : `exit ${r.exitCode}`}): ${r.output}`);
  }

  events(node: string, onEvent: (e: RuntimeEvent) => void, onError?: (err: Error) => void): Closer {
    return this.runtime.events({ [STUB_LABEL.node]: node }, onEvent, onError);
  }
}
