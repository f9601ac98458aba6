// The Service stub's image, built on the node from the host's own files (no registry): busybox for
// `sleep` and `sh`, and the host's iptables (xtables-nft-multi, as Docker on this host uses) with
// the libraries and the few extensions the stub's rules need. Built from the host's binary so its
// backend matches the kernel's (nf_tables here); measured: 4.7 MB, one iptables-restore ~160 ms
// through `docker exec` on a loaded 2-core machine.
import { execFile as execFileCb, spawn } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readdir, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Readable } from 'node:stream';
import { InvalidInputError } from '../errors.js';

const execFile = promisify(execFileCb);

/** The tag the agent builds the stub image under, unless `--service-image` names another. */
export const DEFAULT_SERVICE_IMAGE = 'berth/service-proxy:1';

/** The xtables extensions the stub's rules use (rules.ts: tcp, statistic, DNAT, conntrack, MASQUERADE). */
const EXTENSIONS = ['libxt_tcp.so', 'libxt_statistic.so', 'libxt_DNAT.so', 'libxt_conntrack.so', 'libxt_MASQUERADE.so', 'libxt_standard.so'];

/** Where things are on this host (tests and other distributions may move them). */
export interface HostFiles {
  busybox: string;
  iptables: string;
  /** The xtables extension folder (XTABLES_LIBDIR). */
  extensions: string;
}

export const HOST_FILES: HostFiles = { busybox: '/bin/busybox', iptables: '/usr/sbin/iptables', extensions: '/usr/lib/x86_64-linux-gnu/xtables' };

const HINT = 'install iptables and busybox-static on the node (scripts/install-deps.sh), or pass --service-image with an image that has sh, sleep and iptables-restore';

/** The shared libraries `file` needs, as ldd lists them (absolute paths). */
async function librariesOf(file: string): Promise<string[]> {
  const { stdout } = await execFile('ldd', [file]).catch(() => ({ stdout: '' }));
  return [...stdout.matchAll(/(\/\S+)/g)].map((m) => m[1] ?? '').filter((p) => p !== '');
}

async function copyInto(root: string, file: string, as = file): Promise<void> {
  await mkdir(join(root, dirname(as)), { recursive: true });
  await copyFile(file, join(root, as));
}

/**
 * Writes the stub's root file system under `root`: /bin/busybox with `sh` and `sleep`, /sbin/iptables
 * and /sbin/iptables-restore (the host's multi-call binary), their libraries at the host's paths, and
 * the extensions the rules need.
 */
export async function writeStubRootfs(root: string, files: HostFiles = HOST_FILES): Promise<void> {
  const iptables = await realpath(files.iptables).catch(() => undefined);
  if (iptables === undefined) throw new InvalidInputError('ENOIPTABLES', `cannot build the Service stub image: ${files.iptables} is missing`, { hint: HINT });
  const extensions = new Set(await readdir(files.extensions).catch(() => []));
  const missing = EXTENSIONS.filter((e) => !extensions.has(e));
  if (missing.length > 0) throw new InvalidInputError('ENOIPTABLES', `cannot build the Service stub image: ${files.extensions} lacks ${missing.join(', ')}`, { hint: HINT });
  await mkdir(join(root, 'bin'), { recursive: true });
  await mkdir(join(root, 'sbin'), { recursive: true });
  await mkdir(join(root, 'tmp'), { recursive: true });
  await chmod(join(root, 'tmp'), 0o1777);
  await copyFile(files.busybox, join(root, 'bin', 'busybox')).catch((cause: unknown) => {
    throw new InvalidInputError('ENOIPTABLES', `cannot build the Service stub image: ${files.busybox} is missing`, { hint: HINT, cause });
  });
  for (const applet of ['sh', 'sleep', 'printf', 'cat']) await symlink('busybox', join(root, 'bin', applet));
  await copyFile(iptables, join(root, 'sbin', 'xtables-nft-multi'));
  for (const name of ['iptables', 'iptables-restore']) await symlink('xtables-nft-multi', join(root, 'sbin', name));
  const libraries = new Set(await librariesOf(iptables));
  for (const e of EXTENSIONS) {
    const path = join(files.extensions, e);
    await copyInto(root, path);
    for (const l of await librariesOf(path)) libraries.add(l);
  }
  for (const l of libraries) await copyInto(root, await realpath(l), l);
  await mkdir(join(root, 'etc'), { recursive: true });
  await writeFile(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/:/bin/sh\n');
}

/** A tar stream of the stub's root file system, removed once read; `done` resolves when tar exits well. */
export async function stubImageTar(files: HostFiles = HOST_FILES): Promise<{ stream: Readable; done: Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-stub-'));
  try {
    await writeStubRootfs(join(dir, 'rootfs'), files);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const tar = spawn('tar', ['-C', join(dir, 'rootfs'), '--owner=0', '--group=0', '--numeric-owner', '-c', '.'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let errors = '';
  tar.stderr.on('data', (chunk: Buffer) => (errors = (errors + chunk.toString()).slice(-1000)));
  const done = new Promise<void>((resolve, reject) => {
    tar.on('error', reject);
    tar.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar of the stub image failed: ${errors}`))));
  }).finally(() => rm(dir, { recursive: true, force: true }));
  return { stream: tar.stdout, done };
}
