// The ConfigMaps and Secrets a node's pods read (env, envFrom, volumes), from the desired state in
// etcd as of each source's seal: the agent never reads Git, and never sees half a commit.
import type { ConfigMapLookup } from '../manifest/env.js';
import { configMapRefs } from '../manifest/refs.js';
import type { ConfigMapObject, PodTemplate, SecretObject } from '../manifest/types.js';
import { CompactedError, type Store } from '../store/store.js';
import { desiredKey, podKey } from '../store/keys.js';
import { decode, type BindingRecord } from '../store/records.js';
import { readSeal } from '../store/sealed.js';

type Kinds = { ConfigMap: ConfigMapObject; Secret: SecretObject };

/** The names of the ConfigMaps (or Secrets) a pod template reads, in any way (env, envFrom, volumes). */
export function configMapNames(t: PodTemplate, kind: keyof Kinds = 'ConfigMap'): Set<string> {
  return new Set(configMapRefs(t).filter((r) => r.kind === kind).map((r) => r.name));
}

/** The ConfigMaps a node's pods read, by binding. */
export class ConfigMapReader {
  private readonly objects: DesiredReader<'ConfigMap'>;

  constructor(store: Store) {
    this.objects = new DesiredReader(store, 'ConfigMap');
  }

  /** A lookup per binding for the ConfigMaps of its namespace and source. */
  async read(bindings: readonly BindingRecord[]): Promise<(b: BindingRecord) => ConfigMapLookup> {
    const found = await this.objects.read(bindings);
    return (b) => {
      const lookup = found(b);
      return (name) => lookup(name)?.spec.data;
    };
  }
}

/**
 * Reads, each round, the ConfigMaps (or Secrets) the bound pods need; one is read again only when its
 * source has a new seal. A pod whose source cannot be told gets an empty lookup (its containers then
 * report the object missing, as kubelet reports CreateContainerConfigError).
 */
export class DesiredReader<K extends keyof Kinds> {
  /** `<source>/<namespace>/<name>` → the object as of a seal revision (undefined: not in that commit). */
  private readonly cache = new Map<string, { revision: number; data: Kinds[K] | undefined }>();

  constructor(
    private readonly store: Store,
    private readonly kind: K,
  ) {}

  /** A lookup per binding (by `<namespace>/<pod>`) for the objects of its namespace and source. */
  async read(bindings: readonly BindingRecord[]): Promise<(b: BindingRecord) => (name: string) => Kinds[K] | undefined> {
    const needs = bindings.map((b) => ({ b, names: configMapNames(b.template, this.kind) })).filter((n) => n.names.size > 0);
    if (needs.length === 0) return () => () => undefined;
    const seals = new Map<string, number | undefined>();
    const found = new Map<string, Kinds[K] | undefined>();
    const used = new Set<string>();
    const byPod = new Map<string, string | undefined>();
    for (const { b, names } of needs) {
      const source = b.source ?? (await this.sourceOf(b));
      byPod.set(`${b.namespace}/${b.pod}`, source);
      if (source === undefined) continue;
      if (!seals.has(source)) seals.set(source, (await readSeal(this.store, source))?.seal.revision);
      const revision = seals.get(source);
      if (revision === undefined) continue;
      for (const name of names) {
        const key = `${source}/${b.namespace}/${name}`;
        used.add(key);
        if (found.has(key)) continue;
        const cached = this.cache.get(key);
        const data = cached?.revision === revision ? cached.data : await this.get(source, b.namespace, name, revision);
        this.cache.set(key, { revision, data });
        found.set(key, data);
      }
    }
    for (const key of this.cache.keys()) if (!used.has(key)) this.cache.delete(key);
    return (b) => {
      const source = byPod.get(`${b.namespace}/${b.pod}`);
      return (name) => (source === undefined ? undefined : found.get(`${source}/${b.namespace}/${name}`));
    };
  }

  private async get(source: string, namespace: string, name: string, revision: number): Promise<Kinds[K] | undefined> {
    const key = desiredKey(source, `${this.kind}/${namespace}/${name}`);
    let entry;
    try {
      entry = await this.store.get(key, { revision });
    } catch (err) {
      // A compacted seal revision: the latest is the sealed one unless a newer commit is half-written, which its seal settles.
      if (!(err instanceof CompactedError)) throw err;
      entry = await this.store.get(key);
    }
    if (entry === undefined) return undefined;
    const record = decode('desired', entry.key, entry.value);
    return record.object.kind === this.kind ? (record.object as Kinds[K]) : undefined;
  }

  /** The source of a binding written before bindings named it: its pod's owner. */
  private async sourceOf(b: BindingRecord): Promise<string | undefined> {
    const entry = await this.store.get(podKey(b.namespace, b.pod));
    if (entry === undefined) return undefined;
    try {
      return decode('pod', entry.key, entry.value).owner.source;
    } catch {
      return undefined;
    }
  }
}
