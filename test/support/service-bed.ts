// Containers on a test's own Docker network for the Service data-plane tests: backends (busybox
// httpd answering their name), a client to connect from, all labelled for removal after the test.
import { dockerRequest } from './docker.js';
import { DockerRuntime } from '../../src/agent/docker.js';

/** A test's network and the containers it made on it. */
export class ServiceBed {
  readonly runtime: DockerRuntime;
  private readonly made: string[] = [];

  constructor(
    readonly dockerHost: string,
    readonly image: string,
    readonly network: string,
  ) {
    this.runtime = new DockerRuntime({ docker: dockerHost });
  }

  private async api(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
    const res = await dockerRequest(this.dockerHost, method, path, body === undefined ? {} : { body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
    if (res.status >= 300) throw new Error(`docker ${method} ${path}: ${res.status} ${res.body}`);
    return res.body === '' ? {} : (JSON.parse(res.body) as Record<string, unknown>);
  }

  async createNetwork(): Promise<void> {
    await this.api('POST', '/networks/create', { Name: this.network, Driver: 'bridge', CheckDuplicate: true, Labels: { 'berth.test': this.network } });
  }

  /** Run a container on the network; resolves to its id and address. */
  async run(name: string, cmd: string[], opts: { publish?: number } = {}): Promise<{ id: string; ip: string; hostPort?: number }> {
    const created = await this.api('POST', `/containers/create?name=${this.network}-${name}`, {
      Image: this.image,
      Cmd: cmd,
      Labels: { 'berth.test': this.network },
      ExposedPorts: opts.publish === undefined ? {} : { [`${opts.publish}/tcp`]: {} },
      HostConfig: { NetworkMode: this.network, PortBindings: opts.publish === undefined ? {} : { [`${opts.publish}/tcp`]: [{ HostIp: '0.0.0.0', HostPort: '' }] } },
    });
    const id = String(created.Id);
    this.made.push(id);
    await this.api('POST', `/containers/${id}/start`);
    const info = await this.api('GET', `/containers/${id}/json`);
    const settings = info.NetworkSettings as { Networks: Record<string, { IPAddress: string }>; Ports: Record<string, { HostPort: string }[] | null> };
    const ip = settings.Networks[this.network]?.IPAddress ?? '';
    const hostPort = opts.publish === undefined ? undefined : Number(settings.Ports[`${opts.publish}/tcp`]?.[0]?.HostPort);
    return { id, ip, ...(hostPort === undefined ? {} : { hostPort }) };
  }

  /** A busybox httpd on `port` whose every page is `text`. */
  backend(name: string, text: string, port = 8080): Promise<{ id: string; ip: string; hostPort?: number }> {
    return this.run(name, ['sh', '-c', `mkdir -p /w && echo ${text} > /w/index.html && exec httpd -f -p ${port} -h /w`], { publish: port });
  }

  /** The network's gateway: the host, as containers on the network reach it. */
  async gateway(): Promise<string> {
    const info = await this.api('GET', `/networks/${this.network}`);
    const config = (info.IPAM as { Config: { Gateway?: string }[] }).Config;
    return config[0]?.Gateway ?? '';
  }

  /**
   * `count` HTTP GETs of `url` from `client`, one after another (nc: busybox wget -T crashes here),
   * each bounded to 2 s; how many answered each body (`FAIL` counts those that got none).
   */
  async fetchMany(client: string, url: string, count: number): Promise<Record<string, number>> {
    const { host, port } = (() => {
      const u = new URL(url);
      return { host: u.hostname, port: u.port === '' ? '80' : u.port };
    })();
    const script = `i=0; while [ $i -lt ${count} ]; do r=$(printf 'GET / HTTP/1.0\\r\\n\\r\\n' | timeout 2 nc ${host} ${port} 2>/dev/null | tail -n 1); echo "\${r:-FAIL}"; i=$((i+1)); done | sort | uniq -c`;
    const r = await this.runtime.exec(client, ['sh', '-c', script], 120_000);
    const counts: Record<string, number> = {};
    for (const line of r.output.split('\n')) {
      const m = /^\s*(\d+)\s+(\S+)/.exec(line);
      if (m?.[1] !== undefined && m[2] !== undefined) counts[m[2]] = Number(m[1]);
    }
    return counts;
  }

  async remove(id: string): Promise<void> {
    await dockerRequest(this.dockerHost, 'DELETE', `/containers/${id}?force=true`);
  }

  /** Removes every container made, this node's stubs, and the network. */
  async dispose(stubs: string[] = []): Promise<void> {
    for (const id of [...this.made, ...stubs]) await this.remove(id);
    await dockerRequest(this.dockerHost, 'DELETE', `/networks/${this.network}`);
  }
}
