import { execFile } from 'node:child_process';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** PEM files made by `openssl` in a test's own folder: a CA, a server pair for 127.0.0.1, a client pair. */
export interface TestPki {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

/** A CA named `name` in `dir`, with a server certificate for 127.0.0.1 and a client certificate it signed (keys mode 0600). */
export async function makePki(dir: string, name = 'ca'): Promise<TestPki> {
  const at = (f: string): string => join(dir, `${name}-${f}`);
  const pki: TestPki = { ca: at('ca.pem'), serverCert: at('server.pem'), serverKey: at('server-key.pem'), clientCert: at('client.pem'), clientKey: at('client-key.pem') };
  const caKey = at('ca-key.pem');
  await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', caKey, '-out', pki.ca, '-days', '2', '-subj', `/CN=${name}`]);
  const sign = async (cert: string, key: string, cn: string, ext: string): Promise<void> => {
    const csr = `${cert}.csr`;
    const extFile = `${cert}.ext`;
    await writeFile(extFile, ext);
    await run('openssl', ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${cn}`]);
    await run('openssl', ['x509', '-req', '-in', csr, '-CA', pki.ca, '-CAkey', caKey, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', extFile]);
    await chmod(key, 0o600);
  };
  await sign(pki.serverCert, pki.serverKey, 'etcd', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  await sign(pki.clientCert, pki.clientKey, 'berth', 'extendedKeyUsage=clientAuth\n');
  return pki;
}
