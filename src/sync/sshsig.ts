// SSH signatures (OpenSSH's PROTOCOL.sshsig, what `git commit -S` makes with gpg.format=ssh), checked
// with node:crypto: ed25519, RSA (rsa-sha2-256/512) and ECDSA (nistp256/384/521) keys.
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';

/** A public key as OpenSSH writes it (`ssh-ed25519 AAAA…`): its wire blob and what node:crypto makes of it. */
export interface SshPublicKey {
  type: string;
  blob: Buffer;
  key: KeyObject;
  /** `SHA256:…`, as ssh-keygen -l prints it. */
  fingerprint: string;
}

/** Why an SSH signature is not good, in words for a status line. */
export class SshSigError extends Error {}

const MAGIC = Buffer.from('SSHSIG');
const CURVES: Record<string, { crv: string; hash: string; size: number }> = {
  'ecdsa-sha2-nistp256': { crv: 'P-256', hash: 'sha256', size: 32 },
  'ecdsa-sha2-nistp384': { crv: 'P-384', hash: 'sha384', size: 48 },
  'ecdsa-sha2-nistp521': { crv: 'P-521', hash: 'sha512', size: 66 },
};

/** Reads SSH wire types (RFC 4251: uint32, string, mpint) from a buffer, throwing on a short one. */
class Reader {
  private at = 0;
  constructor(private readonly buf: Buffer) {}
  uint32(): number {
    if (this.at + 4 > this.buf.length) throw new SshSigError('truncated signature data');
    const v = this.buf.readUInt32BE(this.at);
    this.at += 4;
    return v;
  }
  bytes(): Buffer {
    return this.raw(this.uint32());
  }
  text(): string {
    return this.bytes().toString('latin1');
  }
  raw(n: number): Buffer {
    if (this.at + n > this.buf.length) throw new SshSigError('truncated signature data');
    const v = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    return v;
  }
  done(): boolean {
    return this.at === this.buf.length;
  }
}

const str = (b: Buffer | string): Buffer => {
  const data = typeof b === 'string' ? Buffer.from(b) : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  return Buffer.concat([len, data]);
};

/** An mpint as an unsigned big-endian integer of `size` bytes (leading zero dropped, left-padded). */
function unsigned(mpint: Buffer, size?: number): Buffer {
  let v = mpint;
  while (v.length > 1 && v[0] === 0) v = v.subarray(1);
  if (size === undefined || v.length >= size) return v;
  return Buffer.concat([Buffer.alloc(size - v.length), v]);
}

const b64url = (b: Buffer): string => b.toString('base64url');

/** The key of an SSH public-key blob; an unsupported type throws SshSigError. */
export function sshPublicKey(blob: Buffer): SshPublicKey {
  const r = new Reader(blob);
  const type = r.text();
  let key: KeyObject;
  if (type === 'ssh-ed25519') {
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(r.bytes()) }, format: 'jwk' });
  } else if (type === 'ssh-rsa') {
    const e = unsigned(r.bytes());
    const n = unsigned(r.bytes());
    key = createPublicKey({ key: { kty: 'RSA', e: b64url(e), n: b64url(n) }, format: 'jwk' });
  } else if (CURVES[type] !== undefined) {
    const curve = CURVES[type];
    r.text(); // the curve's name again
    const q = r.bytes();
    if (q[0] !== 4 || q.length !== 1 + 2 * curve.size) throw new SshSigError(`unsupported ${type} point encoding`);
    key = createPublicKey({ key: { kty: 'EC', crv: curve.crv, x: b64url(q.subarray(1, 1 + curve.size)), y: b64url(q.subarray(1 + curve.size)) }, format: 'jwk' });
  } else {
    throw new SshSigError(`unsupported key type ${type.slice(0, 40)}`);
  }
  return { type, blob, key, fingerprint: `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}` };
}

/** A parsed `-----BEGIN SSH SIGNATURE-----` block. */
export interface SshSignature {
  publicKey: Buffer;
  namespace: string;
  hashAlgorithm: string;
  signature: Buffer;
  reserved: Buffer;
}

/** Parse an armored SSH signature; anything else throws SshSigError. */
export function parseSshSignature(armored: string): SshSignature {
  const m = /-----BEGIN SSH SIGNATURE-----([\s\S]*?)-----END SSH SIGNATURE-----/.exec(armored);
  if (!m?.[1]) throw new SshSigError('not an SSH signature');
  const blob = Buffer.from(m[1].replace(/\s+/g, ''), 'base64');
  const r = new Reader(blob);
  if (!r.raw(MAGIC.length).equals(MAGIC)) throw new SshSigError('not an SSH signature (no SSHSIG magic)');
  const version = r.uint32();
  if (version !== 1) throw new SshSigError(`SSH signature version ${version} is not supported`);
  const sig = { publicKey: r.bytes(), namespace: r.text(), reserved: r.bytes(), hashAlgorithm: r.text(), signature: r.bytes() };
  if (!r.done()) throw new SshSigError('trailing bytes after the SSH signature');
  return sig;
}

/**
 * Whether `sig` signs `message` in `namespace` with the key it names (PROTOCOL.sshsig: the signed
 * blob is MAGIC, namespace, reserved, hash algorithm and the message's hash). Does not say whether
 * that key is trusted: the caller compares `sig.publicKey` with its allowed signers.
 */
export function verifySshSignature(sig: SshSignature, message: Buffer, namespace: string): void {
  if (sig.namespace !== namespace) throw new SshSigError(`signature is for namespace '${sig.namespace.slice(0, 40)}', not '${namespace}'`);
  if (sig.hashAlgorithm !== 'sha256' && sig.hashAlgorithm !== 'sha512') throw new SshSigError(`unsupported hash ${sig.hashAlgorithm.slice(0, 20)}`);
  const signed = Buffer.concat([MAGIC, str(sig.namespace), str(sig.reserved), str(sig.hashAlgorithm), str(createHash(sig.hashAlgorithm).update(message).digest())]);
  const key = sshPublicKey(sig.publicKey);
  const r = new Reader(sig.signature);
  const format = r.text();
  const bytes = r.bytes();
  const curve = CURVES[key.type];
  let ok: boolean;
  if (key.type === 'ssh-ed25519' && format === 'ssh-ed25519') {
    ok = verify(null, signed, key.key, bytes);
  } else if (key.type === 'ssh-rsa' && (format === 'rsa-sha2-256' || format === 'rsa-sha2-512')) {
    ok = verify(format === 'rsa-sha2-256' ? 'sha256' : 'sha512', signed, key.key, bytes);
  } else if (curve !== undefined && format === key.type) {
    const inner = new Reader(bytes);
    const rs = Buffer.concat([unsigned(inner.bytes(), curve.size), unsigned(inner.bytes(), curve.size)]);
    ok = verify(curve.hash, signed, { key: key.key, dsaEncoding: 'ieee-p1363' }, rs);
  } else {
    throw new SshSigError(`signature format ${format.slice(0, 40)} does not fit a ${key.type} key`);
  }
  if (!ok) throw new SshSigError(`signature does not match the commit (${key.type} key ${key.fingerprint})`);
}
