import { X509Certificate, webcrypto } from 'node:crypto';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

export interface SelfSignedCertificate {
  der: Buffer;
  /** PEM as OpenSSL writes it: 64-character lines and a final newline. */
  pem: string;
  certificate: X509Certificate;
}

/** A distinguished name in ASN.1 order, as @peculiar/x509's JSON form: `[{ C: ['GB'] }, { CN: ['tpp'], UID: ['1'] }]`. */
export type CertificateName = x509.JsonName;

/**
 * A self-signed EC P-256 certificate whose subject (and issuer) is exactly `name`, for tests of
 * parsers and comparisons that need awkward subjects (escapes, multi-valued RDNs, rare OIDs).
 * Use `createTestPki` for certificates that must chain to a CA.
 */
export async function mintSelfSignedCertificate(name: CertificateName): Promise<SelfSignedCertificate> {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const generated = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    keys,
    signingAlgorithm: algorithm,
  });
  const der = Buffer.from(generated.rawData);
  return { der, pem: derToPem(der), certificate: new X509Certificate(der) };
}

export function derToPem(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}
