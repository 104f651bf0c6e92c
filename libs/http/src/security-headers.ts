import type { IncomingMessage, ServerResponse } from 'node:http';

/** No content of any kind, and no framing: right for JSON APIs (OWASP Secure Headers). */
export const DEFAULT_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'";

/** One year, subdomains included (RFC 6797 §6.1). The edge may set its own; ours matches. */
export const DEFAULT_STRICT_TRANSPORT_SECURITY = 'max-age=31536000; includeSubDomains';

export interface SecurityHeaderOptions {
  /** `Strict-Transport-Security` value, or false to leave it to the edge. */
  strictTransportSecurity?: string | false;
  /** Default `Content-Security-Policy`; a router serving HTML overrides it with `contentSecurityPolicy`. */
  contentSecurityPolicy?: string;
}

type Middleware = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

/**
 * Sets the security headers every response carries. A handler may still override any of them
 * (e.g. `Cache-Control` on discovery and JWKS), since they are set before routing.
 *
 * - `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`, `X-Frame-Options: DENY`
 * - `Strict-Transport-Security` (TLS ends at the ingress; browsers still need to hear it)
 * - `Cache-Control: no-store`: API responses carry tokens and personal data (RFC 6749 §5.1)
 * - `Content-Security-Policy`: `default-src 'none'; frame-ancestors 'none'` unless overridden
 *
 * @example
 * app.use(securityHeaders({ strictTransportSecurity: false }));
 */
export function securityHeaders(options: SecurityHeaderOptions = {}): Middleware {
  const headers: Array<[string, string]> = [
    ['X-Content-Type-Options', 'nosniff'],
    ['Referrer-Policy', 'no-referrer'],
    ['X-Frame-Options', 'DENY'],
    ['Cache-Control', 'no-store'],
    ['Content-Security-Policy', checkedHeaderValue(options.contentSecurityPolicy ?? DEFAULT_CONTENT_SECURITY_POLICY)],
  ];
  const hsts = options.strictTransportSecurity ?? DEFAULT_STRICT_TRANSPORT_SECURITY;
  if (hsts !== false) headers.push(['Strict-Transport-Security', checkedHeaderValue(hsts)]);
  return function setSecurityHeaders(_req, res, next) {
    for (const [name, value] of headers) res.setHeader(name, value);
    next();
  };
}

/**
 * Replaces the Content-Security-Policy for the routes after it, e.g. a router serving login
 * and consent pages.
 *
 * @example
 * interactions.use(contentSecurityPolicy("default-src 'self'; frame-ancestors 'none'; form-action 'self'"));
 */
export function contentSecurityPolicy(policy: string): Middleware {
  const value = checkedHeaderValue(policy);
  return function setContentSecurityPolicy(_req, res, next) {
    res.setHeader('Content-Security-Policy', value);
    next();
  };
}

function checkedHeaderValue(value: string): string {
  if (!/^[\t\x20-\x7e]+$/.test(value)) throw new TypeError(`invalid security header value: ${JSON.stringify(value)}`);
  return value;
}
