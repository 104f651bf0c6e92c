// The rules that decide whether a stored token is active for the one asking, and what an active
// answer says. Pure functions: the use case feeds them the token record and the consent status.
import type { TokenRecord } from '@obip/token-store';

/** What the resource server saw of the presenter (gRPC callers only; RFC 7662 HTTP has no such parameters). */
export interface Presentation {
  /** RFC 8705 §3.1: base64url SHA-256 thumbprint of the client certificate the presenter used. */
  certificateThumbprint?: string;
  /** RFC 9449 §6.1: JWK thumbprint of the key that signed the presenter's (verified) DPoP proof. */
  dpopJkt?: string;
}

/** consent-service's lifecycle states (OBIE names). Only `Authorised` lets a token be active. */
export type ConsentStatus =
  'AwaitingAuthorisation' | 'Authorised' | 'Rejected' | 'Revoked' | 'Consumed' | 'Expired' | 'Unrecognised';

/** The small view of a consent that token checks need. */
export interface ConsentState {
  status: ConsentStatus;
  /** The client that created the consent. */
  clientId: string;
  /** Unix seconds; undefined when the consent does not expire. */
  expiresAt?: number;
}

/** Why a token is inactive: recorded in the metrics, never shown to the caller (RFC 7662 §2.2). */
export type InactiveReason =
  | 'not_found'
  | 'expired'
  | 'binding_mismatch'
  | 'consent_not_found'
  | 'consent_not_authorised'
  | 'consent_expired'
  | 'consent_client_mismatch';

/** RFC 7662 §2.2 members of an active answer, in the order they are written. */
export interface ActiveIntrospection {
  active: true;
  scope?: string;
  client_id: string;
  sub?: string;
  exp: number;
  iat: number;
  iss: string;
  aud?: string[];
  /** RFC 6749 §5.1 access token type; a refresh token has none. */
  token_type?: 'Bearer' | 'DPoP';
  cnf?: { 'x5t#S256'?: string; jkt?: string };
  consent_id?: string;
  openbanking_intent_id?: string;
  authorization_details?: unknown[];
  acr?: string;
  /** obip: which verified identity claims (OIDC4IDA) the customer released to the client, per trust framework; never values. */
  verified_claims_released?: Array<{ trust_framework: string; claims: string[] }>;
}

/** RFC 7662 §2.2: an inactive token is answered with `active` alone, whatever made it so. */
export interface InactiveIntrospection {
  active: false;
}

export type IntrospectionResponse = ActiveIntrospection | InactiveIntrospection;

export const INACTIVE: InactiveIntrospection = Object.freeze({ active: false });

/**
 * RFC 8705 §3 and RFC 9449 §7: a sender-constrained token is active only for its holder. When the
 * caller says how the token was presented (a certificate thumbprint, a DPoP key thumbprint or
 * both), every confirmation the token carries must be matched by what was presented: a
 * certificate-bound token presented without that certificate, or a DPoP-bound token presented
 * without a proof by that key, is a mismatch. Without any presentation the caller checks `cnf`
 * itself.
 */
export function isPresentedByHolder(record: TokenRecord, presentation: Presentation | undefined): boolean {
  if (!presentation || (!presentation.certificateThumbprint && !presentation.dpopJkt)) return true;
  const cnf = record.cnf;
  if (!cnf) return true;
  if (cnf['x5t#S256'] !== undefined && cnf['x5t#S256'] !== presentation.certificateThumbprint) return false;
  if (cnf.jkt !== undefined && cnf.jkt !== presentation.dpopJkt) return false;
  return true;
}

/**
 * Issue 6: a token bound to a consent is active only while the consent is Authorised, has not
 * expired, and belongs to the client the token was issued to (consents.v1 GetConsentStatus
 * returns the owner so that a token of another client is refused).
 */
export function consentRefusal(
  record: TokenRecord,
  consent: ConsentState | undefined,
  nowSeconds: number,
): InactiveReason | undefined {
  if (!consent) return 'consent_not_found';
  if (consent.status !== 'Authorised') return 'consent_not_authorised';
  if (consent.expiresAt !== undefined && consent.expiresAt <= nowSeconds) return 'consent_expired';
  if (consent.clientId !== record.clientId) return 'consent_client_mismatch';
  return undefined;
}

/**
 * The RFC 7662 §2.2 answer for an active token, with the members obip adds for Open Banking
 * (`consent_id`, `openbanking_intent_id`, RFC 9396 `authorization_details`, `acr`, and
 * `verified_claims_released`: the names, never the values, of identity data released). Members a
 * token does not have are left out rather than sent empty.
 */
export function toActiveIntrospection(record: TokenRecord): ActiveIntrospection {
  // Built member by member (no `delete`), so the object keeps one shape and serialises fast.
  const response = { active: true } as ActiveIntrospection;
  if (record.scope !== '') response.scope = record.scope;
  response.client_id = record.clientId;
  if (record.subject !== undefined) response.sub = record.subject;
  response.exp = record.expiresAt;
  response.iat = record.issuedAt;
  response.iss = record.issuer;
  if (record.audience.length > 0) response.aud = record.audience;
  const tokenType = tokenTypeOf(record);
  if (tokenType) response.token_type = tokenType;
  const cnf = confirmationOf(record);
  if (cnf) response.cnf = cnf;
  if (record.consentId !== undefined) response.consent_id = record.consentId;
  if (record.openbankingIntentId !== undefined) response.openbanking_intent_id = record.openbankingIntentId;
  if (record.authorizationDetails !== undefined) response.authorization_details = record.authorizationDetails;
  if (record.acr !== undefined) response.acr = record.acr;
  if (record.identityRelease !== undefined) {
    response.verified_claims_released = record.identityRelease.map(({ trustFramework, claims }) => ({
      trust_framework: trustFramework,
      claims,
    }));
  }
  return response;
}

/** RFC 9449 §7.1: a DPoP-bound access token has token_type DPoP; refresh tokens have no access token type. */
function tokenTypeOf(record: TokenRecord): ActiveIntrospection['token_type'] {
  if (record.tokenType !== 'access_token') return undefined;
  return record.cnf?.jkt ? 'DPoP' : 'Bearer';
}

function confirmationOf(record: TokenRecord): ActiveIntrospection['cnf'] {
  const cnf = record.cnf;
  if (!cnf || (cnf['x5t#S256'] === undefined && cnf.jkt === undefined)) return undefined;
  return {
    ...(cnf['x5t#S256'] === undefined ? {} : { 'x5t#S256': cnf['x5t#S256'] }),
    ...(cnf.jkt === undefined ? {} : { jkt: cnf.jkt }),
  };
}
