// The tokens and the caller every target of the introspection benchmark is measured with: the
// same mix of consent-bound (authorization_code) and client_credentials access tokens, all
// certificate-bound as FAPI requires, and one bank gateway calling with its client certificate
// forwarded by the edge the way ingress-nginx does.
import { randomBytes } from 'node:crypto';
import type { TokenRecord } from '@obip/token-store';

export const ISSUER = 'https://as.bank.bench';
export const RESOURCE = 'https://api.bank.bench';
/** The token's owner (a TPP) and the caller (a bank API gateway, a resource server). */
export const TPP_CLIENT_ID = 'tpp-bench';
export const GATEWAY_CLIENT_ID = 'gateway-bench';
/** Consent-bound tokens share this many consents (consent statuses are cached per consent). */
export const CONSENT_COUNT = 16;
export const consentIdOf = (index: number) => `urn:obip:consent:bench-${index % CONSENT_COUNT}`;

export type TokenKind = 'consent_bound' | 'client_credentials';

/** Half consent-bound, half client_credentials, interleaved: `kindOf(i)` for the i-th token. */
export const kindOf = (index: number): TokenKind => (index % 2 === 0 ? 'consent_bound' : 'client_credentials');

export function newOpaqueToken(): string {
  return randomBytes(32).toString('base64url');
}

/** The record auth-server writes for the i-th token (libs/token-store format). */
export function benchTokenRecord(index: number, tppCertificateThumbprint: string, nowSeconds: number): TokenRecord {
  const common = {
    v: 1 as const,
    tokenType: 'access_token' as const,
    clientId: TPP_CLIENT_ID,
    issuer: ISSUER,
    audience: [RESOURCE],
    issuedAt: nowSeconds - 5,
    expiresAt: nowSeconds + 3600,
    cnf: { 'x5t#S256': tppCertificateThumbprint },
  };
  if (kindOf(index) === 'client_credentials')
    return { ...common, grantType: 'client_credentials', scope: 'accounts payments' };
  const consentId = consentIdOf(index);
  return {
    ...common,
    grantType: 'authorization_code',
    subject: `customer-${index}`,
    scope: 'openid accounts',
    grantId: `grant-${index}`,
    consentId,
    openbankingIntentId: consentId,
    acr: 'urn:openbanking:psd2:sca',
  };
}

/** The form a gateway posts (RFC 7662 §2.1), authenticating with tls_client_auth. */
export function introspectionForm(token: string): string {
  return new URLSearchParams({ token, token_type_hint: 'access_token', client_id: GATEWAY_CLIENT_ID }).toString();
}
