// The SOPS envelope of an encrypted file (getsops/sops, the format Flux's kustomize-controller
// decrypts), read without a key: the `sops:` block (age recipients, lastmodified, mac, version and
// the settings that say which values are encrypted), and every other value of the document in the
// order SOPS walks it for its MAC. Decryption and the MAC check need the operator's age identity and
// happen on the node that runs a pod (src/agent/sops.ts); here only the shape is checked, at its line.
import { isMap, isScalar, isSeq, type Node } from 'yaml';
import { quote } from './text.js';
import { describe, type Context } from './schema.js';
import { ENC_VALUE } from './sops-value.js';

export { ENC_VALUE } from './sops-value.js';

/** One value of the document as SOPS sees it: its additional data (keys joined by ':', plus ':'), its text, and whether SOPS encrypts it. */
export interface SopsLeaf {
  path: string;
  /** The value as the MAC reads it (ToBytes): a string as is, an integer or float in decimal, a boolean True/False; an encrypted one as its `ENC[…]` text. */
  value: string;
  encrypted: boolean;
}

/** One age recipient of the file and its copy of the data key (an armored age file). */
export interface AgeStanza {
  recipient: string;
  enc: string;
}

/** What berth keeps of a SOPS file: enough to decrypt it and check its MAC on a node. */
export interface SopsEnvelope {
  age: AgeStanza[];
  /** RFC 3339, as written: the MAC's additional data. */
  lastmodified: string;
  /** The MAC, itself encrypted: `ENC[AES256_GCM,…,type:str]`. */
  mac: string;
  version: string;
  /** `mac_only_encrypted`: the MAC covers only the encrypted values. */
  macOnlyEncrypted: boolean;
  /** Every value of the document but `sops:`, in SOPS's walk order (comments and nulls are not values). */
  leaves: SopsLeaf[];
}


/** True for a value SOPS encrypted. */
export function isEncrypted(value: string): boolean {
  return value.startsWith('ENC[');
}

// Which settings berth reads; the key services are accepted (a file may name several) but only age is used.
const SETTINGS = ['unencrypted_suffix', 'encrypted_suffix', 'unencrypted_regex', 'encrypted_regex', 'unencrypted_comment_regex', 'encrypted_comment_regex'] as const;
const KEY_SERVICES = new Set(['kms', 'gcp_kms', 'azure_kv', 'hc_vault', 'pgp', 'shamir_threshold']);

type Settings = Partial<Record<(typeof SETTINGS)[number], string>>;

/**
 * Reads the `sops:` block of `root` (reported at its line when it is not one berth can decrypt) and
 * the document's values in walk order. Undefined when something was reported.
 */
export function readSopsEnvelope(root: Node, sopsNode: Node, cx: Context): SopsEnvelope | undefined {
  const block = cx.deref(sopsNode);
  if (!isMap(block)) {
    cx.report(sopsNode, `sops: must be a map (the metadata sops writes), not ${describe(block)}`);
    return undefined;
  }
  const field = (name: string): Node | undefined => {
    const pair = block.items.find((p) => isScalar(p.key) && p.key.value === name);
    return pair?.value as Node | undefined;
  };
  const text = (name: string): string | undefined => {
    const node = field(name);
    const v = node === undefined ? undefined : cx.deref(node);
    if (node === undefined || v === undefined || (isScalar(v) && v.value === null)) return undefined;
    if (isScalar(v) && typeof v.value === 'string') return v.value;
    cx.report(node, `sops.${name}: must be a string, not ${describe(v)}`);
    return undefined;
  };
  let ok = true;
  const need = (name: string): string => {
    const v = text(name);
    if (v === undefined) {
      cx.report(field(name) ?? sopsNode, `sops.${name}: missing; the file was not written by sops, or was edited by hand: encrypt it again with sops`);
      ok = false;
    }
    return v ?? '';
  };
  for (const pair of block.items) {
    const name = isScalar(pair.key) ? String(pair.key.value) : '';
    if (name === 'key_groups') {
      cx.report(pair.key as Node, 'sops.key_groups: berth decrypts files with one group of age recipients; encrypt with --age only (no key groups)');
      ok = false;
    } else if (!['age', 'lastmodified', 'mac', 'version', 'mac_only_encrypted', ...SETTINGS].includes(name) && !KEY_SERVICES.has(name)) {
      cx.report(pair.key as Node, `sops.${name}: not a field sops writes; encrypt the file again with sops`);
      ok = false;
    }
  }
  const lastmodified = need('lastmodified');
  const mac = need('mac');
  const version = need('version');
  if (mac !== '' && !ENC_VALUE.test(mac)) {
    cx.report(field('mac') ?? sopsNode, 'sops.mac: is not an encrypted MAC (ENC[AES256_GCM,…]); encrypt the file again with sops');
    ok = false;
  }
  if (lastmodified !== '' && Number.isNaN(Date.parse(lastmodified))) {
    cx.report(field('lastmodified') ?? sopsNode, `sops.lastmodified: ${quote(lastmodified)} is not a time (RFC 3339)`);
    ok = false;
  }
  const age = readAge(field('age'), sopsNode, cx);
  const settings: Settings = {};
  for (const name of SETTINGS) {
    const v = text(name);
    if (v === undefined) continue;
    if (name.endsWith('_regex') && !compiles(v)) {
      cx.report(field(name) ?? sopsNode, `sops.${name}: ${quote(v)} is not a regular expression berth can read`);
      ok = false;
    }
    settings[name] = v;
  }
  const rules = SETTINGS.filter((k) => settings[k] !== undefined && settings[k] !== '');
  if (rules.length > 1) {
    cx.report(sopsNode, `sops: has ${rules.join(' and ')}; sops reads a file with one of them only`);
    ok = false;
  }
  const macOnlyNode = field('mac_only_encrypted');
  const macOnly = macOnlyNode === undefined ? undefined : cx.deref(macOnlyNode);
  const macOnlyEncrypted = isScalar(macOnly) && macOnly.value === true;
  if (age === undefined || !ok) return undefined;
  const leaves = collectLeaves(root, settings, cx);
  // sops reads the time and writes it again as Go's RFC 3339 (no fraction of a second) for the MAC's additional data.
  const stamp = lastmodified.replace(/\.\d+(?=Z$|[+-]\d\d:\d\d$)/, '');
  return leaves === undefined ? undefined : { age, lastmodified: stamp, mac, version, macOnlyEncrypted, leaves };
}

function readAge(node: Node | undefined, at: Node, cx: Context): AgeStanza[] | undefined {
  const seq = node === undefined ? undefined : cx.deref(node);
  const hint = 'berth decrypts with age: encrypt with `sops --encrypt --age <recipient>` (the recipient of the operator\'s --age-key-file)';
  if (!isSeq(seq) || seq.items.length === 0) {
    cx.report(node ?? at, `sops.age: no age recipient; ${hint}`);
    return undefined;
  }
  const out: AgeStanza[] = [];
  let ok = true;
  seq.items.forEach((item, i) => {
    const m = isMap(item) ? item : undefined;
    const get = (k: string): string | undefined => {
      const v = m?.items.find((p) => isScalar(p.key) && p.key.value === k)?.value;
      return isScalar(v) && typeof v.value === 'string' ? v.value : undefined;
    };
    const recipient = get('recipient');
    const enc = get('enc');
    if (recipient === undefined || enc === undefined || !enc.includes('-----BEGIN AGE ENCRYPTED FILE-----')) {
      cx.report((item as Node | null) ?? at, `sops.age[${i}]: must have a recipient and its enc (an armored age file); encrypt the file again with sops`);
      ok = false;
      return;
    }
    out.push({ recipient, enc });
  });
  return ok ? out : undefined;
}

function compiles(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

/**
 * SOPS's shouldBeEncrypted (sops.go) for a value at `path`. A file has at most one rule; with none,
 * sops reads `unencrypted_suffix: _unencrypted` (stores.go). The comment rules say nothing of values.
 */
export function shouldBeEncrypted(path: readonly string[], s: Settings): boolean {
  if (SETTINGS.every((k) => s[k] === undefined || s[k] === '')) return !path.some((p) => p.endsWith('_unencrypted'));
  const any = (test: (p: string) => boolean): boolean => path.some(test);
  if (s.unencrypted_suffix) return !any((p) => p.endsWith(s.unencrypted_suffix ?? ''));
  if (s.encrypted_suffix) return any((p) => p.endsWith(s.encrypted_suffix ?? ''));
  if (s.unencrypted_regex) return !any((p) => new RegExp(s.unencrypted_regex ?? '').test(p));
  if (s.encrypted_regex) return any((p) => new RegExp(s.encrypted_regex ?? '').test(p));
  return true;
}

/** Every value of the document but the top-level `sops:`, in document order, as SOPS's walk meets them. */
function collectLeaves(root: Node, settings: Settings, cx: Context): SopsLeaf[] | undefined {
  const out: SopsLeaf[] = [];
  let ok = true;
  const walk = (raw: Node, path: string[]): void => {
    const node = cx.deref(raw);
    if (node === undefined) return;
    if (isMap(node)) {
      for (const pair of node.items) {
        if (path.length === 0 && isScalar(pair.key) && pair.key.value === 'sops') continue;
        if (!isScalar(pair.key) || typeof pair.key.value !== 'string') {
          cx.report((pair.key as Node | null) ?? node, 'keys of an encrypted file must be strings (sops reads no other)');
          ok = false;
          continue;
        }
        if (pair.value !== null && pair.value !== undefined) walk(pair.value as Node, [...path, pair.key.value]);
      }
    } else if (isSeq(node)) {
      // SOPS passes a list's items the list's own path.
      for (const item of node.items) if (item !== null && item !== undefined) walk(item as Node, path);
    } else if (isScalar(node) && node.value !== null) {
      out.push({ path: `${path.join(':')}:`, value: macBytes(node.value), encrypted: shouldBeEncrypted(path, settings) });
    }
  };
  walk(root, []);
  return ok ? out : undefined;
}

/** SOPS's ToBytes of a plain value: strings as they are, numbers in decimal, booleans True/False. */
function macBytes(v: unknown): string {
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return Number.isInteger(v) ? v.toFixed(0) : String(v);
  return String(v);
}
