// Docker's shapes in the runtime's terms (containers, ports, mounts, events, exec output, create options): pure translations for docker.ts.
import type Docker from 'dockerode';
import type { Container, ContainerState, RunMount, RunPort, RunSpec, RuntimeEvent } from './runtime.js';
import { securityHostConfig } from './security.js';

/** The container states Docker reports; anything else is read as 'dead'. */
export const STATES: ReadonlySet<ContainerState> = new Set<ContainerState>(['created', 'running', 'paused', 'restarting', 'removing', 'exited', 'dead']);

/** A RunMount in Docker's terms: a bind, or a local-driver volume backed by tmpfs (made by Docker on first use). */
export function dockerMount(m: RunMount): Docker.MountSettings {
  if (m.type === 'bind') return { Type: 'bind', Source: m.source, Target: m.target, ReadOnly: m.readOnly, BindOptions: { Propagation: 'rprivate' } };
  // A pod's fsGroup as kubelet gives it to a tmpfs emptyDir: the group, and to tmpfs' own 1777 group rw and setgid.
  const o = [...(m.sizeBytes === undefined ? [] : [`size=${m.sizeBytes}`]), ...(m.gid === undefined ? [] : [`gid=${m.gid}`, 'mode=3777'])];
  const options: Record<string, string> = { type: 'tmpfs', device: 'tmpfs', ...(o.length === 0 ? {} : { o: o.join(',') }) };
  return { Type: 'volume', Source: m.name, Target: m.target, ReadOnly: m.readOnly, VolumeOptions: { NoCopy: true, Labels: m.labels, DriverConfig: { Name: 'local', Options: options } } };
}

/** The id in Docker's `container:<id>` network mode: whose network namespace a container joined. */
export function joinedOf(mode: string | undefined): string | undefined {
  return mode?.startsWith('container:') === true ? mode.slice('container:'.length) : undefined;
}

/** The container's IP: the first network's that has one (a sandbox has one network, its pod network). */
export function ipOf(settings: Docker.ContainerInspectInfo['NetworkSettings'] | undefined): string | undefined {
  for (const n of Object.values(settings?.Networks ?? {})) if (n.IPAddress) return n.IPAddress;
  return undefined;
}

/** The text of Docker's multiplexed exec stream (8-byte frame headers dropped), trimmed to 1 KiB. */
export function demux(b: Buffer): string {
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= b.length) {
    const len = b.readUInt32BE(i + 4);
    parts.push(b.subarray(i + 8, i + 8 + len));
    i += 8 + len;
  }
  return Buffer.concat(parts).toString('utf8').trim().slice(0, 1024);
}

export function destroy(stream: NodeJS.ReadableStream): void {
  (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
}

export function parseJson(line: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** One line of /events as a RuntimeEvent; the attributes carry the container's labels (plus name and image). */
export function parseEvent(line: string): RuntimeEvent | undefined {
  const e = parseJson(line);
  const actor = e?.Actor as { ID?: unknown; Attributes?: unknown } | undefined;
  if (!e || typeof e.Action !== 'string' || typeof actor?.ID !== 'string') return undefined;
  const labels: Record<string, string> = {};
  if (typeof actor.Attributes === 'object' && actor.Attributes !== null) {
    for (const [k, v] of Object.entries(actor.Attributes)) if (typeof v === 'string') labels[k] = v;
  }
  const nanos = typeof e.timeNano === 'number' ? e.timeNano / 1e6 : undefined;
  const time = nanos ?? (typeof e.time === 'number' ? e.time * 1000 : Date.now());
  // Exec actions arrive as "exec_start: sh -c …"; keep only the verb.
  return { action: (e.Action.split(':')[0] ?? e.Action).trim(), id: actor.ID, labels, time };
}

/**
 * What the list endpoint says of a container that an inspect of it would show changed: state, creation,
 * name, addresses, published ports, and the status without its durations ("Exited (137) 3 seconds ago"
 * keeps "Exited (137)"), which would otherwise change every round for a young container. A restart from
 * outside leaves it the same: events tell that (inspect-cache.ts).
 */
export function listKey(info: Docker.ContainerInfo): string {
  const status = `${info.Status.split(' ')[0] ?? ''}${(info.Status.match(/\([^)]*\)/g) ?? []).join('')}`;
  const ips = Object.values(info.NetworkSettings?.Networks ?? {}).map((n) => n.IPAddress).join(',');
  const ports = info.Ports.map((p) => `${p.IP ?? ''}:${p.PublicPort ?? ''}:${p.PrivatePort}/${p.Type}`).join(',');
  return [info.State, info.Created, status, info.Names.join(','), info.HostConfig.NetworkMode ?? '', ips, ports].join('\0');
}

/** A container as the list endpoint describes it: enough to plan around, without its lock. */
export function briefOf(info: Docker.ContainerInfo): Container {
  const state = STATES.has(info.State as ContainerState) ? (info.State as ContainerState) : 'dead';
  const ports: RunPort[] = info.Ports.filter((p) => p.PublicPort !== undefined && p.PublicPort > 0).map((p) => ({
    containerPort: p.PrivatePort,
    protocol: p.Type === 'udp' ? 'UDP' : 'TCP',
    hostPort: p.PublicPort,
    hostIp: p.IP ?? '0.0.0.0',
  }));
  const joined = joinedOf(info.HostConfig.NetworkMode);
  return { id: info.Id, name: (info.Names[0] ?? info.Id).replace(/^\//, ''), labels: info.Labels ?? {}, image: info.Image, state, ports, published: ports, ...(joined === undefined ? {} : { joined }) };
}

/** Docker's PortBindings (`{"80/tcp": [{HostIp, HostPort}]}`) as RunPorts. */
export function portsOf(bindings: unknown): RunPort[] {
  const out: RunPort[] = [];
  if (typeof bindings !== 'object' || bindings === null) return out;
  for (const [key, list] of Object.entries(bindings)) {
    const [port, proto] = key.split('/');
    const containerPort = Number(port);
    if (!Number.isInteger(containerPort) || !Array.isArray(list)) continue;
    for (const b of list as { HostIp?: unknown; HostPort?: unknown }[]) {
      const hostPort = Number(b.HostPort);
      if (!Number.isInteger(hostPort) || hostPort <= 0) continue;
      out.push({
        containerPort,
        protocol: proto === 'udp' ? 'UDP' : 'TCP',
        hostPort,
        hostIp: typeof b.HostIp === 'string' && b.HostIp !== '' ? b.HostIp : '0.0.0.0',
      });
    }
  }
  return out.sort((a, b) => a.containerPort - b.containerPort || (a.hostPort ?? 0) - (b.hostPort ?? 0));
}

/**
 * A Docker timestamp as text that sorts as the time does: Docker trims trailing zeros of the
 * nanoseconds (`…:01.12345Z` is earlier than `…:01.123456789Z`, yet sorts after it as text).
 */
export function timeKey(created: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/.exec(created);
  if (m === null) return created;
  return `${m[1] ?? ''}.${(m[2] ?? '').padEnd(9, '0')}${m[3] ?? ''}`;
}

/**
 * The Engine API's create options for `spec`: `init` whether docker-init runs as PID 1, `user` the
 * container's user when its security context sets one (checked against the image by the caller).
 */
export function createOptions(spec: RunSpec, init: boolean, user: string | undefined): Docker.ContainerCreateOptions {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  // NOTE: Docker refuses ports (and a hostname) on a container that joins another's namespace: its sandbox publishes them.
  for (const p of spec.netns === undefined ? spec.ports : []) {
    const key = `${p.containerPort}/${p.protocol.toLowerCase()}`;
    exposed[key] = {};
    if (p.hostPort !== undefined || spec.publishAll === true) {
      // An empty HostPort: Docker picks a free one.
      (bindings[key] ??= []).push({ HostIp: p.hostIp ?? '0.0.0.0', HostPort: p.hostPort === undefined ? '' : String(p.hostPort) });
    }
  }
  const hostConfig: Docker.HostConfig = {
    // The agent, not Docker, restarts containers, so a kill shows up as drift it can report.
    RestartPolicy: { Name: 'no' },
    Init: init,
    PortBindings: bindings,
    ...(spec.netns !== undefined ? { NetworkMode: `container:${spec.netns}` } : spec.network !== undefined ? { NetworkMode: spec.network } : {}),
  };
  if (spec.limits.memory !== undefined) {
    // Memory plus swap equal to the limit: no swap, so a process over its limit is OOM-killed as in Kubernetes.
    hostConfig.Memory = spec.limits.memory;
    hostConfig.MemorySwap = spec.limits.memory;
  }
  if (spec.limits.cpu !== undefined) hostConfig.NanoCpus = spec.limits.cpu * 1_000_000;
  if (spec.mounts !== undefined && spec.mounts.length > 0) hostConfig.Mounts = spec.mounts.map(dockerMount);
  if (spec.security !== undefined) Object.assign(hostConfig, securityHostConfig(spec.security));
  return {
    name: spec.name,
    ...(user === undefined ? {} : { User: user }),
    Image: spec.image,
    ...(spec.hostname === undefined ? {} : { Hostname: spec.hostname }),
    // Kubernetes semantics: Docker inherits the image's Cmd only when Entrypoint is unset too.
    ...(spec.command.length > 0 ? { Entrypoint: spec.command } : {}),
    ...(spec.args.length > 0 ? { Cmd: spec.args } : {}),
    Env: spec.env.map((e) => `${e.name}=${e.value}`),
    Labels: spec.labels,
    ExposedPorts: exposed,
    HostConfig: hostConfig,
    // A static address needs the network made with a configured subnet (ensureNetwork); Docker holds it across stops and starts.
    ...(spec.ip === undefined || spec.network === undefined ? {} : { NetworkingConfig: { EndpointsConfig: { [spec.network]: { IPAMConfig: { IPv4Address: spec.ip } } } } }),
  };
}
