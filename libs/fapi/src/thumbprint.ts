import { createHash, X509Certificate } from 'node:crypto';

/**
 * The certificate thumbprint that binds a token to a client certificate: base64url of the
 * SHA-256 of the DER encoding (RFC 8705 §3.1, confirmation method `x5t#S256`).
 *
 * @example
 * const cnf = { 'x5t#S256': certificateThumbprintS256(clientCertificate.certificate) };
 */
export function certificateThumbprintS256(certificate: Uint8Array | X509Certificate): string {
  const der = certificate instanceof X509Certificate ? certificate.raw : certificate;
  return createHash('sha256').update(der).digest('base64url');
}
