// Encrypted Secrets for tests, written as sops writes them with `--age R --encrypted-regex
// '^(data|stringData)$'` (sops.go's Tree.Encrypt, aes/cipher.go): each value AES-256-GCM under a
// fresh data key with its path as additional data, a SHA-512 MAC over every value encrypted with
// lastmodified as additional data, the data key wrapped for each age recipient. Files made by the
// real sops are in test/fixtures/sops; this lets a test choose its values.
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { Encrypter, armor, generateIdentity, identityToRecipient } from 'age-encryption';

/** A fresh age identity and its recipient, as age-keygen makes them. */
export async function ageKeyPair(): Promise<{ identity: string; recipient: string; keyFile: string }> {
  const identity = await generateIdentity();
  const recipient = await identityToRecipient(identity);
  return { identity, recipient, keyFile: `# public key: ${recipient}\n${identity}\n` };
}

/** sops's value format for `plain` at `path` (keys joined by ':' with a ':' after). */
export function encryptValue(plain: string, key: Buffer, path: string): string {
  const iv = randomBytes(32);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(path));
  const data = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return `ENC[AES256_GCM,data:${data.toString('base64')},iv:${iv.toString('base64')},tag:${cipher.getAuthTag().toString('base64')},type:str]`;
}

/** What to encrypt: a v1 Secret's name, namespace and values (`data` given as text, written base64 as Kubernetes wants). */
export interface PlainSecret {
  name: string;
  namespace?: string;
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

/** The YAML sops would write for `s` encrypted to `recipients`. */
export async function encryptSecret(s: PlainSecret, recipients: readonly string[], lastmodified = new Date().toISOString().replace(/\.\d+Z$/, 'Z')): Promise<string> {
  const key = randomBytes(32);
  const hash = createHash('sha512');
  const plainLeaf = (v: string): string => {
    hash.update(v);
    return JSON.stringify(v);
  };
  const secret = (path: string, v: string): string => {
    hash.update(v);
    return encryptValue(v, key, path);
  };
  const lines = ['apiVersion: ' + plainLeaf('v1'), 'kind: ' + plainLeaf('Secret'), 'metadata:', `  name: ${plainLeaf(s.name)}`];
  if (s.namespace !== undefined) lines.push(`  namespace: ${plainLeaf(s.namespace)}`);
  lines.push(`type: ${plainLeaf('Opaque')}`);
  for (const [field, values] of [['data', s.data], ['stringData', s.stringData]] as const) {
    if (values === undefined) continue;
    lines.push(`${field}:`);
    for (const [k, v] of Object.entries(values)) lines.push(`  ${k}: ${secret(`${field}:${k}:`, field === 'data' ? Buffer.from(v).toString('base64') : v)}`);
  }
  const mac = encryptValue(hash.digest('hex').toUpperCase(), key, lastmodified);
  const encrypter = new Encrypter();
  for (const r of recipients) encrypter.addRecipient(r);
  const enc = armor.encode(await encrypter.encrypt(key));
  lines.push('sops:', '  age:');
  for (const r of recipients) lines.push(`    - recipient: ${r}`, '      enc: |', ...enc.trimEnd().split('\n').map((l) => `        ${l}`));
  lines.push(`  lastmodified: "${lastmodified}"`, `  mac: ${mac}`, '  encrypted_regex: ^(data|stringData)$', '  version: 3.9.0', '');
  return lines.join('\n');
}
