// v1 Secret, as Kubernetes reads it (`data` base64, `stringData` text, type Opaque), kept in the
// repository encrypted by sops with age recipients (the format Flux decrypts). berth never holds
// the key where it reads the repository: the values stay ciphertext through sync, etcd and the API,
// and are decrypted only by the agent of a node that runs a pod using them (src/agent/secrets.ts).
// A Secret in plain text is refused at its line unless the operator allows it (--allow-plain-secrets).
import { isMap, isScalar, type Node } from 'yaml';
import { quote } from './text.js';
import { apiVersionSchema, metadataSchema } from './metadata.js';
import { checkConfigMapKey } from './names.js';
import { isAbsent, object, optional, record, required, string, withDefault, type Context, type Schema } from './schema.js';
import { ENC_VALUE, isEncrypted, readSopsEnvelope, type SopsEnvelope } from './sops.js';
import * as unsupported from './unsupported.js';

/** A Secret key: Kubernetes' rule is the ConfigMap key's. */
const checkSecretKey = (k: string): string | undefined => checkConfigMapKey(k)?.replace('ConfigMap key', 'Secret key');

// A value of a Secret: a string; any other is refused without showing it (the error goes into history and statuses).
const secretValue: Schema<string> = (raw, cx) => {
  const node = cx.deref(raw);
  if (node === undefined) return undefined;
  if (isScalar(node) && typeof node.value === 'string') return node.value;
  cx.report(node, isAbsent(node) ? 'must be a string, not null; write "" for an empty value' : 'must be a string (its value is not shown); quote it');
  return undefined;
};

// `sops` is read by readSopsEnvelope from the node itself (it needs the whole document).
const secretSchema = object(
  {
    apiVersion: required(apiVersionSchema('v1', 'Secret')),
    kind: required(string()),
    metadata: required(metadataSchema),
    type: optional(string()),
    data: withDefault(record(checkSecretKey, secretValue), {}),
    stringData: withDefault(record(checkSecretKey, secretValue), {}),
    sops: optional((n) => n),
  },
  unsupported.SECRET,
);

/** What a Secret holds, as the repository has it: each value's SOPS ciphertext, or (allowed plain) its text. */
export interface SecretSpec {
  type: 'Opaque';
  /** `data`: base64 of the value (encrypted: the ciphertext of that base64 text). */
  data: Record<string, string>;
  /** `stringData`: the value as text (encrypted: its ciphertext); wins over `data` for a key in both, as in Kubernetes. */
  stringData: Record<string, string>;
  /** Absent for a plain Secret (only where the operator allows them). */
  sops?: SopsEnvelope;
}

/** How a Secret document is read. */
export interface SecretOptions {
  /** The operator's --allow-plain-secrets: a Secret without a sops envelope is accepted. */
  allowPlain: boolean;
}

const ENCRYPT_HINT = "encrypt it with sops and age (sops --encrypt --age <recipient> --encrypted-regex '^(data|stringData)$' --in-place FILE)";

/** A whole `v1 Secret` document, checked (every refusal at its line); undefined when something was reported. */
export function readSecret(root: Node, cx: Context, opts: SecretOptions): { metadata: { name: string; namespace: string; labels: Record<string, string> }; spec: SecretSpec } | undefined {
  const s = secretSchema(root, cx);
  if (s === undefined) return undefined;
  if (s.type !== undefined && s.type !== 'Opaque') {
    cx.reportAt(root, ['type'], `${quote(s.type)} is not a Secret type berth reads; berth reads Opaque Secrets (values passed through env and volumes), remove the type or write Opaque`);
    return undefined;
  }
  const size = [s.data, s.stringData].reduce((n, d) => n + Object.entries(d).reduce((m, [k, v]) => m + Buffer.byteLength(k) + Buffer.byteLength(v), 0), 0);
  if (size > 1024 * 1024) {
    cx.report(root, `is ${size} bytes; a Secret holds at most 1 MiB (1048576 bytes)`);
    return undefined;
  }
  const spec = { type: 'Opaque' as const, data: s.data, stringData: s.stringData };
  const metadata = { name: s.metadata.name, namespace: s.metadata.namespace, labels: s.metadata.labels };
  const sopsNode = isMap(root) ? root.items.find((p) => isScalar(p.key) && p.key.value === 'sops')?.value : undefined;
  if (sopsNode === undefined || sopsNode === null) return checkPlain(root, cx, spec, opts) ? { metadata, spec } : undefined;
  const envelope = readSopsEnvelope(root, sopsNode as Node, cx);
  if (envelope === undefined) return undefined;
  let ok = true;
  for (const leaf of envelope.leaves) {
    const keys = leaf.path.split(':').slice(0, -1);
    const value = keys[0] === 'data' || keys[0] === 'stringData';
    const at = (): Node => cx.find(root, ...keys);
    if (value && !leaf.encrypted) {
      cx.report(at(), `${keys.join('.')}: is left in plain text by the file's sops settings; a Secret's values must all be encrypted: ${ENCRYPT_HINT}`);
      ok = false;
    } else if (value && leaf.value !== '' && !ENC_VALUE.test(leaf.value)) {
      cx.report(at(), `${keys.join('.')}: is not a sops value (ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]); edited by hand? Edit it with \`sops FILE\``);
      ok = false;
    } else if (!value && isEncrypted(leaf.value)) {
      cx.report(at(), `${keys.join('.')}: is encrypted, but berth must read it to place the Secret; encrypt only the values: ${ENCRYPT_HINT}`);
      ok = false;
    }
  }
  return ok ? { metadata, spec: { ...spec, sops: envelope } } : undefined;
}

/** A Secret without a sops envelope: refused unless allowed; allowed, its `data` must be base64 as Kubernetes requires. */
function checkPlain(root: Node, cx: Context, spec: SecretSpec, opts: SecretOptions): boolean {
  if (!opts.allowPlain) {
    const at = cx.find(root, Object.keys(spec.data).length > 0 ? 'data' : Object.keys(spec.stringData).length > 0 ? 'stringData' : 'kind');
    cx.report(at, `a Secret in plain text in the repository; ${ENCRYPT_HINT}, or let the operator allow plain Secrets (--allow-plain-secrets)`);
    return false;
  }
  let ok = true;
  for (const [k, v] of Object.entries(spec.data)) {
    if (/^[A-Za-z0-9+/]*={0,2}$/.test(v) && v.length % 4 === 0) continue;
    cx.reportAt(root, ['data', k], 'is not base64; write the value base64-encoded under `data`, or as text under `stringData`');
    ok = false;
  }
  return ok;
}


const HIDDEN = /^\(hidden: \d+ bytes\)$/;

/**
 * What people may see of a Secret (an API answer, `berth diff`): its keys, each value's sops
 * ciphertext, and its recipients; a plain value (allowed by the operator) as its length only. The
 * hash stays, so a change still shows as one.
 */
export function redactSecret<T extends { kind: string; spec: unknown }>(o: T): T {
  if (o.kind !== 'Secret') return o;
  const spec = o.spec as SecretSpec;
  const hide = (values: Record<string, string>): Record<string, string> =>
    // Idempotent: `berth diff` renders the API's (already redacted) side through here again.
    Object.fromEntries(Object.entries(values).map(([k, v]) => [k, isEncrypted(v) || HIDDEN.test(v) ? v : `(hidden: ${Buffer.byteLength(v)} bytes)`]));
  const sops = spec.sops === undefined ? {} : { sops: { age: spec.sops.age.map((a) => ({ recipient: a.recipient })), lastmodified: spec.sops.lastmodified, version: spec.sops.version } };
  return { ...o, spec: { type: spec.type, data: hide(spec.data), stringData: hide(spec.stringData), ...sops } };
}
