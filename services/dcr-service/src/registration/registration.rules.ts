/**
 * The registration rules of OBIE Dynamic Client Registration 3.3 (with RFC 7591 and FAPI), one
 * named function per rule so that a failure names the rule. Rules are numbered as in issue 3.
 *
 * Everything here is synchronous and free of I/O except the two signature checks, which reach
 * key sets only through the {@link KeyResolver} port. The order the service applies them in is
 * in `registration.service.ts`.
 */
import type { X509Certificate } from 'node:crypto';
import {
  compactVerify,
  decodeJwt,
  decodeProtectedHeader,
  errors as joseErrors,
  type CryptoKey,
  type JWSHeaderParameters,
} from 'jose';
import { DependencyUnavailableError, DomainError } from '@obip/errors';
import { parseDistinguishedName, distinguishedNamesEqual } from '@obip/fapi';
import { isAdminApiScope } from '@obip/platform-config';
import { JwksFetchError } from '../jwks/jwks.errors';
import { ClientCertificateError, ManagementForbiddenError, RegistrationError } from './registration.errors';

// ---- types ----

/** The transport certificate the edge forwarded (see `@obip/http` ClientCertificate). */
export interface PresentedCertificate {
  certificate: X509Certificate;
  subjectDn: string;
  thumbprintS256: string;
}

/** A trusted software-statement issuer (DCR_TRUSTED_DIRECTORIES, or an active directory config-api publishes). */
export interface TrustedDirectory {
  issuer: string;
  jwksUri: string;
  environment: 'sandbox' | 'production';
}

/**
 * Whom the rules trust: the directories that issue software statements and the CAs of transport
 * certificates. Unlike {@link RegistrationPolicy} it may change while the service runs (config-api
 * publishes it), so a request reads it once, when it starts.
 */
export interface RegistrationTrust {
  directories: readonly TrustedDirectory[];
  /** Empty: the edge's verification of the chain stands alone. */
  trustedCas: readonly X509Certificate[];
}

/** The policy the rules apply, built from settings once. */
export interface RegistrationPolicy {
  signingAlgs: readonly string[];
  acceptedAudiences: readonly string[];
  clockSkewSeconds: number;
  requestMaxAgeSeconds: number;
  ssaMaxAgeSeconds: number;
  authMethods: readonly string[];
  applicationTypes: readonly string[];
  scopesByRole: Readonly<Record<string, readonly string[]>>;
  allowLoopbackRedirectUris: boolean;
  certificateBinding: 'require' | 'warn' | 'off';
}

/** Claims of a JWT body, untrusted until the rules have passed. */
export type Claims = Record<string, unknown>;

/** The software statement claims the rules rely on, after rule 4. */
export interface SoftwareStatement extends Claims {
  iss: string;
  iat: number;
  jti?: string;
  software_id: string;
  org_id: string;
  org_status: string;
  software_jwks_endpoint: string;
  software_redirect_uris: string[];
  software_roles: string[];
  software_client_name?: string;
  software_environment?: string;
}

/**
 * Finds the verification key for a JWS: the key set at `jwksUri`, refreshed when `kid` is
 * unknown. `trusted` marks a URI from our own settings (a directory), which the SSRF rules of
 * TPP-supplied URIs do not apply to.
 */
export interface KeyResolver {
  keyFor(jwksUri: string, header: JWSHeaderParameters, options: { trusted: boolean }): Promise<CryptoKey | Uint8Array>;
}

// ---- shared helpers ----

const EMBEDDED_KEY_HEADERS = ['jwk', 'x5c', 'x5u', 'jku'] as const;

function isString(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((entry) => typeof entry === 'string');
}

function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0;
}

function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return JSON.stringify(text && text.length > 80 ? `${text.slice(0, 77)}...` : text);
}

function metadataError(rule: string, detail: string, cause?: unknown): RegistrationError {
  return new RegistrationError('invalid_client_metadata', rule, detail, cause);
}

function ssaError(rule: string, detail: string, cause?: unknown): RegistrationError {
  return new RegistrationError('invalid_software_statement', rule, detail, cause);
}

function unapproved(rule: string, detail: string): RegistrationError {
  return new RegistrationError('unapproved_software_statement', rule, detail);
}

/** First value of an attribute (by OID) in a DN, or undefined. */
function attributeOf(dn: string, oid: string): string | undefined {
  for (const rdn of parseDistinguishedName(dn)) {
    for (const ava of rdn) if (ava.oid === oid) return ava.value;
  }
  return undefined;
}

const OID_CN = '2.5.4.3';
const OID_OU = '2.5.4.11';

// ---- rule 1: client certificate ----

/**
 * Rule 1a. OBIE DCR "Authentication": registration requires a mutual-TLS transport certificate.
 * Missing → 401 `invalid_client`.
 */
export function requireClientCertificate(certificate: PresentedCertificate | undefined): PresentedCertificate {
  if (!certificate) throw new ClientCertificateError('a client (transport) certificate is required');
  return certificate;
}

/**
 * Rule 1b. The leaf must be within its validity period and issued (signature checked) by one of
 * the trusted CAs. The edge verifies the full chain at the TLS layer; this re-check guards
 * against a misconfigured edge. With no CAs configured the edge's verification stands alone.
 */
export function checkCertificateChain(
  presented: PresentedCertificate,
  trustedCas: readonly X509Certificate[],
  now: Date,
): void {
  if (trustedCas.length === 0) return;
  const leaf = presented.certificate;
  if (now < new Date(leaf.validFrom) || now > new Date(leaf.validTo)) {
    throw new ClientCertificateError('the certificate is outside its validity period');
  }
  const issuer = trustedCas.find((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey));
  if (!issuer) throw new ClientCertificateError('the certificate was not issued by a trusted CA');
}

/**
 * Rule 1c. OB Directory "Request Validation": a directory-issued transport certificate names
 * its software (CN = software_id) and organisation (OU = org_id); they must be the SSA's.
 * Certificates without both (eIDAS QWACs) are not directory-issued and are not compared.
 * Returns a warning instead of throwing when the policy is `warn`.
 */
export function checkCertificateBinding(
  presented: PresentedCertificate,
  ssa: Pick<SoftwareStatement, 'software_id' | 'org_id'>,
  mode: RegistrationPolicy['certificateBinding'],
): string | undefined {
  if (mode === 'off') return undefined;
  const commonName = attributeOf(presented.subjectDn, OID_CN);
  const unit = attributeOf(presented.subjectDn, OID_OU);
  if (commonName === undefined || unit === undefined) return undefined;
  if (commonName === ssa.software_id && unit === ssa.org_id) return undefined;
  const detail = 'the transport certificate (CN, OU) does not name the software statement (software_id, org_id)';
  if (mode === 'warn') return detail;
  throw ssaError('rule 1 certificate binding', detail);
}

// ---- rule 2: outer JWS ----

/** The protected header of a compact JWS, or a rule-2 error when it cannot be read. */
export function decodeRequestHeader(jws: string): JWSHeaderParameters {
  try {
    return decodeProtectedHeader(jws) as JWSHeaderParameters;
  } catch (cause) {
    throw metadataError('rule 2 request JWS', 'the request is not a readable compact JWS', cause);
  }
}

/**
 * Rule 2a. FAPI 1.0 Advanced §8.6: PS256 or ES256 (EdDSA where configured); never `none`,
 * HS* or RS256. OBIE DCR "Of JWS & JWKS": keys are never taken from the JWS itself
 * (`jwk`, `x5c`, `x5u`, `jku`).
 */
export function checkRequestHeader(header: JWSHeaderParameters, signingAlgs: readonly string[]): void {
  checkJwsHeader(header, signingAlgs, (detail) => metadataError('rule 2 request JWS', detail));
}

function checkJwsHeader(
  header: JWSHeaderParameters,
  signingAlgs: readonly string[],
  fail: (detail: string) => RegistrationError,
): void {
  if (typeof header.alg !== 'string' || !signingAlgs.includes(header.alg)) {
    throw fail(`alg ${quote(header.alg)} is not allowed; use ${signingAlgs.join(' or ')}`);
  }
  for (const name of EMBEDDED_KEY_HEADERS) {
    if (name in header) throw fail(`the ${name} header is not allowed: keys are never taken from the JWS`);
  }
  if (header.kid !== undefined && typeof header.kid !== 'string') throw fail('kid must be a string');
}

/**
 * Rule 2b. The request is signed by the TPP with a key from the SSA's
 * `software_jwks_endpoint` (OB Directory: holder-of-key proof that the presenter is the SSA's
 * intended recipient). Returns the verified claims.
 */
export async function verifyRequestSignature(
  jws: string,
  ssa: Pick<SoftwareStatement, 'software_jwks_endpoint'>,
  keys: KeyResolver,
  signingAlgs: readonly string[],
): Promise<Claims> {
  return verifyJws(jws, ssa.software_jwks_endpoint, keys, signingAlgs, false, (detail, cause) =>
    metadataError('rule 2 request signature', detail, cause),
  );
}

async function verifyJws(
  jws: string,
  jwksUri: string,
  keys: KeyResolver,
  signingAlgs: readonly string[],
  trusted: boolean,
  fail: (detail: string, cause?: unknown) => Error,
): Promise<Claims> {
  let payload: Uint8Array;
  try {
    ({ payload } = await compactVerify(jws, (header) => keys.keyFor(jwksUri, header, { trusted }), {
      algorithms: [...signingAlgs],
    }));
  } catch (cause) {
    // A TPP's key set that could not be fetched is the TPP's problem to report (a 400 naming the
    // rule). The trusted directory's key set not answering is an outage of a dependency: 503,
    // so the TPP retries instead of being told its software statement is bad.
    if (cause instanceof RegistrationError) throw cause;
    if (trusted && cause instanceof JwksFetchError && cause.transient) {
      throw new DependencyUnavailableError(`the directory's ${cause.description}`, { cause });
    }
    // JwksFetchError and friends: their description names the reason and is safe to show.
    if (cause instanceof DomainError && cause.expose) throw fail(cause.description, cause);
    const reason =
      cause instanceof joseErrors.JWKSNoMatchingKey
        ? 'no key in the key set matches the kid'
        : cause instanceof joseErrors.JWSSignatureVerificationFailed
          ? 'the signature does not verify'
          : cause instanceof Error && 'code' in cause && typeof cause.code === 'string' && cause.code.startsWith('ERR_')
            ? `the JWS could not be verified (${cause.code})`
            : 'the JWS could not be verified';
    throw fail(reason, cause);
  }
  const claims = parseClaims(payload);
  if (!claims) throw fail('the payload is not a JSON object');
  return claims;
}

function parseClaims(payload: Uint8Array): Claims | undefined {
  try {
    const value: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Claims) : undefined;
  } catch {
    return undefined;
  }
}

// ---- rule 3: request claims ----

/**
 * Rule 3a. OBIE DCR: `exp` present and in the future (the conformance tool's DCR-004 sends an
 * expired request); `iat` present, not in the future beyond the skew, not older than the policy
 * window.
 */
export function checkRequestLifetime(claims: Claims, now: Date, policy: RegistrationPolicy): void {
  const rule = 'rule 3 exp/iat';
  const seconds = Math.floor(now.getTime() / 1000);
  if (!isNumericDate(claims.exp)) throw metadataError(rule, 'exp is required (a NumericDate)');
  if (claims.exp + policy.clockSkewSeconds <= seconds) throw metadataError(rule, 'the request has expired');
  if (!isNumericDate(claims.iat)) throw metadataError(rule, 'iat is required (a NumericDate)');
  if (claims.iat - policy.clockSkewSeconds > seconds) throw metadataError(rule, 'iat is in the future');
  if (seconds - claims.iat > policy.requestMaxAgeSeconds + policy.clockSkewSeconds) {
    throw metadataError(rule, `the request was issued more than ${policy.requestMaxAgeSeconds} s ago`);
  }
}

/** Rule 3b. OBIE DCR: `jti` present (a UUID in practice), kept for replay detection. */
export function checkRequestJti(claims: Claims): string {
  if (!isString(claims.jti) || claims.jti.length > 256) {
    throw metadataError('rule 3 jti', 'jti is required (a non-empty string of at most 256 characters)');
  }
  return claims.jti;
}

/**
 * Rule 3c. OBIE DCR 3.2: `iss` is the TPP's software id and, for OB Directory SSAs, equals the
 * SSA `software_id` (conformance DCR-004: foreign, empty and over-long issuers are refused).
 */
export function checkRequestIssuer(claims: Claims, ssa: Pick<SoftwareStatement, 'software_id'>): void {
  if (!isString(claims.iss)) throw metadataError('rule 3 iss', 'iss is required');
  if (claims.iss !== ssa.software_id) {
    throw metadataError('rule 3 iss', 'iss must equal the software statement software_id');
  }
}

/** Rule 3d. OBIE DCR: `aud` names this bank: one of the configured identifiers. */
export function checkRequestAudience(claims: Claims, acceptedAudiences: readonly string[]): void {
  const audiences = typeof claims.aud === 'string' ? [claims.aud] : isStringArray(claims.aud) ? claims.aud : [];
  if (audiences.length === 0) throw metadataError('rule 3 aud', 'aud is required');
  if (!audiences.some((aud) => acceptedAudiences.includes(aud))) {
    throw metadataError('rule 3 aud', 'aud does not identify this bank');
  }
}

// ---- rule 4: software statement ----

/** Rule 4a. OBIE DCR: `software_statement` is required. */
export function requireSoftwareStatement(claims: Claims): string {
  if (!isString(claims.software_statement)) {
    throw ssaError('rule 4 software_statement', 'software_statement is required');
  }
  return claims.software_statement;
}

/**
 * Rule 4b. The SSA is issued by a trusted directory (the list in force); the issuer is read
 * before the signature is checked only to pick the directory's keys. Returns the directory.
 */
export function findTrustedDirectory(ssa: string, directories: readonly TrustedDirectory[]): TrustedDirectory {
  let issuer: unknown;
  try {
    issuer = decodeJwt(ssa).iss;
  } catch (cause) {
    throw ssaError('rule 4 software_statement', 'the software statement is not a readable JWT', cause);
  }
  const directory = directories.find((candidate) => candidate.issuer === issuer);
  if (!directory) throw unapproved('rule 4 issuer', `the software statement issuer ${quote(issuer)} is not trusted`);
  return directory;
}

/**
 * Rule 4c. The SSA is a JWS signed by the directory (OB Directory SSA header: PS256 or ES256,
 * `kid` of the directory key), verified with the directory's configured JWKS.
 */
export async function verifySoftwareStatementSignature(
  ssa: string,
  directory: TrustedDirectory,
  keys: KeyResolver,
  signingAlgs: readonly string[],
): Promise<Claims> {
  let header: JWSHeaderParameters;
  try {
    header = decodeProtectedHeader(ssa) as JWSHeaderParameters;
  } catch (cause) {
    throw ssaError('rule 4 SSA signature', 'the software statement is not a readable JWS', cause);
  }
  checkJwsHeader(header, signingAlgs, (detail) => ssaError('rule 4 SSA signature', detail));
  return verifyJws(ssa, directory.jwksUri, keys, signingAlgs, true, (detail, cause) =>
    ssaError('rule 4 SSA signature', detail, cause),
  );
}

/**
 * Rule 4d. The claims the rest of the rules rely on are present and well formed, and the SSA
 * was issued inside the acceptance window (OB Directory "SSA lifetime": no `exp`; the bank
 * chooses how old an SSA may be).
 */
export function checkSoftwareStatementClaims(claims: Claims, now: Date, policy: RegistrationPolicy): SoftwareStatement {
  const rule = 'rule 4 SSA claims';
  for (const name of ['software_id', 'org_id', 'software_jwks_endpoint', 'org_status'] as const) {
    if (!isString(claims[name])) throw ssaError(rule, `${name} is required`);
  }
  if (!isStringArray(claims.software_redirect_uris)) throw ssaError(rule, 'software_redirect_uris must be an array');
  if (!isStringArray(claims.software_roles)) throw ssaError(rule, 'software_roles must be an array');
  if (claims.jti !== undefined && !isString(claims.jti)) throw ssaError(rule, 'jti must be a string');
  if (!isNumericDate(claims.iat)) throw ssaError('rule 4 SSA iat', 'iat is required (a NumericDate)');
  const seconds = Math.floor(now.getTime() / 1000);
  if (claims.iat - policy.clockSkewSeconds > seconds) throw ssaError('rule 4 SSA iat', 'iat is in the future');
  if (seconds - claims.iat > policy.ssaMaxAgeSeconds + policy.clockSkewSeconds) {
    throw ssaError('rule 4 SSA iat', `the software statement is older than ${policy.ssaMaxAgeSeconds} s`);
  }
  return claims as SoftwareStatement;
}

/** Rule 4e. OB Directory: only an `Active` organisation may register. */
export function checkOrganisationStatus(ssa: Pick<SoftwareStatement, 'org_status'>): void {
  if (ssa.org_status !== 'Active') {
    throw unapproved('rule 4 org_status', `the organisation status is ${quote(ssa.org_status)}, not Active`);
  }
}

/** Rule 4f. OBIE DCR: a request `software_id`, if present, equals the SSA's. */
export function checkSoftwareIdMatches(claims: Claims, ssa: Pick<SoftwareStatement, 'software_id'>): void {
  if (claims.software_id !== undefined && claims.software_id !== ssa.software_id) {
    throw ssaError('rule 4 software_id', 'software_id does not match the software statement');
  }
}

// ---- rule 5: redirect URIs ----

const MAX_REDIRECT_URI_LENGTH = 256;

/**
 * Rule 5. OBIE DCR `redirect_uris`: at least one; each https, at most 256 characters, not on
 * `localhost` (a sandbox setting may allow loopback), and listed in the SSA's
 * `software_redirect_uris` (exact match, RFC 6749 §3.1.2.3). `ssa` is undefined for a client an
 * administrator onboards (clients.v1 CreateClient): no software statement lists its URIs, and
 * the administrator's approval stands in for that list.
 */
export function checkRedirectUris(
  claims: Claims,
  ssa: Pick<SoftwareStatement, 'software_redirect_uris'> | undefined,
  policy: Pick<RegistrationPolicy, 'allowLoopbackRedirectUris'>,
): string[] {
  const rule = 'rule 5 redirect_uris';
  const uris = claims.redirect_uris;
  if (!isStringArray(uris) || uris.length === 0) {
    throw new RegistrationError('invalid_redirect_uri', rule, 'redirect_uris must be a non-empty array of strings');
  }
  for (const uri of uris) {
    const fail = (detail: string) => new RegistrationError('invalid_redirect_uri', rule, `${quote(uri)} ${detail}`);
    if (uri.length > MAX_REDIRECT_URI_LENGTH) throw fail(`is longer than ${MAX_REDIRECT_URI_LENGTH} characters`);
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      throw fail('is not an absolute URI');
    }
    if (url.hash !== '') throw fail('has a fragment (RFC 6749 §3.1.2)');
    // FAPI 1.0 Advanced 5.2.2-8 / RFC 9700 §2.1: exact matching, so a pattern is never a redirect URI.
    if ((url.hostname + url.pathname).includes('*')) throw fail('has a wildcard: redirect URIs are matched exactly');
    const loopback = isLoopbackHost(url.hostname);
    if (url.protocol !== 'https:' && !(loopback && policy.allowLoopbackRedirectUris && url.protocol === 'http:')) {
      throw fail('does not use https');
    }
    if (loopback && !policy.allowLoopbackRedirectUris) throw fail('points to localhost');
    if (ssa && !ssa.software_redirect_uris.includes(uri)) throw fail('is not in the software statement');
  }
  return [...uris];
}

/**
 * Loopback and unspecified hosts in every spelling the WHATWG URL parser leaves: it has already
 * turned `127.1` and `0x7f000001` into `127.0.0.1` and `[::ffff:127.0.0.1]` into
 * `[::ffff:7f00:1]`; a fully qualified `localhost.` keeps its trailing dot.
 */
function isLoopbackHost(hostname: string): boolean {
  const host = hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, '')
    .replace(/\.$/, '');
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) ||
    host === '0.0.0.0' ||
    host === '::1' ||
    host === '::' ||
    // IPv4-mapped IPv6 (RFC 4291 §2.5.5.2) of 127.0.0.0/8 and 0.0.0.0.
    /^::ffff:(?:7f[0-9a-f]{2}:[0-9a-f]{1,4}|0:0)$/.test(host)
  );
}

// ---- rule 6: token endpoint authentication ----

const JWT_AUTH_METHODS = new Set(['private_key_jwt', 'client_secret_jwt']);

/**
 * Rule 6a. FAPI 1.0 Advanced §5.2.2-14 and RFC 8705 §2: `token_endpoint_auth_method` is one of
 * the configured private_key_jwt / tls_client_auth / self_signed_tls_client_auth;
 * `token_endpoint_auth_signing_alg` exactly with JWT authentication (OBIE DCR 3.1), one of the
 * signing algorithms (DCR-004 sends RS256); `tls_client_auth_subject_dn` exactly with
 * tls_client_auth, as a valid RFC 4514 DN. Rule 6b compares it with the transport certificate.
 */
export function checkTokenEndpointAuth(
  claims: Claims,
  policy: Pick<RegistrationPolicy, 'authMethods' | 'signingAlgs'>,
): void {
  const method = claims.token_endpoint_auth_method;
  if (!isString(method) || !policy.authMethods.includes(method)) {
    throw metadataError(
      'rule 6 token_endpoint_auth_method',
      `token_endpoint_auth_method must be one of ${policy.authMethods.join(', ')}`,
    );
  }
  const alg = claims.token_endpoint_auth_signing_alg;
  if (JWT_AUTH_METHODS.has(method)) {
    if (!isString(alg) || !policy.signingAlgs.includes(alg)) {
      throw metadataError(
        'rule 6 token_endpoint_auth_signing_alg',
        `token_endpoint_auth_signing_alg must be one of ${policy.signingAlgs.join(', ')} with ${method}`,
      );
    }
  } else if (alg !== undefined) {
    throw metadataError(
      'rule 6 token_endpoint_auth_signing_alg',
      `token_endpoint_auth_signing_alg is only for JWT authentication`,
    );
  }
  const dn = claims.tls_client_auth_subject_dn;
  if (method !== 'tls_client_auth') {
    if (dn !== undefined) {
      throw metadataError(
        'rule 6 tls_client_auth_subject_dn',
        'tls_client_auth_subject_dn is only for tls_client_auth',
      );
    }
    return;
  }
  if (!isString(dn)) throw metadataError('rule 6 tls_client_auth_subject_dn', 'tls_client_auth_subject_dn is required');
  let rdns: ReturnType<typeof parseDistinguishedName>;
  try {
    rdns = parseDistinguishedName(dn);
  } catch (cause) {
    throw metadataError('rule 6 tls_client_auth_subject_dn', 'tls_client_auth_subject_dn is not a valid DN', cause);
  }
  if (rdns.length === 0) {
    throw metadataError('rule 6 tls_client_auth_subject_dn', 'tls_client_auth_subject_dn is not a valid DN');
  }
}

/**
 * Rule 6b. RFC 8705 §2.1.2 with OBIE DCR: a tls_client_auth client registers the subject DN of
 * the transport certificate it registers with; equal as an RFC 4514 DN (order and spacing
 * tolerant). Run after rule 6a.
 */
export function checkSubjectDnMatchesCertificate(claims: Claims, presented: PresentedCertificate): void {
  const dn = claims.tls_client_auth_subject_dn;
  if (claims.token_endpoint_auth_method !== 'tls_client_auth' || !isString(dn)) return;
  let equal = false;
  try {
    equal = distinguishedNamesEqual(dn, presented.subjectDn, { orderInsensitive: true });
  } catch (cause) {
    throw metadataError('rule 6 tls_client_auth_subject_dn', 'tls_client_auth_subject_dn is not a valid DN', cause);
  }
  if (!equal) {
    throw metadataError(
      'rule 6 tls_client_auth_subject_dn',
      'tls_client_auth_subject_dn does not match the transport certificate subject',
    );
  }
}

// ---- rule 7: grants, response types, algorithms, application type, scope ----

export const CIBA_GRANT = 'urn:openid:params:grant-type:ciba';
const GRANT_TYPES = new Set(['authorization_code', 'refresh_token', 'client_credentials', CIBA_GRANT]);
const RESPONSE_TYPES = new Set(['code', 'code id_token']);

/**
 * Rule 7a. OBIE DCR 3.3: `grant_types` ⊆ {authorization_code, refresh_token,
 * client_credentials, CIBA}; `response_types` ⊆ {code, code id_token} (DCR-011 sends
 * `id_token`, `token`), present exactly when authorization_code is granted (default
 * `code id_token` when omitted, OBIE data dictionary); refresh_token needs a user grant.
 * Returns the normalised response types.
 */
export function checkGrantAndResponseTypes(claims: Claims): { grantTypes: string[]; responseTypes: string[] } {
  const rule = 'rule 7 grant_types';
  const grants = claims.grant_types;
  if (!isStringArray(grants) || grants.length === 0) {
    throw metadataError(rule, 'grant_types must be a non-empty array');
  }
  const unknown = grants.find((grant) => !GRANT_TYPES.has(grant));
  if (unknown !== undefined) throw metadataError(rule, `grant type ${quote(unknown)} is not supported`);
  if (grants.includes('refresh_token') && !grants.includes('authorization_code') && !grants.includes(CIBA_GRANT)) {
    throw metadataError(rule, 'refresh_token needs authorization_code or CIBA');
  }
  const requested = claims.response_types;
  if (requested !== undefined && !isStringArray(requested)) {
    throw metadataError('rule 7 response_types', 'response_types must be an array');
  }
  const badResponse = requested?.find((type) => !RESPONSE_TYPES.has(normaliseResponseType(type)));
  if (badResponse !== undefined) {
    throw metadataError('rule 7 response_types', `response type ${quote(badResponse)} is not supported`);
  }
  const usesCode = grants.includes('authorization_code');
  if (!usesCode && requested !== undefined && requested.length > 0) {
    throw metadataError('rule 7 response_types', 'response_types require the authorization_code grant');
  }
  if (usesCode && requested !== undefined && requested.length === 0) {
    throw metadataError('rule 7 response_types', 'the authorization_code grant needs a response type');
  }
  const responseTypes = usesCode ? (requested?.map(normaliseResponseType) ?? ['code id_token']) : [];
  return { grantTypes: [...new Set(grants)], responseTypes: [...new Set(responseTypes)] };
}

/** `id_token code` and `code  id_token` are the same response type (OAuth 2.0 Multiple Response Types §2). */
function normaliseResponseType(type: string): string {
  return type.split(/\s+/).filter(Boolean).sort().join(' ');
}

/**
 * Rule 7b. OBIE DCR: `id_token_signed_response_alg` and `request_object_signing_alg` are
 * required, "as constrained by FAPI": PS256 or ES256.
 */
export function checkMetadataAlgorithms(claims: Claims, signingAlgs: readonly string[]): void {
  for (const name of ['id_token_signed_response_alg', 'request_object_signing_alg'] as const) {
    const value = claims[name];
    if (!isString(value) || !signingAlgs.includes(value)) {
      throw metadataError(`rule 7 ${name}`, `${name} must be one of ${signingAlgs.join(', ')}`);
    }
  }
}

/**
 * Rule 7f. RFC 9449 §5.2 `dpop_bound_access_tokens`: a boolean. FAPI 2.0 binds tokens either to
 * the client certificate (RFC 8705) or to a DPoP key; a client asking for DPoP-bound tokens gets
 * them (auth-server then binds no certificate), and one asking for both is refused, since a
 * token bound twice cannot be obtained (the engine refuses two proofs of possession).
 */
export function checkSenderConstraint(claims: Claims): { dpop_bound_access_tokens?: boolean } {
  const dpop = claims.dpop_bound_access_tokens;
  if (dpop === undefined) return {};
  if (typeof dpop !== 'boolean') {
    throw metadataError('rule 7 dpop_bound_access_tokens', 'dpop_bound_access_tokens must be a boolean');
  }
  if (dpop && claims.tls_client_certificate_bound_access_tokens === true) {
    throw metadataError(
      'rule 7 dpop_bound_access_tokens',
      'ask for DPoP-bound or certificate-bound access tokens, not both',
    );
  }
  return { dpop_bound_access_tokens: dpop };
}

/** Rule 7c. OBIE DCR `application_type`: `web` (or what settings allow). Default `web`. */
export function checkApplicationType(claims: Claims, applicationTypes: readonly string[]): string {
  const type = claims.application_type ?? 'web';
  if (!isString(type) || !applicationTypes.includes(type)) {
    throw metadataError('rule 7 application_type', `application_type must be one of ${applicationTypes.join(', ')}`);
  }
  return type;
}

/**
 * Rule 7d. OBIE DCR data mapping: `scope` ⊆ what `software_roles` permit (AISP → accounts,
 * PISP → payments, CBPII → fundsconfirmations by default; `openid` always). A scope no role
 * permits is `unapproved_software_statement` (the directory did not approve that role). `ssa` is
 * undefined for a client an administrator onboards: any scope some role permits is accepted,
 * and a scope no role permits is `invalid_client_metadata` (this bank does not offer it).
 */
export function checkScope(
  claims: Claims,
  ssa: Pick<SoftwareStatement, 'software_roles'> | undefined,
  scopesByRole: RegistrationPolicy['scopesByRole'],
  grantTypes: readonly string[] = [],
): string {
  const scope = claims.scope;
  if (!isString(scope) || scope.length > 256) {
    throw metadataError('rule 7 scope', 'scope is required (space-separated, at most 256 characters)');
  }
  const requested = scope.split(' ').filter(Boolean);
  if (requested.some(isAdminApiScope)) return checkAdministratorScope(requested, ssa, grantTypes);
  const roles = ssa ? ssa.software_roles : Object.keys(scopesByRole);
  const permitted = new Set(['openid', ...roles.flatMap((role) => scopesByRole[role] ?? [])]);
  const refused = requested.find((entry) => !permitted.has(entry));
  if (refused !== undefined) {
    throw ssa
      ? unapproved('rule 7 scope', `scope ${quote(refused)} is not permitted by the software roles`)
      : metadataError('rule 7 scope', `scope ${quote(refused)} is not offered by this bank`);
  }
  return [...new Set(requested)].join(' ');
}

/**
 * Rule 7e (obip). The admin API's scopes (obip:*) belong to administrator clients, which the
 * bank onboards itself: never through a software statement, whatever `DCR_SCOPES_BY_ROLE` says;
 * never mixed with TPP scopes, so no token carries both; and only with the client_credentials
 * grant, since no customer is involved.
 */
function checkAdministratorScope(
  requested: string[],
  ssa: Pick<SoftwareStatement, 'software_roles'> | undefined,
  grantTypes: readonly string[],
): string {
  const rule = 'rule 7 scope';
  const reserved = requested.find(isAdminApiScope);
  if (ssa) {
    throw metadataError(rule, `scope ${quote(reserved)} is reserved to administrator clients the bank onboards`);
  }
  const other = requested.find((entry) => !isAdminApiScope(entry));
  if (other !== undefined) {
    throw metadataError(rule, `an administrator client holds admin API scopes only, not ${quote(other)}`);
  }
  if (grantTypes.length !== 1 || grantTypes[0] !== 'client_credentials') {
    throw metadataError('rule 7 grant_types', 'an administrator client uses the client_credentials grant only');
  }
  return [...new Set(requested)].join(' ');
}

// ---- rule 8: CIBA ----

const CIBA_CLAIMS = [
  'backchannel_token_delivery_mode',
  'backchannel_client_notification_endpoint',
  'backchannel_authentication_request_signing_alg',
  'backchannel_user_code_parameter',
] as const;

/**
 * Rule 8. OBIE DCR 3.3 with FAPI-CIBA: when the CIBA grant is requested the delivery mode is
 * `poll` or `ping` (push is forbidden), ping needs an https notification endpoint, request
 * signing is PS256/ES256, and `backchannel_user_code_parameter` is false. Without the grant no
 * CIBA metadata is accepted.
 */
export function checkCibaMetadata(claims: Claims, grantTypes: readonly string[], signingAlgs: readonly string[]): void {
  const rule = 'rule 8 CIBA';
  if (!grantTypes.includes(CIBA_GRANT)) {
    const stray = CIBA_CLAIMS.find((name) => claims[name] !== undefined);
    if (stray) throw metadataError(rule, `${stray} needs the CIBA grant type`);
    return;
  }
  const mode = claims.backchannel_token_delivery_mode;
  if (mode !== 'poll' && mode !== 'ping') {
    throw metadataError(rule, 'backchannel_token_delivery_mode must be poll or ping');
  }
  const endpoint = claims.backchannel_client_notification_endpoint;
  if (mode === 'ping' || endpoint !== undefined) {
    if (!isString(endpoint) || !isHttpsUrl(endpoint)) {
      throw metadataError(rule, 'backchannel_client_notification_endpoint must be an https URL (required for ping)');
    }
  }
  const alg = claims.backchannel_authentication_request_signing_alg;
  if (!isString(alg) || !signingAlgs.includes(alg)) {
    throw metadataError(
      rule,
      `backchannel_authentication_request_signing_alg must be one of ${signingAlgs.join(', ')}`,
    );
  }
  const userCode = claims.backchannel_user_code_parameter;
  if (userCode !== undefined && userCode !== false) {
    throw metadataError(rule, 'backchannel_user_code_parameter must be false');
  }
}

function isHttpsUrl(value: string): boolean {
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
}

// ---- rule 7g: optional metadata kept as presented ----

/** RFC 7591 §2 metadata that is a URL, stored as presented. */
const URL_METADATA = ['client_uri', 'logo_uri', 'tos_uri', 'policy_uri'] as const;
/** Metadata that is a short string (a version, a JWA algorithm or encryption name), stored as presented. */
const NAME_METADATA = [
  'software_version',
  'id_token_encrypted_response_alg',
  'id_token_encrypted_response_enc',
  'request_object_encryption_alg',
  'request_object_encryption_enc',
  'authorization_signed_response_alg',
] as const;
/** Metadata that is a boolean (RFC 8705 §3.4, RFC 9126 §6), stored as presented. */
const BOOLEAN_METADATA = [
  'tls_client_certificate_bound_access_tokens',
  'require_pushed_authorization_requests',
] as const;
const MAX_CONTACTS = 20;

/**
 * Rule 7g. RFC 7591 §2: the optional metadata stored as presented has the type the RFC gives it
 * (the URIs and names strings, `contacts` an array of strings, the flags booleans) and a bounded
 * size. Whatever else a client puts there would be stored verbatim: an object nested thousands
 * of levels deep is refused here, not by the database.
 */
export function checkOptionalMetadata(claims: Claims): void {
  const fail = (name: string, detail: string) => metadataError(`rule 7 ${name}`, `${name} ${detail}`);
  for (const name of URL_METADATA) {
    const value = claims[name];
    if (value !== undefined && (!isString(value) || value.length > 2_048)) {
      throw fail(name, 'must be a URL of at most 2048 characters');
    }
  }
  for (const name of NAME_METADATA) {
    const value = claims[name];
    if (value !== undefined && (!isString(value) || value.length > 64)) {
      throw fail(name, 'must be a string of at most 64 characters');
    }
  }
  for (const name of BOOLEAN_METADATA) {
    if (claims[name] !== undefined && typeof claims[name] !== 'boolean') throw fail(name, 'must be a boolean');
  }
  const contacts = claims.contacts;
  if (
    contacts !== undefined &&
    (!isStringArray(contacts) || contacts.length > MAX_CONTACTS || contacts.some((entry) => entry.length > 256))
  ) {
    throw fail('contacts', `must be an array of at most ${MAX_CONTACTS} strings of at most 256 characters`);
  }
}

// ---- rule 9: client keys ----

/**
 * Rule 9. The client's keys are those at the SSA's `software_jwks_endpoint` (OBIE DCR: for
 * private_key_jwt the JWKS location comes from the SSA); a different `jwks_uri` or inline
 * `jwks` is refused. Returns the client's `jwks_uri`.
 */
export function checkClientKeys(claims: Claims, ssa: Pick<SoftwareStatement, 'software_jwks_endpoint'>): string {
  if (claims.jwks !== undefined) {
    throw metadataError('rule 9 jwks', 'inline jwks is not accepted: keys come from the software_jwks_endpoint');
  }
  if (claims.jwks_uri !== undefined && claims.jwks_uri !== ssa.software_jwks_endpoint) {
    throw metadataError('rule 9 jwks_uri', 'jwks_uri must be the software statement software_jwks_endpoint');
  }
  return ssa.software_jwks_endpoint;
}

/** JWK members that only a private or symmetric key has (RFC 7518 §6.2.2, §6.3.2, §6.4.1). */
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

/**
 * Rule 9, for a client an administrator onboards (no software statement names its key set):
 * RFC 7591 §2 `jwks_uri` or `jwks`, exactly one of them. A `jwks_uri` is an absolute https URL;
 * a `jwks` is a JWK Set (RFC 7517 §5) of at least one public key with a `kty`, never a private
 * or symmetric key. Returns the one that was given.
 */
export function checkOnboardedClientKeys(claims: Claims): { jwks_uri: string } | { jwks: { keys: object[] } } {
  const { jwks, jwks_uri: jwksUri } = claims;
  if (jwks !== undefined && jwksUri !== undefined) {
    throw metadataError('rule 9 jwks', 'give jwks or jwks_uri, not both (RFC 7591 §2)');
  }
  if (jwksUri !== undefined) {
    if (!isString(jwksUri) || !isHttpsUrl(jwksUri))
      throw metadataError('rule 9 jwks_uri', 'jwks_uri must be an https URL');
    return { jwks_uri: jwksUri };
  }
  if (jwks === undefined) throw metadataError('rule 9 jwks', 'jwks or jwks_uri is required');
  const keys = typeof jwks === 'object' && jwks !== null ? (jwks as { keys?: unknown }).keys : undefined;
  if (!Array.isArray(keys) || keys.length === 0) {
    throw metadataError('rule 9 jwks', 'jwks must be a JWK Set with a non-empty keys array');
  }
  for (const key of keys) {
    if (typeof key !== 'object' || key === null || Array.isArray(key) || !isString((key as Claims).kty)) {
      throw metadataError('rule 9 jwks', 'every key in jwks must be a JWK object with a kty');
    }
    const secret = PRIVATE_JWK_MEMBERS.find((name) => name in key);
    if (secret) throw metadataError('rule 9 jwks', `jwks must hold public keys only (a key has ${quote(secret)})`);
  }
  return { jwks: { keys: keys as object[] } };
}

// ---- management (RFC 7592) ----

/**
 * RFC 7592 §2.1-2.3: a client that may not read, update or delete its registration is answered
 * 403 Forbidden. Only an active client may: a suspended one is blocked by an administrator or its
 * directory, a pending one is not approved yet, a rejected one never will be. Applied after the
 * caller has proved it holds the client's credential, so the 403 tells nothing to anyone else.
 */
export function checkClientMayManage(client: { status: string }): void {
  if (client.status !== 'active') {
    throw new ManagementForbiddenError(
      `the client is ${client.status}: only an active client may read, update or delete its registration`,
    );
  }
}
