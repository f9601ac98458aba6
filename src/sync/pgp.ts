// OpenPGP signatures of commits (`git commit -S` with gpg): the only importer of openpgp.
import { createMessage, readKeys, readSignature, verify, type PublicKey } from 'openpgp';
import { InvalidInputError } from '../errors.js';

/** An OpenPGP public key of a keyring. */
export type PgpKey = PublicKey;

/** The public keys of one armored block; a block that does not read is refused, naming the file. */
export async function readPgpKeys(armored: string, file: string): Promise<PgpKey[]> {
  try {
    return (await readKeys({ armoredKeys: armored })).map((k) => k.toPublic());
  } catch (cause) {
    throw new InvalidInputError('EKEYRING', `keyring ${file}: unreadable OpenPGP key block: ${cause instanceof Error ? cause.message : String(cause)}`, {
      hint: 'export the keys with gpg --armor --export',
      cause,
    });
  }
}

/**
 * Why an armored OpenPGP signature over `payload` is not good with any of `keys`; undefined when it
 * is (the signer's key is among them and the signature matches the bytes).
 */
export async function pgpProblem(payload: Uint8Array, armoredSignature: string, keys: PgpKey[]): Promise<string | undefined> {
  let signature;
  try {
    signature = await readSignature({ armoredSignature });
  } catch {
    return 'unreadable OpenPGP signature';
  }
  const ids = signature.getSigningKeyIDs().map((id) => id.toHex().toUpperCase());
  if (!keys.some((k) => signature.getSigningKeyIDs().some((id) => k.getKeys(id).length > 0))) {
    return `signed by OpenPGP key ${ids.join(', ') || '(no key id)'}, which is not in the keyring`;
  }
  const message = await createMessage({ binary: payload });
  const result = await verify({ message, signature, verificationKeys: keys, format: 'binary' });
  for (const s of result.signatures) {
    try {
      await s.verified;
      return undefined;
    } catch (err) {
      return `OpenPGP signature by ${s.keyID.toHex().toUpperCase()} does not verify: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  return 'no OpenPGP signature';
}
