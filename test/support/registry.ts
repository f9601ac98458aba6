// A Docker registry on loopback for the tests that pull (Debian's `docker-registry`, run with our
// own config: its packaged one wants htpasswd auth and /var/lib storage).
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dockerRequest } from './docker.js';
import { freePort } from './ports.js';
import { cleanupAfterExit, findExecutable, isRunning, OutputTail, stopProcessScript, terminate } from './process.js';
import { GiveUp, waitFor } from './wait.js';

const execFileAsync = promisify(execFile);

/** A running registry. */
export interface RegistryHandle {
  /** `127.0.0.1:<port>`: the prefix of image names in it (Docker trusts loopback registries without TLS). */
  host: string;
  stop(): Promise<void>;
}

/** A registry that asks for a user and password (htpasswd with bcrypt, the only kind docker-registry takes). */
export interface RegistryUser {
  username: string;
  password: string;
}

/** Start `docker-registry` on a free loopback port with storage in a temp dir, and wait until it answers. */
export async function startRegistry(opts: { user?: RegistryUser } = {}): Promise<RegistryHandle> {
  const binary = await findExecutable('docker-registry');
  if (binary === undefined) throw new Error('docker-registry not found on PATH: run scripts/install-deps.sh (Debian package docker-registry)');
  const dir = await mkdtemp(join(tmpdir(), 'berth-registry-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const config = join(dir, 'config.yml');
  let auth = '';
  if (opts.user !== undefined) {
    const htpasswd = join(dir, 'htpasswd');
    await writeFile(htpasswd, await bcryptLine(opts.user));
    auth = `auth:\n  htpasswd:\n    realm: berth-test\n    path: ${htpasswd}\n`;
  }
  await writeFile(config, `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}\n  delete:\n    enabled: true\nhttp:\n  addr: ${host}\n${auth}`);
  const child = spawn(binary, ['serve', config], { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  const cancelWatchdog = child.pid === undefined ? () => undefined : cleanupAfterExit(`${stopProcessScript}\nstop_process "$1" "$2" 5\nrm -rf "$3"`, [String(child.pid), config, dir]);
  const log = new OutputTail();
  child.stderr?.on('data', (chunk: Buffer) => log.push(chunk));
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  const stop = async (): Promise<void> => {
    cancelWatchdog();
    await terminate(child, 3000);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      async () => {
        if (spawnError !== undefined) throw new GiveUp(spawnError.message);
        if (!isRunning(child)) throw new GiveUp(`docker-registry exited (${child.exitCode ?? child.signalCode})`);
        const res = await fetch(`http://${host}/v2/`, { signal: AbortSignal.timeout(1000) });
        // With htpasswd, an anonymous request is answered 401: the registry is up.
        return res.ok || (opts.user !== undefined && res.status === 401);
      },
      { timeoutMs: 15_000, intervalMs: 25, what: `docker-registry at ${host}` },
    );
  } catch (error) {
    await stop();
    throw new Error(`docker-registry did not start: ${error instanceof Error ? error.message : String(error)}\n${log}`, { cause: error });
  }
  return { host, stop };
}

/** `user:bcrypt` for an htpasswd file, made by Apache's `htpasswd -B` (Debian's apache2-utils). */
async function bcryptLine(user: RegistryUser): Promise<string> {
  const htpasswd = await findExecutable('htpasswd');
  if (htpasswd === undefined) throw new Error('htpasswd not found on PATH: run scripts/install-deps.sh (Debian package apache2-utils)');
  const { stdout } = await execFileAsync(htpasswd, ['-nbB', user.username, user.password]);
  return stdout;
}

/** Tag the local `image` as `target` (`<registry>/<repo>:<tag>`) and push it there (as `user`, for a registry that asks). */
export async function pushImage(dockerHost: string, image: string, target: string, user?: RegistryUser): Promise<void> {
  const colon = target.lastIndexOf(':');
  const repo = target.slice(0, colon);
  const tag = target.slice(colon + 1);
  const tagged = await dockerRequest(dockerHost, 'POST', `/images/${image}/tag?${new URLSearchParams({ repo, tag })}`);
  if (tagged.status !== 201) throw new Error(`docker tag ${image} ${target}: ${tagged.status} ${tagged.body}`);
  // The push answers 200 and reports failures inside its JSON progress stream.
  const auth = Buffer.from(JSON.stringify(user === undefined ? {} : { ...user, serveraddress: target.slice(0, target.indexOf('/')) })).toString('base64');
  const pushed = await dockerRequest(dockerHost, 'POST', `/images/${repo}/push?${new URLSearchParams({ tag })}`, { headers: { 'X-Registry-Auth': auth } });
  if (pushed.status !== 200 || pushed.body.includes('"error"')) throw new Error(`docker push ${target}: ${pushed.status} ${pushed.body}`);
}

/**
 * Remove the local name `image` and the digest references a pull left for its repository (the
 * layers stay while another name uses them); a missing one is fine.
 */
export async function untagImage(dockerHost: string, image: string): Promise<void> {
  const repo = image.slice(0, image.lastIndexOf(':'));
  const list = await dockerRequest(dockerHost, 'GET', '/images/json?digests=1');
  if (list.status !== 200) throw new Error(`docker images: ${list.status} ${list.body}`);
  const digests = (JSON.parse(list.body) as { RepoDigests?: string[] | null }[]).flatMap((i) => i.RepoDigests ?? []).filter((d) => d.startsWith(`${repo}@`));
  for (const name of [image, ...digests]) {
    const res = await dockerRequest(dockerHost, 'DELETE', `/images/${name}?noprune=1`);
    if (res.status !== 200 && res.status !== 404) throw new Error(`docker rmi ${name}: ${res.status} ${res.body}`);
  }
}
