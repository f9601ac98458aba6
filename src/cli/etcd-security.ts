import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { InvalidInputError, UsageError } from '../errors.js';
import { readSecretFile } from '../secret-file.js';
import type { EtcdStoreOptions } from '../store/etcd-common.js';
import { readLocalEtcdTls } from '../store/local-pki.js';

/** The flags of every command that opens etcd: TLS (`--etcd-ca`, `--etcd-cert`, `--etcd-key`) and user/password auth. */
export interface EtcdSecurityFlags {
  etcdCa?: string;
  etcdCert?: string;
  etcdKey?: string;
  etcdUser?: string;
  etcdPasswordFile?: string;
}

/**
 * The TLS and auth options the flags ask for, the files read now (a key or password file open to
 * others is refused), with an error naming the flag when one is missing its partner.
 */
export async function etcdSecurity(flags: EtcdSecurityFlags): Promise<Pick<EtcdStoreOptions, 'tls' | 'auth'>> {
  const pairs: [string | undefined, string, string | undefined, string][] = [
    [flags.etcdCert, '--etcd-cert', flags.etcdKey, '--etcd-key'],
    [flags.etcdUser, '--etcd-user', flags.etcdPasswordFile, '--etcd-password-file'],
  ];
  for (const [a, aFlag, b, bFlag] of pairs) {
    if ((a === undefined) !== (b === undefined)) {
      const [given, missing] = a === undefined ? [bFlag, aFlag] : [aFlag, bFlag];
      throw new UsageError('EETCDFLAGS', `${given} needs ${missing}`, { hint: `pass ${missing} too` });
    }
  }
  if (flags.etcdCert !== undefined && flags.etcdCa === undefined) {
    throw new UsageError('EETCDFLAGS', '--etcd-cert needs --etcd-ca', { hint: "pass --etcd-ca with the CA that signed etcd's certificate" });
  }
  const out: Pick<EtcdStoreOptions, 'tls' | 'auth'> = {};
  if (flags.etcdCa !== undefined) {
    out.tls = {
      ca: await readPublic(flags.etcdCa, '--etcd-ca'),
      ...(flags.etcdCert !== undefined && { cert: await readPublic(flags.etcdCert, '--etcd-cert') }),
      ...(flags.etcdKey !== undefined && { key: await readSecretFile(path.resolve(flags.etcdKey), '--etcd-key', 'EETCDFLAGS') }),
    };
  }
  if (flags.etcdUser !== undefined && flags.etcdPasswordFile !== undefined) {
    const password = (await readSecretFile(path.resolve(flags.etcdPasswordFile), '--etcd-password-file', 'EETCDFLAGS')).toString('utf8').trim();
    if (password === '') throw new InvalidInputError('EETCDFLAGS', `--etcd-password-file ${flags.etcdPasswordFile} is empty`, { hint: "write the etcd user's password into it" });
    out.auth = { username: flags.etcdUser, password };
  }
  return out;
}

/**
 * `etcdSecurity`, and for endpoints on loopback over https:// given no --etcd-ca, the certificates of
 * the etcd a `berth up` runs under `dataDir` (`<dataDir>/etcd/pki`), so that a command pointed at it
 * needs no TLS flags.
 */
export async function etcdSecurityFor(flags: EtcdSecurityFlags, endpoints: string[], dataDir: string): Promise<Pick<EtcdStoreOptions, 'tls' | 'auth'>> {
  const out = await etcdSecurity(flags);
  if (out.tls === undefined && endpoints.length > 0 && endpoints.every(isLoopbackHttps)) {
    const local = await readLocalEtcdTls(path.resolve(dataDir, 'etcd'));
    if (local !== undefined) out.tls = local;
  }
  return out;
}

function isLoopbackHttps(endpoint: string): boolean {
  try {
    const url = new URL(endpoint);
    return url.protocol === 'https:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  } catch {
    return false;
  }
}

/** A certificate (no secret in it): read, with an error naming its flag. */
async function readPublic(file: string, flag: string): Promise<Buffer> {
  try {
    return await readFile(path.resolve(file));
  } catch (cause) {
    throw new InvalidInputError('EETCDFLAGS', `${flag} ${file} cannot be read`, { hint: `give ${flag} a PEM file berth can read`, cause });
  }
}
