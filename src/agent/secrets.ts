// The Secrets a node's pods read, decrypted here and nowhere else: sync, etcd and the API hold only
// their sops ciphertext. Each Secret is decrypted once per content (its object hash) with the
// operator's age identities (--age-key-file) and its MAC checked before any value is used; the values
// live in this process's memory while a pod here uses them, and reach only the pod's containers
// (their environment and Secret volumes). A Secret that cannot be decrypted is a reason, never a value.
import type { SecretLookup } from '../manifest/env.js';
import type { SecretObject } from '../manifest/types.js';
import type { Store } from '../store/store.js';
import type { BindingRecord } from '../store/records.js';
import type { AgeIdentities } from './age.js';
import { DesiredReader } from './configmaps.js';
import { decryptTree, secretValues, SopsError } from './sops.js';

type Decrypted = { values: ReadonlyMap<string, Uint8Array> } | { error: string };

/** Reads and decrypts, each round, the Secrets the bound pods need. */
export class SecretReader {
  private readonly objects: DesiredReader<'Secret'>;
  /** Object hash → its values (or why not), for the Secrets bound pods use now. */
  private readonly decrypted = new Map<string, Decrypted>();

  constructor(
    store: Store,
    private readonly identities: AgeIdentities | undefined,
  ) {
    this.objects = new DesiredReader(store, 'Secret');
  }

  /** A lookup per binding for the Secrets of its namespace and source, decrypted. */
  async read(bindings: readonly BindingRecord[]): Promise<(b: BindingRecord) => SecretLookup> {
    const found = await this.objects.read(bindings);
    const used = new Set<string>();
    for (const b of bindings) {
      const lookup = found(b);
      for (const ref of b.template.volumes ?? []) if ('secret' in ref) await this.remember(lookup(ref.secret.secretName), used);
      for (const c of [...(b.template.initContainers ?? []), ...b.template.containers]) {
        for (const f of c.envFrom ?? []) if ('secretRef' in f) await this.remember(lookup(f.secretRef.name), used);
        for (const e of c.env) if ('valueFrom' in e && 'secretKeyRef' in e.valueFrom) await this.remember(lookup(e.valueFrom.secretKeyRef.name), used);
      }
    }
    // Values of Secrets no pod here uses any more are dropped.
    for (const hash of this.decrypted.keys()) if (!used.has(hash)) this.decrypted.delete(hash);
    return (b) => {
      const lookup = found(b);
      return (name) => {
        const o = lookup(name);
        return o === undefined ? undefined : this.decrypted.get(o.hash);
      };
    };
  }

  private async remember(o: SecretObject | undefined, used: Set<string>): Promise<void> {
    if (o === undefined || used.has(o.hash)) return;
    used.add(o.hash);
    if (!this.decrypted.has(o.hash)) this.decrypted.set(o.hash, await this.decrypt(o));
  }

  private async decrypt(o: SecretObject): Promise<Decrypted> {
    const sops = o.spec.sops;
    // A plain Secret (the operator allowed it at sync) needs no key.
    if (sops === undefined) return { values: secretValues(o.spec, undefined) };
    if (this.identities === undefined) return { error: `${o.path}: this node has no age identity (start its agent with --age-key-file)` };
    const key = await this.identities.unwrap(sops.age);
    if ('error' in key) return { error: `${o.path}: ${key.error}` };
    try {
      return { values: secretValues(o.spec, decryptTree(sops, key)) };
    } catch (err) {
      if (err instanceof SopsError) return { error: `${o.path}: ${err.message}` };
      throw err;
    }
  }
}
