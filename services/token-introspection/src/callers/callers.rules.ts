// Pure rules for authenticating the caller of POST /introspect (RFC 7662 §2.1: the endpoint
// requires client authentication) and deciding whether it may introspect at all.
import { createHash } from 'node:crypto';
import { distinguishedNamesEqual } from '@obip/fapi';
import type { JSONWebKeySet } from 'jose';

/** RFC 7523 §2.2: the only client_assertion_type accepted. */
export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export type CallerAuthMethod = 'private_key_jwt' | 'tls_client_auth' | 'self_signed_tls_client_auth';

/** A client as dcr-service registered it, reduced to what caller authentication needs. */
export interface RegisteredCaller {
  clientId: string;
  /** Only an active client may authenticate (suspended and pending ones may not). */
  active: boolean;
  /** The RFC 7591 metadata as registered. */
  metadata: Record<string, unknown>;
  /** The key set registered by value, or resolved by dcr-service from the jwks_uri. */
  jwks?: JSONWebKeySet;
  /** RFC 7591 jwks_uri, fetched when no key set came with the client. */
  jwksUri?: string;
  /** RFC 8705 §2.1.2 tls_client_auth_subject_dn. */
  tlsClientAuthSubjectDn?: string;
}

/** The client certificate the edge verified and forwarded. */
export interface PresentedCertificate {
  /** RFC 4514 subject DN. */
  subjectDn: string;
  /** RFC 8705 §3.1 x5t#S256 of the certificate. */
  thumbprintS256: string;
}

/** What the caller sent to authenticate itself. */
export interface CallerCredentials {
  clientId?: string;
  clientAssertionType?: string;
  clientAssertion?: string;
  certificate?: PresentedCertificate;
}

/**
 * RFC 7523 §2.2 and RFC 8705 §2: a request carrying a client assertion authenticates with
 * private_key_jwt; one carrying only `client_id` authenticates with its certificate (which mTLS
 * method is the client's registration's choice). Undefined: no authentication was attempted.
 */
export function attemptedAuthMethod(credentials: CallerCredentials): 'private_key_jwt' | 'mutual_tls' | undefined {
  if (credentials.clientAssertion !== undefined || credentials.clientAssertionType !== undefined)
    return 'private_key_jwt';
  if (credentials.clientId !== undefined) return 'mutual_tls';
  return undefined;
}

/**
 * The method the client registered for this endpoint: `introspection_endpoint_auth_method` when
 * set (RFC 8414 §2 names the endpoint's methods; the client metadata follows oidc-provider's
 * name), else `token_endpoint_auth_method` (RFC 7591 §2). A client authenticates only the way
 * it registered, so a tls_client_auth client cannot slip in with a self-signed certificate.
 */
export function registeredAuthMethod(caller: RegisteredCaller): CallerAuthMethod | undefined {
  const method = caller.metadata.introspection_endpoint_auth_method ?? caller.metadata.token_endpoint_auth_method;
  return method === 'private_key_jwt' || method === 'tls_client_auth' || method === 'self_signed_tls_client_auth'
    ? method
    : undefined;
}

/**
 * Issue 6: only resource servers introspect, named by the RESOURCE_SERVER_CLIENT_IDS setting or
 * flagged `obip_resource_server: true` in their metadata (set through config-api).
 */
export function isResourceServer(caller: RegisteredCaller, allowedClientIds: ReadonlySet<string>): boolean {
  return allowedClientIds.has(caller.clientId) || caller.metadata.obip_resource_server === true;
}

/**
 * RFC 8705 §2.1.2: with tls_client_auth the certificate's subject DN must equal the registered
 * tls_client_auth_subject_dn under the DN matching rule (case, spacing and RDN order forgiven).
 */
export function hasRegisteredSubjectDn(caller: RegisteredCaller, certificate: PresentedCertificate): boolean {
  if (!caller.tlsClientAuthSubjectDn) return false;
  try {
    return distinguishedNamesEqual(certificate.subjectDn, caller.tlsClientAuthSubjectDn, { orderInsensitive: true });
  } catch {
    return false; // a malformed registered DN matches nothing
  }
}

/**
 * RFC 8705 §2.2.2: with self_signed_tls_client_auth the certificate must be one the client
 * registered in its key set: the leaf of a JWK's `x5c`, or a JWK's `x5t#S256`.
 */
export function isCertificateInKeySet(jwks: JSONWebKeySet | undefined, certificate: PresentedCertificate): boolean {
  for (const key of jwks?.keys ?? []) {
    if (key['x5t#S256'] === certificate.thumbprintS256) return true;
    const leaf = key.x5c?.[0];
    if (typeof leaf === 'string' && thumbprintOfBase64Der(leaf) === certificate.thumbprintS256) return true;
  }
  return false;
}

function thumbprintOfBase64Der(der: string): string {
  return createHash('sha256').update(Buffer.from(der, 'base64')).digest('base64url');
}
