import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { dockerRequest } from './docker.js';
import { exited, OutputTail, run } from './process.js';

export const defaultTestImage = 'berth-test/busybox:1';
/** The agent's default --sandbox-image (src/agent/sandbox.ts DEFAULT_SANDBOX_IMAGE), built as scripts/build-image.sh --sandbox does. */
export const sandboxImage = 'berth/sandbox:1';
const busybox = '/bin/busybox';

/**
 * Make sure `tag` exists on the engine at `dockerHost`: a scratch image of the
 * static busybox with an applet symlink per command, `CMD ["/bin/sh"]`,
 * `PATH=/bin`. Built locally (no registry): the same steps as
 * scripts/build-image.sh, over the Docker API so no docker CLI is needed.
 * Returns the tag.
 */
export async function ensureBusyboxImage(dockerHost: string, tag = defaultTestImage, cmd = ['/bin/sh']): Promise<string> {
  const existing = await dockerRequest(dockerHost, 'GET', `/images/${tag}/json`);
  if (existing.status === 200) return tag;
  if (existing.status !== 404) throw new Error(`docker image inspect ${tag}: ${existing.status} ${existing.body}`);
  await importBusyboxImage(dockerHost, tag, { cmd });
  return tag;
}

/** What a busybox image holds besides busybox: its command, files, working directory and labels. */
export interface BusyboxImageSpec {
  cmd: string[];
  /** Extra files by absolute path (parents made); executable when `mode` says so. */
  files?: Record<string, { text: string; mode?: number }>;
  workdir?: string;
  labels?: Record<string, string>;
}

/** Build `tag` (replacing any image of that name) from the static busybox plus `spec`'s files. */
export async function importBusyboxImage(dockerHost: string, tag: string, spec: BusyboxImageSpec): Promise<void> {
  const isDynamic = await run('ldd', [busybox]).then(() => true, () => false);
  if (isDynamic) throw new Error(`${busybox} is not statically linked: install busybox-static (scripts/install-deps.sh)`);

  const dir = await mkdtemp(join(tmpdir(), 'berth-image-'));
  try {
    const rootfs = join(dir, 'rootfs');
    await writeRootfs(rootfs);
    for (const [file, { text, mode }] of Object.entries(spec.files ?? {})) {
      await mkdir(join(rootfs, dirname(file)), { recursive: true });
      await writeFile(join(rootfs, file), text, { mode: mode ?? 0o644 });
    }
    const tar = spawn('tar', ['-C', rootfs, '--owner=0', '--group=0', '--numeric-owner', '-c', '.'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tarErrors = new OutputTail();
    tar.stderr.on('data', (chunk: Buffer) => tarErrors.push(chunk));
    const { repo, version } = splitTag(tag);
    const query = new URLSearchParams({ fromSrc: '-', repo, tag: version });
    query.append('changes', `CMD ${JSON.stringify(spec.cmd)}`);
    query.append('changes', 'ENV PATH=/bin');
    if (spec.workdir !== undefined) query.append('changes', `WORKDIR ${spec.workdir}`);
    for (const [k, v] of Object.entries(spec.labels ?? {})) query.append('changes', `LABEL ${k}=${v}`);
    const imported = await dockerRequest(dockerHost, 'POST', `/images/create?${query}`, {
      body: tar.stdout,
      headers: { 'Content-Type': 'application/x-tar' },
    });
    await exited(tar);
    if (tar.exitCode !== 0) throw new Error(`tar of the busybox rootfs failed: ${tarErrors}`);
    // The import answers 200 and reports failures inside its JSON progress stream.
    if (imported.status !== 200 || imported.body.includes('"error"')) {
      throw new Error(`docker import ${tag}: ${imported.status} ${imported.body}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** rootfs/bin/busybox, a relative symlink per applet, /tmp, and root/nobody in /etc. */
async function writeRootfs(rootfs: string): Promise<void> {
  const bin = join(rootfs, 'bin');
  await mkdir(bin, { recursive: true });
  await mkdir(join(rootfs, 'etc'));
  await mkdir(join(rootfs, 'tmp'));
  await chmod(join(rootfs, 'tmp'), 0o1777);
  await copyFile(busybox, join(bin, 'busybox'));
  await chmod(join(bin, 'busybox'), 0o755);
  const { stdout } = await run(busybox, ['--list']);
  const applets = stdout.split('\n').filter((name) => name !== '' && name !== 'busybox');
  await Promise.all(applets.map((name) => symlink('busybox', join(bin, name))));
  await writeFile(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  await writeFile(join(rootfs, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
}

/** `a/b:1` → {repo: 'a/b', version: '1'}; a colon before the last slash is a registry port. */
function splitTag(tag: string): { repo: string; version: string } {
  const colon = tag.lastIndexOf(':');
  if (colon === -1 || colon < tag.lastIndexOf('/')) return { repo: tag, version: 'latest' };
  return { repo: tag.slice(0, colon), version: tag.slice(colon + 1) };
}
