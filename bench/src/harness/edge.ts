// What the edge (ingress-nginx) forwards with each request from a client holding a certificate,
// and what services derive from it: every scenario's callers present theirs this way.
import { X509Certificate } from 'node:crypto';
import { certificateThumbprintS256, subjectDnOf } from '@obip/fapi';

/** A caller's certificate as the edge forwards it, and what services derive from it. */
export interface CallerCertificate {
  headers: Record<string, string>;
  subjectDn: string;
  thumbprint: string;
}

/** ingress-nginx: `ssl-client-cert` (URL-encoded PEM) with `ssl-client-verify: SUCCESS`. */
export function nginxCallerCertificate(certPem: string): CallerCertificate {
  const certificate = new X509Certificate(certPem);
  return {
    headers: { 'ssl-client-cert': encodeURIComponent(certPem), 'ssl-client-verify': 'SUCCESS' },
    subjectDn: subjectDnOf(certificate),
    thumbprint: certificateThumbprintS256(certificate),
  };
}
