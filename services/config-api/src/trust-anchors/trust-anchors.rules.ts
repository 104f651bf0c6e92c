import { X509Certificate } from 'node:crypto';
import { BadRequestError } from '@obip/errors';

/** A CA certificate admitted as a trust anchor for TPP transport certificates. */
export interface ParsedTrustAnchor {
  /** SHA-256 of the DER, lowercase hex without separators. */
  fingerprint: string;
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  /** Normalised PEM (one certificate, LF line endings). */
  pem: string;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

function invalid(description: string, cause?: unknown) {
  return new BadRequestError(description, { code: 'invalid_certificate', cause });
}

/**
 * Admits one PEM certificate as a trust anchor: exactly one certificate, parseable, a CA
 * (basicConstraints cA=TRUE, RFC 5280 §4.2.1.9: only then may it sign certificates), and
 * currently valid. Anything else is refused naming the reason.
 *
 * @example
 * const anchor = parseTrustAnchor(readFileSync('ob-issuing-ca.pem', 'utf8'), new Date());
 */
export function parseTrustAnchor(pem: string, now: Date): ParsedTrustAnchor {
  const blocks = pem.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) throw invalid('pem must hold a PEM certificate (-----BEGIN CERTIFICATE-----)');
  if (blocks.length > 1) throw invalid('pem must hold exactly one certificate; upload each CA on its own');
  if (pem.replace(PEM_BLOCK, '').trim() !== '') throw invalid('pem must hold nothing but the certificate');

  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(blocks[0]!);
  } catch (cause) {
    throw invalid('the certificate could not be parsed', cause);
  }
  if (!certificate.ca) {
    throw invalid('the certificate is not a CA certificate (basicConstraints cA is not TRUE)');
  }
  const notBefore = new Date(certificate.validFrom);
  const notAfter = new Date(certificate.validTo);
  if (notAfter.getTime() <= now.getTime()) throw invalid(`the certificate expired on ${notAfter.toISOString()}`);
  if (notBefore.getTime() > now.getTime()) {
    throw invalid(`the certificate is not valid before ${notBefore.toISOString()}`);
  }
  return {
    fingerprint: certificate.fingerprint256.replace(/:/g, '').toLowerCase(),
    subject: certificate.subject.replace(/\n/g, ', '),
    issuer: certificate.issuer.replace(/\n/g, ', '),
    notBefore,
    notAfter,
    pem: certificate.toString(),
  };
}

/** True when the anchor expires within `warningDays` of `now` (or has expired). */
export function isExpiring(anchor: { notAfter: Date }, now: Date, warningDays: number): boolean {
  return anchor.notAfter.getTime() - now.getTime() <= warningDays * 86_400_000;
}

/** The CA bundle the ingress verifies client certificates with (`ca.crt`): every anchor, oldest first. */
export function caBundleOf(anchors: readonly { pem: string }[]): string {
  return anchors.map((anchor) => anchor.pem.trim() + '\n').join('');
}
