import { generateKeyPairSync, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type Forge from 'node-forge';
import { readSecretFile } from '../secret-file.js';

/**
 * The certificates of the etcd that `berth up` runs: a CA made for it alone, etcd's server pair
 * (also its peer pair) for 127.0.0.1, and the client pair every component of berth connects with.
 * The CA's key is never kept: once the pairs are signed, no one can make another certificate etcd trusts.
 */
export interface LocalPki {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** What a client of that etcd needs, as EtcdStoreOptions.tls takes it. */
export interface LocalEtcdTls {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

const PKI_DIR = 'pki';
/** How errors name a key file of the PKI. */
const KEY = "berth's etcd key";
const VALID_DAYS = 3650;
/** Certificates this close to their end are made again at the next start. */
const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;

/** The file names of the PKI under an etcd data dir (`<data-dir>/etcd`), whether they exist or not. */
export function localPkiFiles(etcdDir: string): LocalPki {
  const dir = path.join(etcdDir, PKI_DIR);
  const at = (f: string): string => path.join(dir, f);
  return { dir, ca: at('ca.pem'), serverCert: at('server.pem'), serverKey: at('server-key.pem'), clientCert: at('client.pem'), clientKey: at('client-key.pem') };
}

/**
 * The PKI under `etcdDir`, made on first start (dir 0700, files 0600) and reused after; made again
 * whole when a file is missing, does not parse, or a certificate ends within 30 days. `made` says
 * which happened. A key file open to others is refused (hint chmod 600), as every secret file is.
 */
export async function ensureLocalPki(etcdDir: string, now = new Date()): Promise<{ pki: LocalPki; made: boolean }> {
  const pki = localPkiFiles(etcdDir);
  // node-forge only here, when a PKI is checked or made: `berth agent` and every other client of an
  // etcd load this module (through the store) and never need it (~5 MB of heap).
  const forge = (await import('node-forge')).default;
  if (await usable(forge, pki, now)) return { pki, made: false };
  // Made in a folder beside it, then swapped in with one rename: a start killed midway leaves either
  // the old set or none, never certificates of two CAs mixed.
  const fresh = `${pki.dir}.new-${randomBytes(4).toString('hex')}`;
  await fs.mkdir(fresh, { mode: 0o700 });
  try {
    const made = makeLocalCertificates(forge, now);
    for (const name of ['ca', 'serverCert', 'serverKey', 'clientCert', 'clientKey'] as const) {
      await fs.writeFile(path.join(fresh, path.basename(pki[name])), made[name], { mode: 0o600 });
    }
    await fs.rm(pki.dir, { recursive: true, force: true });
    await fs.rename(fresh, pki.dir);
  } catch (err) {
    await fs.rm(fresh, { recursive: true, force: true });
    throw err;
  }
  await fs.chmod(etcdDir, 0o700);
  return { pki, made: true };
}

/** The client pair and CA of the PKI under `etcdDir`, or undefined when there is none (an etcd without TLS, or none at all). */
export async function readLocalEtcdTls(etcdDir: string): Promise<LocalEtcdTls | undefined> {
  const pki = localPkiFiles(etcdDir);
  let ca: Buffer;
  try {
    ca = await fs.readFile(pki.ca);
  } catch {
    return undefined;
  }
  return { ca, cert: await fs.readFile(pki.clientCert), key: await readSecretFile(pki.clientKey, KEY, 'EETCDTLS') };
}

async function usable(forge: typeof Forge, pki: LocalPki, now: Date): Promise<boolean> {
  let certs: Forge.pki.Certificate[];
  try {
    certs = await Promise.all([pki.ca, pki.serverCert, pki.clientCert].map(async (f) => forge.pki.certificateFromPem(await fs.readFile(f, 'utf8'))));
    await Promise.all([pki.serverKey, pki.clientKey].map((f) => fs.access(f)));
  } catch {
    return false;
  }
  // Checked for mode only now: a key open to others is refused, not silently replaced.
  for (const key of [pki.serverKey, pki.clientKey]) await readSecretFile(key, KEY, 'EETCDTLS');
  return certs.every((c) => c.validity.notBefore.getTime() <= now.getTime() && c.validity.notAfter.getTime() - now.getTime() > RENEW_BEFORE_MS);
}

/** PEM texts of a new CA and the server and client pairs it signed (the CA's key is dropped). */
function makeLocalCertificates(forge: typeof Forge, now: Date): { ca: string; serverCert: string; serverKey: string; clientCert: string; clientKey: string } {
  const caKeys = keyPair(forge);
  const caName = [{ name: 'commonName', value: `berth etcd CA ${randomBytes(4).toString('hex')}` }];
  const ca = certificate(forge, now, caName, caName, caKeys.publicKey, caKeys.privateKey, [
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
  ]);
  const leaf = (cn: string, extensions: object[]): { cert: string; key: string } => {
    const keys = keyPair(forge);
    const cert = certificate(forge, now, [{ name: 'commonName', value: cn }], caName, keys.publicKey, caKeys.privateKey, [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      ...extensions,
    ]);
    return { cert, key: forge.pki.privateKeyToPem(keys.privateKey) };
  };
  // etcd's server pair also serves its peer port, where it is a client as well as a server.
  const server = leaf('etcd', [
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] },
  ]);
  const client = leaf('berth', [{ name: 'extKeyUsage', clientAuth: true }]);
  return { ca, serverCert: server.cert, serverKey: server.key, clientCert: client.cert, clientKey: client.key };
}

/** An RSA pair made by node:crypto (forge's own key generation is pure JavaScript, seconds slower), in forge's terms. */
function keyPair(forge: typeof Forge): { publicKey: Forge.pki.rsa.PublicKey; privateKey: Forge.pki.rsa.PrivateKey } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    publicKey: forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString()),
    privateKey: forge.pki.privateKeyFromPem(privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()),
  };
}

function certificate(forge: typeof Forge, now: Date, subject: Forge.pki.CertificateField[], issuer: Forge.pki.CertificateField[], publicKey: Forge.pki.rsa.PublicKey, signer: Forge.pki.rsa.PrivateKey, extensions: object[]): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  // A positive serial of 16 random bytes (the leading 0 keeps the DER integer positive).
  cert.serialNumber = `00${randomBytes(16).toString('hex')}`;
  // An hour of slack before now: a clock a little behind another process's still accepts it.
  cert.validity.notBefore = new Date(now.getTime() - 3600_000);
  cert.validity.notAfter = new Date(now.getTime() + VALID_DAYS * 24 * 3600_000);
  cert.setSubject(subject);
  cert.setIssuer(issuer);
  cert.setExtensions(extensions);
  cert.sign(signer, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}
