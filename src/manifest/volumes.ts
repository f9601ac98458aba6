// A pod's volumes and its containers' mounts: ConfigMap and Secret files (read-only, updated in place) and
// emptyDir (on disk, or tmpfs with `medium: Memory`), shared by the pod's containers. Every path a
// repository writes here ends up on a node's disk or in a container, so each is checked: item
// paths and subPaths relative and without `..`, mount paths absolute.
import { quote } from './text.js';
import { checkConfigMapKey, checkDnsLabel, checkDnsSubdomain } from './names.js';
import { quantity } from './quantity.js';
import { isScalar, type Node } from 'yaml';
import { boolean, describe, list, object, oneOf, optional, refine, required, sourceOf, string, type Context, type Schema } from './schema.js';
import * as unsupported from './unsupported.js';
import { MAX_PATH, checkItemPath, checkLocalPath } from './paths.js';

export { checkItemPath, checkLocalPath } from './paths.js';

/** A mount path (or a hostPath, `where` says): absolute, with no `..` part and no ':' (Docker's separator). */
function checkMountPath(s: string, where = 'in the container (e.g. "/etc/app")'): string | undefined {
  if (s.length > MAX_PATH) return `is longer than ${MAX_PATH} characters`;
  if (!s.startsWith('/')) return `${quote(s)} must be an absolute path ${where}`;
  if (s.split('/').includes('..')) return `${quote(s)} must not contain '..'`;
  if (s.includes(':') || s.includes('\0')) return `${quote(s)} must not contain ':' or a NUL character`;
  return undefined;
}


const itemPath = string(checkItemPath);
/**
 * A file mode, read as Kubernetes reads it: its YAML is read as YAML 1.1, so `0644` is octal (420);
 * `0o644` and a decimal `420` are the same mode.
 */
const fileMode: Schema<number> = (raw, cx) => {
  const node = cx.deref(raw);
  if (node === undefined) return undefined;
  const text = isScalar(node) && typeof node.value === 'number' ? sourceOf(node) : undefined;
  const octal = text === undefined ? undefined : /^0o?([0-7]+)$/.exec(text);
  const mode = octal?.[1] !== undefined ? Number.parseInt(octal[1], 8) : text !== undefined && /^[0-9]+$/.test(text) ? Number(text) : undefined;
  if (mode !== undefined && mode <= 0o777) return mode;
  cx.report(node, `must be a file mode from 0 to 0777 (octal, e.g. 0644, or decimal, e.g. 420), not ${describe(node)}`);
  return undefined;
};

const keyToPathSchema = object({ key: required(string(checkConfigMapKey)), path: required(itemPath), mode: optional(fileMode) });

const configMapVolumeSchema = refine(
  object(
    {
      name: required(string(checkDnsSubdomain)),
      items: optional(list(keyToPathSchema)),
      // Kubernetes' default is 0644; absent stays absent so the template keeps its hash.
      defaultMode: optional(fileMode),
      optional: optional(boolean()),
    },
    unsupported.CONFIG_MAP_VOLUME,
  ),
  (c, node, cx) => (uniquePaths(c.items, node, cx) ? c : undefined),
);

// A Secret volume is a ConfigMap volume that names its object `secretName` (Kubernetes' field); the
// agent writes it the same way, from the values it decrypted.
const secretVolumeSchema = refine(
  object({ secretName: required(string(checkDnsSubdomain)), items: optional(list(keyToPathSchema)), defaultMode: optional(fileMode), optional: optional(boolean()) }, unsupported.CONFIG_MAP_VOLUME),
  (s, node, cx) => (uniquePaths(s.items, node, cx) ? s : undefined),
);

/** An `items` list's paths, each once (reported at the second). */
function uniquePaths(items: readonly { path: string }[] | undefined, node: Node, cx: Context): boolean {
  const seen = new Set<string>();
  let ok = true;
  items?.forEach((item, i) => {
    if (seen.has(item.path)) {
      cx.reportAt(node, ['items', i, 'path'], `duplicate path ${quote(item.path)} in this volume`);
      ok = false;
    }
    seen.add(item.path);
  });
  return ok;
}

const emptyDirSchema = refine(object({ medium: optional(oneOf(['', 'Memory'])), sizeLimit: optional(quantity('memory')) }), (e, node, cx) => {
  if (e.medium !== 'Memory') {
    if (e.sizeLimit !== undefined) {
      // Kubernetes enforces a disk sizeLimit by evicting the pod; berth evicts nothing, so it would be a promise not kept.
      cx.reportAt(node, ['sizeLimit'], 'berth enforces sizeLimit only for `medium: Memory` (a tmpfs of that size); remove it, or set `medium: Memory`');
      return undefined;
    }
    return {};
  }
  return { medium: 'Memory' as const, ...(e.sizeLimit === undefined ? {} : { sizeLimit: e.sizeLimit }) };
});

/** Kubernetes' hostPath types: what must be at the path, or be made there. */
export const HOST_PATH_TYPES = ['', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File', 'Socket', 'CharDevice', 'BlockDevice'] as const;

// A folder of the node itself: only an operator's `berth agent --allow hostPath` lets a pod have it (src/agent/policy.ts).
const hostPathSchema = object({ path: required(string((p) => checkMountPath(p, 'on the node (e.g. "/var/log")'))), type: optional(oneOf(HOST_PATH_TYPES)) }, unsupported.HOST_PATH);

/** One `volumes[]` entry: exactly one of configMap, secret, emptyDir and hostPath. */
export const volumeSchema = refine(
  object(
    { name: required(string(checkDnsLabel)), configMap: optional(configMapVolumeSchema), secret: optional(secretVolumeSchema), emptyDir: optional(emptyDirSchema), hostPath: optional(hostPathSchema) },
    unsupported.VOLUME,
  ),
  (v, node, cx): Volume | undefined => {
    const sources = (['configMap', 'secret', 'emptyDir', 'hostPath'] as const).filter((k) => v[k] !== undefined);
    if (sources.length !== 1) {
      cx.report(node, sources.length === 0 ? 'must have one of configMap, secret, emptyDir, hostPath' : `must have only one of configMap, secret, emptyDir, hostPath, not ${sources.join(' and ')}`);
      return undefined;
    }
    if (v.configMap !== undefined) return { name: v.name, configMap: v.configMap };
    if (v.secret !== undefined) return { name: v.name, secret: v.secret };
    if (v.emptyDir !== undefined) return { name: v.name, emptyDir: v.emptyDir };
    const type = v.hostPath?.type;
    return { name: v.name, hostPath: { path: v.hostPath?.path ?? '/', ...(type === undefined || type === '' ? {} : { type }) } };
  },
);

/** A ConfigMap volume: its keys (or `items`) as files. */
export interface ConfigMapVolume {
  name: string;
  items?: { key: string; path: string; mode?: number }[];
  defaultMode?: number;
  optional?: boolean;
}

/** A Secret volume: its keys (or `items`) as files, written by the agent that decrypted them. */
export interface SecretVolume {
  secretName: string;
  items?: { key: string; path: string; mode?: number }[];
  defaultMode?: number;
  optional?: boolean;
}

/** A normalized volume. */
export type Volume =
  | { name: string; configMap: ConfigMapVolume }
  | { name: string; secret: SecretVolume }
  | { name: string; emptyDir: { medium?: 'Memory'; sizeLimit?: number } }
  | { name: string; hostPath: { path: string; type?: Exclude<(typeof HOST_PATH_TYPES)[number], ''> } };

/** One `volumeMounts[]` entry. */
export const volumeMountSchema = object(
  {
    name: required(string(checkDnsLabel)),
    mountPath: required(string(checkMountPath)),
    readOnly: optional(boolean()),
    subPath: optional(string(checkLocalPath)),
  },
  unsupported.VOLUME_MOUNT,
);

/** A normalized volume mount. */
export interface VolumeMount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
  subPath?: string;
}

/** The names of the ConfigMaps a pod's volumes read. */
export function volumeConfigMaps(t: { volumes?: readonly Volume[] }): string[] {
  return (t.volumes ?? []).flatMap((v) => ('configMap' in v ? [v.configMap.name] : []));
}

/**
 * The mounts of a pod's containers and init containers against its volumes, reported at their line:
 * every volume named once, every mount naming one, no two mounts of a container at one path, and no subPath into a
 * `medium: Memory` emptyDir (a Docker tmpfs volume has no sub-paths before API 1.45).
 */
export function checkMounts(
  spec: { volumes?: readonly Volume[]; containers: readonly { volumeMounts?: readonly VolumeMount[] }[]; initContainers?: readonly { volumeMounts?: readonly VolumeMount[] }[] },
  node: Node,
  cx: Context,
): boolean {
  let ok = true;
  const volumes = new Map<string, Volume>();
  spec.volumes?.forEach((v, i) => {
    if (volumes.has(v.name)) {
      cx.reportAt(node, ['volumes', i, 'name'], `duplicate volume name ${quote(v.name)}`);
      ok = false;
    }
    volumes.set(v.name, v);
  });
  const lists = [['initContainers', spec.initContainers ?? []], ['containers', spec.containers]] as const;
  for (const [list, containers] of lists) containers.forEach((c, i) => {
    const paths = new Set<string>();
    c.volumeMounts?.forEach((m, j) => {
      const at = [list, i, 'volumeMounts', j];
      const v = volumes.get(m.name);
      if (v === undefined) {
        const known = [...volumes.keys()].map((n) => quote(n)).join(', ');
        cx.reportAt(node, [...at, 'name'], `no volume named ${quote(m.name)} in this pod${known === '' ? ' (it has none)' : ` (it has ${known})`}`);
        ok = false;
      } else if (m.subPath !== undefined && m.subPath !== '' && 'emptyDir' in v && v.emptyDir.medium === 'Memory') {
        cx.reportAt(node, [...at, 'subPath'], 'berth cannot mount a subPath of a `medium: Memory` emptyDir yet; mount the whole volume');
        ok = false;
      }
      const path = m.mountPath.replace(/\/+$/, '') || '/';
      if (paths.has(path)) {
        cx.reportAt(node, [...at, 'mountPath'], `${quote(m.mountPath)} is already mounted in this container`);
        ok = false;
      }
      paths.add(path);
    });
  });
  return ok;
}
