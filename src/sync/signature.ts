// Whether a commit is signed by a key of the source's keyring (`--verify-commits`).
import fs from 'node:fs';
import git from 'isomorphic-git';
import { allowsNamespace, type Keyring } from './keyring.js';
import { pgpProblem } from './pgp.js';
import { SshSigError, parseSshSignature, sshPublicKey, verifySshSignature } from './sshsig.js';

/** A commit object split as git splits it to check its signature. */
export interface SignedParts {
  /** The commit's bytes without its `gpgsig` header: what was signed. */
  payload: Buffer;
  /** The signature (the header's lines, continuation spaces removed), if any. */
  signature?: string;
  /** Every `tree` header's value (a well-formed commit has exactly one). */
  trees: string[];
}

/**
 * Split a raw commit object as git does (commit.c, parse_signed_commit): the `gpgsig` header and
 * its continuation lines (starting with a space) out, every other byte kept. Computed here from the
 * object's bytes, because isomorphic-git's own payload assumes a PGP signature and normalizes
 * line endings.
 */
export function splitSignedCommit(raw: Buffer): SignedParts {
  const end = raw.indexOf('\n\n');
  const headerEnd = end === -1 ? raw.length : end + 1;
  const kept: Buffer[] = [];
  const sig: string[] = [];
  const trees: string[] = [];
  let inSig = false;
  let at = 0;
  while (at < headerEnd) {
    const nl = raw.indexOf('\n', at);
    const next = nl === -1 || nl >= headerEnd ? headerEnd : nl + 1;
    const line = raw.subarray(at, next);
    const text = line.toString('utf8');
    if (text.startsWith('gpgsig ')) {
      inSig = true;
      sig.push(text.slice('gpgsig '.length));
    } else if (inSig && text.startsWith(' ')) {
      sig.push(text.slice(1));
    } else {
      inSig = false;
      if (text.startsWith('tree ')) trees.push(text.slice(5).trim());
      kept.push(line);
    }
    at = next;
  }
  kept.push(raw.subarray(headerEnd));
  return { payload: Buffer.concat(kept), trees, ...(sig.length > 0 ? { signature: sig.join('') } : {}) };
}

/**
 * Why `oid` is not signed by a key of `keyring` (no signature, a key not in it, a signature that
 * does not match); undefined when it is. SSH signatures must be in git's namespace, as git signs.
 */
export async function signatureProblem(gitdir: string, oid: string, keyring: Keyring, cache: object): Promise<string | undefined> {
  const { object } = await git.readObject({ fs, gitdir, oid, format: 'content', cache });
  if (!(object instanceof Uint8Array)) return 'unreadable commit object';
  const parts = splitSignedCommit(Buffer.from(object));
  const { commit } = await git.readCommit({ fs, gitdir, oid, cache });
  // The tree that sync reads is the one the signature covers, or the commit is refused.
  if (parts.trees.length !== 1 || parts.trees[0] !== commit.tree) return 'malformed commit (its tree header is not the one read)';
  const { signature } = parts;
  if (signature === undefined) return 'no signature';
  if (signature.includes('-----BEGIN SSH SIGNATURE-----')) return sshProblem(parts.payload, signature, keyring);
  if (signature.includes('-----BEGIN PGP SIGNATURE-----')) {
    if (keyring.pgp.length === 0) return `an OpenPGP signature, and ${keyring.file} holds no OpenPGP key`;
    return pgpProblem(parts.payload, signature, keyring.pgp);
  }
  return 'a signature of a kind berth does not read (OpenPGP and SSH are)';
}

function sshProblem(payload: Buffer, armored: string, keyring: Keyring): string | undefined {
  try {
    const sig = parseSshSignature(armored);
    const key = sshPublicKey(sig.publicKey);
    const signer = keyring.ssh.find((s) => s.key.blob.equals(sig.publicKey) && allowsNamespace(s, 'git'));
    if (!signer) return `signed by ${key.type} key ${key.fingerprint}, which is not an allowed signer in ${keyring.file}`;
    verifySshSignature(sig, payload, 'git');
    return undefined;
  } catch (err) {
    if (err instanceof SshSigError) return err.message;
    throw err;
  }
}
