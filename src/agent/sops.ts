// SOPS's decryption (getsops/sops: aes/cipher.go, sops.go's Tree.Decrypt, the MAC check of
// cmd/sops/common) on node:crypto, given the data key: each value is AES-256-GCM with its path as
// additional data; the MAC, a SHA-512 over every value in walk order, is itself encrypted with the
// file's lastmodified as additional data. A value edited, moved or reordered fails one or the other.
import { createDecipheriv, createHash, timingSafeEqual } from 'node:crypto';
import type { SecretSpec } from '../manifest/secret.js';
import { ENC_VALUE } from '../manifest/sops-value.js';
import type { SopsEnvelope } from '../manifest/sops.js';

// sops.go's MACOnlyEncryptedInitialization: a MAC of mac_only_encrypted never equals one without it.
const MAC_ONLY_ENCRYPTED_INIT = Buffer.from('8a3fd2ad54ce66527b1034f3d147be0b0b975b3bf44f72c6fdadec8176f27d69', 'hex');

/** A Secret's values, decrypted: each key's bytes (`data` base64-decoded, `stringData` as UTF-8; stringData wins). */
export type SecretValues = ReadonlyMap<string, Buffer>;

/** Thrown for a value or MAC that does not decrypt or check; the message names no value. */
export class SopsError extends Error {}

/** One `ENC[…]` value decrypted with `key` and its additional data: the plaintext's text as the MAC reads it. */
export function decryptValue(value: string, key: Uint8Array, additionalData: string): string {
  const m = ENC_VALUE.exec(value);
  if (m === null) throw new SopsError('a value is not in the sops format');
  const [, data = '', iv = '', tag = '', type = 'str'] = m;
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
    decipher.setAAD(Buffer.from(additionalData));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    plain = Buffer.concat([decipher.update(Buffer.from(data, 'base64')), decipher.final()]);
  } catch {
    throw new SopsError(`the value at ${additionalData.slice(0, -1).replaceAll(':', '.') || '(root)'} does not decrypt (edited, or moved from another place)`);
  }
  const text = plain.toString('utf8');
  // ToBytes of the typed plaintext, as sops hashes it.
  if (type === 'bool') return /^(1|t|T|TRUE|true|True)$/.test(text) ? 'True' : 'False';
  if (type === 'int') return String(Number.parseInt(text, 10));
  return text;
}

/**
 * Decrypts every value of `envelope` with the data key and checks the MAC (before any value is
 * used). Returns the plaintext of each leaf by its path.
 */
export function decryptTree(envelope: SopsEnvelope, key: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  const hash = createHash('sha512');
  if (envelope.macOnlyEncrypted) hash.update(MAC_ONLY_ENCRYPTED_INIT);
  for (const leaf of envelope.leaves) {
    const plain = leaf.encrypted && leaf.value !== '' ? decryptValue(leaf.value, key, leaf.path) : leaf.value;
    if (!envelope.macOnlyEncrypted || leaf.encrypted) hash.update(plain);
    out.set(leaf.path, plain);
  }
  const computed = Buffer.from(hash.digest('hex').toUpperCase());
  let stored: Buffer;
  try {
    stored = Buffer.from(decryptValue(envelope.mac, key, envelope.lastmodified));
  } catch {
    throw new SopsError('its MAC does not decrypt (sops.mac or sops.lastmodified was edited)');
  }
  if (stored.length !== computed.length || !timingSafeEqual(stored, computed)) {
    throw new SopsError('its MAC does not match its values (a value was edited, added, removed or reordered after sops encrypted the file); edit it with `sops FILE`');
  }
  return out;
}

/** A Secret's values from its decrypted tree (or, for a plain Secret, its text). */
export function secretValues(spec: SecretSpec, tree: ReadonlyMap<string, string> | undefined): SecretValues {
  const out = new Map<string, Buffer>();
  const plain = (path: string, fallback: string): string => tree?.get(path) ?? fallback;
  for (const [k, v] of Object.entries(spec.data)) out.set(k, Buffer.from(plain(`data:${k}:`, v), 'base64'));
  for (const [k, v] of Object.entries(spec.stringData)) out.set(k, Buffer.from(plain(`stringData:${k}:`, v), 'utf8'));
  return out;
}
