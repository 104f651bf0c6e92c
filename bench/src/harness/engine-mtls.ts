// node-oidc-provider's `features.mTLS` helpers for a bare engine baseline, fed from the edge's
// certificate header by the same reader obip uses (@obip/http createClientCertificateReader) and
// compared with the same DN rule (@obip/fapi), so an engine does the same certificate work per
// request as obip: RFC 8705 tls_client_auth and certificate-bound tokens (`cnf.x5t#S256`).
import type { IncomingMessage } from 'node:http';
import type { KoaContextWithOidc } from 'oidc-provider';
import { distinguishedNamesEqual } from '@obip/fapi';
import { createClientCertificateReader, type ClientCertificate } from '@obip/http';

export function engineMtlsFromEdge() {
  const readCertificate = createClientCertificateReader({ format: 'nginx' });
  const presented = new WeakMap<IncomingMessage, ClientCertificate | null>();
  const certificateOf = (ctx: KoaContextWithOidc): ClientCertificate | undefined => {
    let certificate = presented.get(ctx.req);
    if (certificate === undefined) {
      try {
        certificate = readCertificate(ctx.req) ?? null;
      } catch {
        certificate = null;
      }
      presented.set(ctx.req, certificate);
    }
    return certificate ?? undefined;
  };
  return {
    getCertificate: (ctx: KoaContextWithOidc) => certificateOf(ctx)?.certificate,
    certificateAuthorized: (ctx: KoaContextWithOidc) => certificateOf(ctx) !== undefined,
    certificateSubjectMatches(ctx: KoaContextWithOidc, property: string, expected: string) {
      const certificate = certificateOf(ctx);
      if (!certificate || property !== 'tls_client_auth_subject_dn') return false;
      try {
        return distinguishedNamesEqual(certificate.subjectDn, expected, { orderInsensitive: true });
      } catch {
        return false;
      }
    },
  };
}
