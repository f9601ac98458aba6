// Pod volumes on the node: ConfigMap files and disk emptyDirs under the agent's data dir
// (`<data-dir>/pods/<node>/<namespace>/<pod>/<volume>`), and Memory emptyDirs as Docker tmpfs
// volumes. They are shared by the pod's containers and removed with the pod. A ConfigMap volume is
// written as kubelet's AtomicWriter writes it: the files in a fresh `..<time>` folder, then the
// `..data` link swapped to it in one rename, each top-level name a link into `..data`; so a
// changed ConfigMap updates the files in place, and a reader never sees half of it.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log.js';
import { messageOf } from '../errors.js';
import type { ConfigMapLookup, SecretLookup } from '../manifest/env.js';
import type { ContainerSpec, PodTemplate } from '../manifest/types.js';
import { checkItemPath, checkLocalPath } from '../manifest/paths.js';
import type { ConfigMapVolume, SecretVolume, Volume } from '../manifest/volumes.js';
import { checkDnsLabel } from '../manifest/names.js';
import type { BindingRecord } from '../store/records.js';
import type { Container, ContainerRuntime, RunMount } from './runtime.js';
import { LABEL, podRef } from './labels.js';
import { fsGroupMode, setVolumeOwnership } from './fs-group.js';

/** One file of a ConfigMap or Secret volume. */
export interface VolumeFile {
  path: string;
  content: string | Uint8Array;
  mode: number;
}

/** Kubernetes' default mode of a ConfigMap's or Secret's volume files. */
const DEFAULT_MODE = 0o644;

/** What a ConfigMap volume holds: its keys (or `items`) as files; or why it cannot be made. */
export function configMapFiles(v: ConfigMapVolume, configMaps: ConfigMapLookup): { files: VolumeFile[] } | { error: string } {
  return keyFiles(v, v.name, configMaps(v.name), 'configmap');
}

/** What a Secret volume holds, from the values this node decrypted; or why it cannot be made (never a value). */
export function secretFiles(v: SecretVolume, secrets: SecretLookup): { files: VolumeFile[] } | { error: string } {
  const read = secrets(v.secretName);
  if (read !== undefined && 'error' in read) return { error: `cannot decrypt secret ${JSON.stringify(v.secretName)}: ${read.error}` };
  return keyFiles(v, v.secretName, read === undefined ? undefined : Object.fromEntries(read.values), 'secret');
}

function keyFiles(v: Omit<ConfigMapVolume, 'name'>, name: string, data: Readonly<Record<string, string | Uint8Array>> | undefined, noun: 'configmap' | 'secret'): { files: VolumeFile[] } | { error: string } {
  const mode = v.defaultMode ?? DEFAULT_MODE;
  if (data === undefined) return v.optional === true ? { files: [] } : { error: `${noun} ${JSON.stringify(name)} not found` };
  if (v.items === undefined) {
    const keys = Object.keys(data).sort();
    // A key is a file name at the top of the volume; `..` names are the writer's own (as kubelet refuses them).
    const bad = keys.find((k) => k.startsWith('..'));
    if (bad !== undefined) return { error: `${noun} key ${JSON.stringify(bad)} cannot be a file name (it starts with '..')` };
    return { files: keys.map((k) => ({ path: k, content: data[k] ?? '', mode })) };
  }
  const files: VolumeFile[] = [];
  for (const item of v.items) {
    // Checked again here: a binding is only as good as whoever wrote it.
    const bad = checkItemPath(item.path);
    if (bad !== undefined) return { error: `item path ${bad}` };
    const content = Object.hasOwn(data, item.key) ? data[item.key] : undefined;
    if (content === undefined) {
      if (v.optional === true) continue;
      return { error: `${noun} ${JSON.stringify(name)} has no key ${JSON.stringify(item.key)}` };
    }
    files.push({ path: item.path, content, mode: item.mode ?? mode });
  }
  return { files };
}

/** Docker names allow [a-zA-Z0-9][a-zA-Z0-9_.-]*; everything else becomes '-'. */
const safe = (s: string): string => s.replace(/[^a-zA-Z0-9_.-]/g, '-').replace(/^\.+/, '_');

/** The Docker volume of a pod's `medium: Memory` emptyDir. */
export function memoryVolumeName(node: string, namespace: string, pod: string, volume: string): string {
  return ['berth', node, namespace, pod, volume].map(safe).join('_');
}

/** Where a node's pods keep their volumes on the host. */
export function podsDir(dataDir: string, node: string): string {
  return path.join(dataDir, 'pods', safe(node));
}

/**
 * The mounts of one container of a bound pod (pure): `dir` is the pod's folder on the host and
 * `subPaths` the host path each checked subPath resolved to (`<volume>/<subPath>`). A ConfigMap is
 * always mounted read-only, as kubelet mounts it.
 */
export function mountsOf(b: BindingRecord, spec: ContainerSpec, node: string, dir: string, subPaths: ReadonlyMap<string, string>): RunMount[] | { error: string } {
  const volumes = new Map((b.template.volumes ?? []).map((v) => [v.name, v]));
  const out: RunMount[] = [];
  for (const m of spec.volumeMounts ?? []) {
    const v = volumes.get(m.name);
    if (v === undefined) return { error: `no volume named ${JSON.stringify(m.name)} in the pod` };
    if ('emptyDir' in v && v.emptyDir.medium === 'Memory') {
      const labels = { [LABEL.node]: node, [LABEL.namespace]: b.namespace, [LABEL.pod]: b.pod };
      const gid = b.template.securityContext?.fsGroup;
      out.push({ type: 'tmpfs', name: memoryVolumeName(node, b.namespace, b.pod, v.name), target: m.mountPath, readOnly: m.readOnly === true, labels, ...(v.emptyDir.sizeLimit === undefined ? {} : { sizeBytes: v.emptyDir.sizeLimit }), ...(gid === undefined ? {} : { gid }) });
      continue;
    }
    if ('hostPath' in v) {
      // Allowed by the node's operator (--allow hostPath): the host's own path, as asked.
      out.push({ type: 'bind', source: path.join(v.hostPath.path, m.subPath ?? ''), target: m.mountPath, readOnly: m.readOnly === true });
      continue;
    }
    let source = path.join(dir, v.name);
    if (m.subPath !== undefined && m.subPath !== '') {
      const resolved = subPaths.get(`${v.name}/${m.subPath}`);
      if (resolved === undefined) return { error: `subPath ${JSON.stringify(m.subPath)} of volume ${JSON.stringify(v.name)} is not ready` };
      source = resolved;
    }
    out.push({ type: 'bind', source, target: m.mountPath, readOnly: 'configMap' in v || 'secret' in v || m.readOnly === true });
  }
  return out;
}

/** The subPaths a template's containers and init containers mount, by volume (`<volume>/<subPath>`). */
function subPathsOf(t: PodTemplate): { volume: Volume; subPath: string }[] {
  const volumes = new Map((t.volumes ?? []).map((v) => [v.name, v]));
  const out: { volume: Volume; subPath: string }[] = [];
  for (const c of [...(t.initContainers ?? []), ...t.containers]) {
    for (const m of c.volumeMounts ?? []) {
      const v = volumes.get(m.name);
      if (v !== undefined && m.subPath !== undefined && m.subPath !== '') out.push({ volume: v, subPath: m.subPath });
    }
  }
  return out;
}

/** A pod's volumes made ready: the mounts of each container, or why a container cannot have them. */
export interface PreparedPod {
  mounts(spec: ContainerSpec): RunMount[] | { error: string };
}

/**
 * Keeps the volumes of a node's pods on the host: makes them before their containers, rewrites a
 * ConfigMap volume when its ConfigMap changes, and removes a pod's volumes once the pod is neither
 * bound here nor has a container left.
 */
export class PodVolumes {
  /** Volume folder → a digest of the payload last written there, so an unchanged ConfigMap or Secret is not written again (and no value is kept). */
  private readonly written = new Map<string, string>();
  private readonly root: string;

  constructor(
    dataDir: string,
    private readonly node: string,
    private readonly log: Logger,
  ) {
    this.root = podsDir(path.resolve(dataDir), node);
  }

  /** Make the volumes of every bound pod that has some; each pod's answer by `<namespace>/<pod>`. */
  async prepare(bindings: readonly BindingRecord[], configMaps: (b: BindingRecord) => ConfigMapLookup, secrets: (b: BindingRecord) => SecretLookup = () => () => undefined): Promise<Map<string, PreparedPod>> {
    const out = new Map<string, PreparedPod>();
    for (const b of bindings) {
      if ((b.template.volumes ?? []).length === 0) continue;
      out.set(podRef(b.namespace, b.pod), await this.preparePod(b, configMaps(b), secrets(b)));
    }
    return out;
  }

  private async preparePod(b: BindingRecord, configMaps: ConfigMapLookup, secrets: SecretLookup): Promise<PreparedPod> {
    const dir = path.join(this.root, b.namespace, b.pod);
    const failed = new Map<string, string>();
    const subPaths = new Map<string, string>();
    // Every name that becomes a folder is a DNS label, or nothing is made: a hand-written binding must not lead out of the data dir.
    const badName = [b.namespace, b.pod, ...(b.template.volumes ?? []).map((v) => v.name)].map(checkDnsLabel).find((e) => e !== undefined);
    if (badName !== undefined) return { mounts: () => ({ error: `cannot make the pod's volumes: ${badName}` }) };
    const fsGroup = b.template.securityContext?.fsGroup;
    try {
      await fs.mkdir(dir, { recursive: true, mode: 0o755 });
      for (const v of b.template.volumes ?? []) {
        const at = path.join(dir, v.name);
        if ('configMap' in v || 'secret' in v) {
          const files = 'configMap' in v ? configMapFiles(v.configMap, configMaps) : secretFiles(v.secret, secrets);
          if ('error' in files) failed.set(v.name, files.error);
          else await this.writeAtomically(at, files.files, fsGroup);
        } else if ('hostPath' in v) {
          const problem = await checkHostPath(v.hostPath);
          if (problem !== undefined) failed.set(v.name, problem);
        } else if (v.emptyDir.medium !== 'Memory' && (await fs.mkdir(at, { recursive: true })) !== undefined) {
          // Made now (kubelet sets a volume up once, not on every sync). Kubernetes makes an emptyDir
          // world-writable, so a container of any user can use it; and gives it the pod's fsGroup.
          await fs.chmod(at, 0o777);
          if (fsGroup !== undefined) this.warnOwnership(at, await setVolumeOwnership(at, fsGroup, false));
        }
      }
      for (const { volume, subPath } of subPathsOf(b.template)) {
        if (failed.has(volume.name) || 'hostPath' in volume) continue;
        const resolved = await resolveSubPath(path.join(dir, volume.name), subPath, 'emptyDir' in volume);
        if (typeof resolved === 'string') subPaths.set(`${volume.name}/${subPath}`, resolved);
        else failed.set(volume.name, resolved.error);
      }
    } catch (err) {
      this.log.warn({ pod: podRef(b.namespace, b.pod), err: messageOf(err) }, 'cannot make pod volumes');
      for (const v of b.template.volumes ?? []) if (!failed.has(v.name)) failed.set(v.name, `cannot make volume ${v.name}: ${messageOf(err)}`);
    }
    return {
      mounts: (spec) => {
        const broken = (spec.volumeMounts ?? []).map((m) => failed.get(m.name)).find((e) => e !== undefined);
        return broken === undefined ? mountsOf(b, spec, this.node, dir, subPaths) : { error: broken };
      },
    };
  }

  /** Logged where it happens (a volume is set up once): kubelet, too, runs the pod when it cannot give it its fsGroup. */
  private warnOwnership(volume: string, problem: string | undefined): void {
    if (problem !== undefined) this.log.warn({ volume, err: problem }, "cannot give a volume its pod's fsGroup");
  }

  /**
   * Write `files` into the ConfigMap volume at `dir` as kubelet's AtomicWriter does, if they changed,
   * and give them the pod's `fsGroup` (read-only, as kubelet gives it to a ConfigMap volume).
   */
  private async writeAtomically(dir: string, files: readonly VolumeFile[], fsGroup: number | undefined): Promise<void> {
    const digest = createHash('sha256').update(JSON.stringify(fsGroup ?? null));
    for (const f of files) digest.update(JSON.stringify([f.path, f.mode])).update(f.content);
    const payload = digest.digest('hex');
    if (this.written.get(dir) === payload) return;
    await fs.mkdir(dir, { recursive: true, mode: 0o755 });
    await fs.chmod(dir, 0o755);
    const stamp = `..${new Date().toISOString().replace(/[-:.]/g, '_')}.${randomBytes(4).toString('hex')}`;
    const fresh = path.join(dir, stamp);
    await fs.mkdir(fresh, { mode: 0o755 });
    for (const f of files) {
      const file = path.join(fresh, f.path);
      await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
      await fs.writeFile(file, f.content, { mode: f.mode, flag: 'wx' });
      await fs.chmod(file, f.mode);
    }
    // Before the swap, so no reader sees the files without their group.
    if (fsGroup !== undefined) this.warnOwnership(dir, await setVolumeOwnership(fresh, fsGroup, true));
    const tmp = path.join(dir, '..data_tmp');
    await fs.rm(tmp, { force: true });
    await fs.symlink(stamp, tmp);
    await fs.rename(tmp, path.join(dir, '..data'));
    // The names people see: a link per top-level name into ..data; names no longer there go.
    const top = new Set(files.map((f) => f.path.split('/')[0] ?? f.path));
    for (const name of top) {
      const link = path.join(dir, name);
      const there = await fs.lstat(link).catch(() => undefined);
      if (there === undefined) await fs.symlink(path.join('..data', name), link);
    }
    if (fsGroup !== undefined) {
      // The volume's own folder and its links (what setVolumeOwnership does at the top, without walking the old folders again).
      for (const entry of ['', '..data', ...top]) await fs.lchown(path.join(dir, entry), -1, fsGroup).catch(() => undefined);
      await fs.chmod(dir, fsGroupMode(0o755, true, true)).catch(() => undefined);
    }
    for (const entry of await fs.readdir(dir)) {
      if (entry === '..data' || entry === stamp) continue;
      // Old ..<time> folders and links of names gone; fs.rm never follows a link.
      if (entry.startsWith('..') || !top.has(entry)) await fs.rm(path.join(dir, entry), { recursive: true, force: true });
    }
    this.written.set(dir, payload);
  }

  /**
   * Remove the volumes of pods neither bound here (`bound`) nor with a container left (`observed`):
   * their folders under the data dir; Memory emptyDirs are Docker volumes, see removeMemoryVolumes.
   */
  async clean(bound: ReadonlySet<string>, observed: readonly Container[]): Promise<void> {
    const live = new Set([...bound, ...observed.map((c) => podRef(c.labels[LABEL.namespace] ?? '', c.labels[LABEL.pod] ?? ''))]);
    for (const ns of await fs.readdir(this.root).catch(() => [])) {
      const nsDir = path.join(this.root, ns);
      for (const pod of await fs.readdir(nsDir).catch(() => [])) {
        if (live.has(podRef(ns, pod))) continue;
        const dir = path.join(nsDir, pod);
        await fs.rm(dir, { recursive: true, force: true }).catch((err: unknown) => this.log.warn({ dir, err: messageOf(err) }, 'cannot remove pod volumes'));
        for (const key of this.written.keys()) if (key.startsWith(`${dir}${path.sep}`)) this.written.delete(key);
      }
      await fs.rmdir(nsDir).catch(() => undefined);
    }
  }
}

/**
 * Kubernetes' hostPath types: DirectoryOrCreate and FileOrCreate make what is missing (a folder
 * 0755, an empty file 0644), the others check what is there; no type checks nothing.
 */
async function checkHostPath(h: { path: string; type?: string }): Promise<string | undefined> {
  if (h.type === 'DirectoryOrCreate') await fs.mkdir(h.path, { recursive: true, mode: 0o755 });
  if (h.type === 'FileOrCreate' && (await fs.lstat(h.path).catch(() => undefined)) === undefined) {
    await fs.mkdir(path.dirname(h.path), { recursive: true, mode: 0o755 });
    await fs.writeFile(h.path, '', { mode: 0o644, flag: 'a' });
  }
  if (h.type === undefined) return undefined;
  const st = await fs.stat(h.path).catch(() => undefined);
  const is: Record<string, boolean | undefined> = {
    DirectoryOrCreate: st?.isDirectory(), Directory: st?.isDirectory(), FileOrCreate: st?.isFile(), File: st?.isFile(),
    Socket: st?.isSocket(), CharDevice: st?.isCharacterDevice(), BlockDevice: st?.isBlockDevice(),
  };
  return is[h.type] === true ? undefined : `hostPath ${JSON.stringify(h.path)} is not a ${h.type.replace('OrCreate', '')}${st === undefined ? ' (it does not exist)' : ''}`;
}

/**
 * The host path of `subPath` inside the volume at `dir`, checked to stay inside it after every link
 * is resolved: a container can put a link into its emptyDir, and a subPath must never lead out of
 * the volume (CVE-2017-1002101). A missing subPath of an emptyDir is made as a folder, as kubelet does.
 * NOTE: the check and the mount are two steps; a container that swaps a folder for a link between
 * them could still win that race (kubelet closes it with openat and /proc/self/fd; Docker's bind
 * mounts take a path).
 */
export async function resolveSubPath(dir: string, subPath: string, create: boolean): Promise<string | { error: string }> {
  const bad = checkLocalPath(subPath);
  if (bad !== undefined) return { error: `subPath ${bad}` };
  const root = await fs.realpath(dir);
  const wanted = path.join(root, subPath);
  if (create) {
    // Folder by folder, never through a link.
    let at = root;
    for (const part of subPath.split('/').filter((p) => p !== '' && p !== '.')) {
      at = path.join(at, part);
      const st = await fs.lstat(at).catch(() => undefined);
      if (st === undefined) await fs.mkdir(at, { mode: 0o777 }).then(() => fs.chmod(at, 0o777));
      else if (st.isSymbolicLink()) return { error: `subPath ${JSON.stringify(subPath)} passes through a symbolic link inside the volume; berth does not follow it` };
    }
  }
  const real = await fs.realpath(wanted).catch(() => undefined);
  if (real === undefined) return { error: `subPath ${JSON.stringify(subPath)} does not exist in the volume` };
  if (real !== root && !real.startsWith(`${root}${path.sep}`)) return { error: `subPath ${JSON.stringify(subPath)} leads out of the volume` };
  return real;
}

/** The volumes of pods not in `live` and with no container in `observed`: their folders and Memory emptyDirs. */
export async function removePodVolumes(runtime: ContainerRuntime, volumes: PodVolumes, node: string, live: ReadonlySet<string>, observed: readonly Container[], log: Logger): Promise<void> {
  await volumes.clean(live, observed);
  const used = new Set([...live, ...observed.map((c) => podRef(c.labels[LABEL.namespace] ?? '', c.labels[LABEL.pod] ?? ''))]);
  for (const v of await runtime.listVolumes({ [LABEL.node]: node })) {
    if (v.labels[LABEL.node] !== node || used.has(podRef(v.labels[LABEL.namespace] ?? '', v.labels[LABEL.pod] ?? ''))) continue;
    if (await runtime.removeVolume(v.name)) log.info({ volume: v.name }, 'removed the volume of a pod gone');
  }
}
