// The only importer of age-encryption (typage, by age's author): the operator's age identities
// and the unwrapping of a SOPS file's data key. Its errors become berth's here.
import type * as Age from 'age-encryption';
import { InvalidInputError } from '../errors.js';

/**
 * age-encryption, loaded by the first agent that is given identities: its curves and ciphers (with
 * @noble's post-quantum code) cost every other agent ~5 MB, and most nodes hold no age key.
 */
function ageLibrary(): Promise<typeof Age> {
  return import('age-encryption');
}

/** The operator's age identities (`AGE-SECRET-KEY-1…` lines of an age key file, as age-keygen writes it). */
export class AgeIdentities {
  private constructor(private readonly keys: readonly string[]) {}

  /** The identities of a key file's text; refused (naming `what`, never the key) when it has none. */
  static async parse(text: string, what: string): Promise<AgeIdentities> {
    const keys = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.startsWith('AGE-SECRET-KEY-1'));
    if (keys.length === 0) {
      throw new InvalidInputError('EAGEKEY', `${what} holds no age identity (an AGE-SECRET-KEY-1… line)`, { hint: 'make one with age-keygen -o FILE, and encrypt Secrets to its public key' });
    }
    const { Decrypter } = await ageLibrary();
    for (const key of keys) {
      // Checked now, so a broken line is found at start rather than at the first Secret.
      try {
        new Decrypter().addIdentity(key);
      } catch {
        throw new InvalidInputError('EAGEKEY', `${what} has a line that is not an age identity`, { hint: 'a line of an age key file is AGE-SECRET-KEY-1 followed by 58 characters, as age-keygen writes it' });
      }
    }
    return new AgeIdentities(keys);
  }

  /** The data key wrapped in one of `stanzas` (armored age files) for one of these identities; a reason when none opens. */
  async unwrap(stanzas: readonly { recipient: string; enc: string }[]): Promise<Uint8Array | { error: string }> {
    const { Decrypter, armor } = await ageLibrary();
    const decrypter = new Decrypter();
    for (const key of this.keys) decrypter.addIdentity(key);
    for (const s of stanzas) {
      try {
        return await decrypter.decrypt(armor.decode(s.enc));
      } catch {
        // The next recipient may be ours.
      }
    }
    const to = stanzas.map((s) => s.recipient).join(', ');
    return { error: `no age identity of this node's --age-key-file opens it (encrypted to ${to})` };
  }
}
