import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IssuedCertificate, TestPki } from './test-pki';

/** Paths of the PEM files written by {@link writePkiFiles}. */
export interface PkiFiles {
  /** Root + issuing CA: nginx `ssl_client_certificate`, the ingress's `ca.crt`. */
  caBundle: string;
  rootCa: string;
  issuingCa: string;
  /** Server certificate chain (leaf + issuing CA): nginx `ssl_certificate`. */
  serverCert: string;
  /** Server private key, mode 0600: nginx `ssl_certificate_key`. */
  serverKey: string;
}

/**
 * Writes the PKI's CA certificates and a server certificate as PEM files into `dir`, named as
 * nginx configs refer to them. Without `server`, one for `localhost` and `127.0.0.1` is issued.
 *
 * @example
 * const files = await writePkiFiles(tmp, pki);
 * // ssl_certificate files.serverCert; ssl_client_certificate files.caBundle;
 */
export async function writePkiFiles(dir: string, pki: TestPki, server?: IssuedCertificate): Promise<PkiFiles> {
  await mkdir(dir, { recursive: true });
  const serverCertificate = server ?? (await pki.issueServerCertificate({ hostnames: ['localhost', '127.0.0.1'] }));
  const files: PkiFiles = {
    caBundle: join(dir, 'ca-bundle.pem'),
    rootCa: join(dir, 'root-ca.pem'),
    issuingCa: join(dir, 'issuing-ca.pem'),
    serverCert: join(dir, 'server.crt'),
    serverKey: join(dir, 'server.key'),
  };
  await Promise.all([
    writeFile(files.caBundle, pki.caBundlePem),
    writeFile(files.rootCa, pki.root.certPem),
    writeFile(files.issuingCa, pki.issuing.certPem),
    writeFile(files.serverCert, serverCertificate.chainPem),
    writeFile(files.serverKey, serverCertificate.keyPem, { mode: 0o600 }),
  ]);
  return files;
}
