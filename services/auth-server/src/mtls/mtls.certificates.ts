import type { IncomingMessage } from 'node:http';
import type { KoaContextWithOidc } from 'oidc-provider';
import { distinguishedNamesEqual } from '@obip/fapi';
import type { ClientCertificate, ClientCertificateReader } from '@obip/http';
import type { RequestHandler } from 'express';

/**
 * The client certificate of each request, read once from the edge header before the engine runs
 * and handed to the engine's `features.mTLS` helpers (node-oidc-provider does no header parsing).
 */
export interface MtlsHooks {
  /**
   * Express middleware: reads the forwarded certificate. A header that cannot be trusted
   * (repeated, not from the edge, not verified, not one certificate) ends the request with 401
   * invalid_client through the error handler; no certificate is fine here, the engine decides
   * whether the endpoint needs one.
   */
  capture: RequestHandler;
  /** The certificate `capture` accepted for a request, if any (e.g. for the rate limiter's key). */
  certificateOf(req: IncomingMessage): ClientCertificate | undefined;
  /** The engine's `features.mTLS` helpers. */
  engineFeature: {
    getCertificate(ctx: KoaContextWithOidc): ClientCertificate['certificate'] | undefined;
    certificateAuthorized(ctx: KoaContextWithOidc): boolean;
    certificateSubjectMatches(ctx: KoaContextWithOidc, property: string, expected: string): boolean;
  };
}

/**
 * Wires the edge's client certificate into the engine.
 *
 * - `getCertificate`: the verified leaf, for tls_client_auth, self_signed_tls_client_auth and
 *   certificate-bound tokens (the engine computes `x5t#S256` from it, RFC 8705 §3.1).
 * - `certificateAuthorized`: true when a certificate is present, because the reader accepts one
 *   only with the edge's verification status exactly SUCCESS (the chain was verified against
 *   the trusted CA bundle there). self_signed_tls_client_auth needs no CA: the engine matches
 *   the certificate to the client's registered JWKS (`x5t#S256`); the edge must then forward
 *   certificates it did not chain (`optional_no_ca`, reader `requireVerified: false`).
 * - `certificateSubjectMatches`: RFC 8705 §2.1.2, the registered subject DN compared with RFC
 *   4517 distinguishedNameMatch (normalised), or one of the registered SAN values.
 *
 * @example
 * const mtls = createMtlsHooks(createClientCertificateReader({ format: 'nginx' }));
 * app.use(mtls.capture);
 * new Provider(issuer, { features: { mTLS: { enabled: true, ...mtls.engineFeature } } });
 */
export function createMtlsHooks(readCertificate: ClientCertificateReader): MtlsHooks {
  const presented = new WeakMap<IncomingMessage, ClientCertificate>();
  const certificateOf = (ctx: KoaContextWithOidc) => presented.get(ctx.req);

  return {
    capture(req, _res, next) {
      try {
        const certificate = readCertificate(req);
        if (certificate) presented.set(req, certificate);
        next();
      } catch (error) {
        next(error);
      }
    },
    certificateOf: (req) => presented.get(req),
    engineFeature: {
      getCertificate: (ctx) => certificateOf(ctx)?.certificate,
      certificateAuthorized: (ctx) => certificateOf(ctx) !== undefined,
      certificateSubjectMatches(ctx, property, expected) {
        const presentedCertificate = certificateOf(ctx);
        if (!presentedCertificate) return false;
        if (property === 'tls_client_auth_subject_dn') {
          try {
            return distinguishedNamesEqual(presentedCertificate.subjectDn, expected);
          } catch {
            return false; // a registered DN that does not parse matches nothing
          }
        }
        const sanType = SAN_PROPERTIES[property];
        return (
          sanType !== undefined &&
          subjectAltNames(presentedCertificate).some(
            ([type, value]) => type === sanType && sanValueMatches(type, value, expected),
          )
        );
      },
    },
  };
}

/** RFC 8705 §2.1.2 metadata → the SAN entry type Node prints. */
const SAN_PROPERTIES: Record<string, string> = {
  tls_client_auth_san_dns: 'DNS',
  tls_client_auth_san_uri: 'URI',
  tls_client_auth_san_ip: 'IP Address',
  tls_client_auth_san_email: 'email',
};

function sanValueMatches(type: string, actual: string, expected: string): boolean {
  // DNS names and e-mail domains compare case-insensitively; URIs and IPs exactly.
  if (type === 'DNS') return actual.toLowerCase() === expected.toLowerCase();
  if (type === 'email') {
    const [local, domain] = [actual.slice(0, actual.lastIndexOf('@')), actual.slice(actual.lastIndexOf('@') + 1)];
    const at = expected.lastIndexOf('@');
    return local === expected.slice(0, at) && domain.toLowerCase() === expected.slice(at + 1).toLowerCase();
  }
  return actual === expected;
}

/**
 * The subjectAltName entries of a certificate as [type, value] pairs. Node prints them as
 * `DNS:a, IP Address:1.2.3.4, URI:"x,y"`, quoting (JSON-style) a value that holds a comma or quote.
 */
function subjectAltNames(certificate: ClientCertificate): Array<[string, string]> {
  const text = certificate.certificate.subjectAltName;
  if (!text) return [];
  const entries: Array<[string, string]> = [];
  const pattern = /\s*([^:,]+):("(?:[^"\\]|\\.)*"|[^,]*)\s*(?:,|$)/gy;
  for (let match = pattern.exec(text); match && match[0] !== ''; match = pattern.exec(text)) {
    const raw = match[2] ?? '';
    entries.push([match[1]!.trim(), raw.startsWith('"') ? (JSON.parse(raw) as string) : raw]);
  }
  return entries;
}
