import { createRemoteJWKSet, decodeJwt, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { ADMIN_API_SCOPES, type AdminApiScope } from '@obip/platform-config';
import { BadRequestError, DependencyUnavailableError, ForbiddenError, UnauthorizedError } from '@obip/errors';

/** The scopes of the admin API (owned by libs/platform-config); each route names the one it needs. */
export const ADMIN_SCOPES = ADMIN_API_SCOPES;
export type AdminScope = AdminApiScope;

/** Who is calling: recorded as the actor of every change. */
export interface AdminPrincipal {
  /** `sub` of the access token (for client_credentials, the client itself). */
  subject: string;
  /** `client_id` (RFC 9068 §2.2) or `azp`, when the token names one. */
  clientId: string;
  issuer: string;
  scopes: ReadonlySet<string>;
}

export interface TrustedIssuer {
  issuer: string;
  jwksUri: string;
}

export interface AccessTokenVerifierOptions {
  issuers: readonly TrustedIssuer[];
  audience: string;
  clockSkewSeconds: number;
  jwksTimeoutMs: number;
}

/** FAPI 1.0 Advanced 8.6 / FAPI 2.0 SP 5.4: the algorithms the platform signs with. */
const ALGORITHMS = ['PS256', 'ES256', 'EdDSA'];

const REALM = 'obip-config-api';

/**
 * RFC 6750 §3: the challenge a refused bearer token gets. Without `error` when the request
 * carried no token at all (§3.1: the client may not know authentication is needed).
 */
export function bearerChallenge(error?: 'invalid_request' | 'invalid_token' | 'insufficient_scope', scope?: string) {
  const parts = [`realm="${REALM}"`];
  if (error) parts.push(`error="${error}"`);
  if (scope) parts.push(`scope="${scope}"`);
  return `Bearer ${parts.join(', ')}`;
}

function invalidToken(description: string, cause?: unknown) {
  return new UnauthorizedError(description, {
    code: 'invalid_token',
    cause,
    headers: { 'WWW-Authenticate': bearerChallenge('invalid_token') },
  });
}

/**
 * Verifies admin access tokens: RFC 9068 JWTs (`typ` at+jwt) signed by a trusted issuer's key
 * (remote JWKS, cached and refreshed by jose on an unknown `kid`), for our audience, unexpired.
 *
 * @example
 * const verify = createAccessTokenVerifier({ issuers, audience: 'obip-config-api', clockSkewSeconds: 30, jwksTimeoutMs: 3000 });
 * const principal = await verify(token);
 */
export function createAccessTokenVerifier(options: AccessTokenVerifierOptions) {
  const keySets = new Map(
    options.issuers.map((trusted) => [
      trusted.issuer,
      createRemoteJWKSet(new URL(trusted.jwksUri), { timeoutDuration: options.jwksTimeoutMs }),
    ]),
  );

  return async function verifyAccessToken(token: string): Promise<AdminPrincipal> {
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(token);
    } catch (cause) {
      throw invalidToken('the access token is not a JWT', cause);
    }
    const keySet = typeof unverified.iss === 'string' ? keySets.get(unverified.iss) : undefined;
    if (!keySet) throw invalidToken('the access token was not issued by a trusted issuer');

    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keySet, {
        issuer: unverified.iss,
        audience: options.audience,
        algorithms: ALGORITHMS,
        clockTolerance: options.clockSkewSeconds,
        // RFC 9068 §4: reject anything that is not an access token (an ID token, a request object).
        typ: 'at+jwt',
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (cause) {
      throw translateVerificationError(cause);
    }
    return {
      subject: String(payload.sub),
      clientId: clientIdOf(payload),
      issuer: String(payload.iss),
      scopes: scopesOf(payload),
    };
  };
}

function translateVerificationError(cause: unknown): Error {
  if (cause instanceof joseErrors.JWKSTimeout) {
    return new DependencyUnavailableError('the token issuer’s keys could not be fetched in time', { cause });
  }
  if (cause instanceof joseErrors.JWTExpired) return invalidToken('the access token has expired', cause);
  if (cause instanceof joseErrors.JWTClaimValidationFailed) {
    return invalidToken(`the access token's ${cause.claim} claim is not acceptable`, cause);
  }
  if (cause instanceof joseErrors.JOSEAlgNotAllowed) {
    return invalidToken('the access token is signed with an algorithm that is not allowed', cause);
  }
  if (cause instanceof joseErrors.JOSEError) return invalidToken('the access token could not be verified', cause);
  if (cause instanceof TypeError || (cause as { code?: string }).code === 'ECONNREFUSED') {
    return new DependencyUnavailableError('the token issuer’s keys could not be fetched', { cause });
  }
  return invalidToken('the access token could not be verified', cause);
}

function clientIdOf(payload: JWTPayload): string {
  const candidate = payload.client_id ?? payload.azp;
  return typeof candidate === 'string' ? candidate : '';
}

/** RFC 9068 §2.2.3: `scope` is space-separated; some issuers send an `scp` array instead. */
function scopesOf(payload: JWTPayload): ReadonlySet<string> {
  if (typeof payload.scope === 'string') return new Set(payload.scope.split(' ').filter(Boolean));
  if (Array.isArray(payload.scp)) return new Set(payload.scp.filter((s): s is string => typeof s === 'string'));
  return new Set();
}

/** RFC 6750 §3.1: 403 insufficient_scope naming the scope the route needs. */
export function requireScopeOf(principal: AdminPrincipal, scope: AdminScope): void {
  if (principal.scopes.has(scope)) return;
  throw new ForbiddenError(`this operation needs the ${scope} scope`, {
    code: 'insufficient_scope',
    headers: { 'WWW-Authenticate': bearerChallenge('insufficient_scope', scope) },
  });
}

/** RFC 6750 §2.1: exactly one `Authorization: Bearer <token>`; a token elsewhere is refused. */
export function bearerTokenOf(authorization: string | undefined): string {
  if (authorization === undefined || authorization === '') {
    throw new UnauthorizedError('an access token is required', {
      code: 'invalid_token',
      headers: { 'WWW-Authenticate': bearerChallenge() },
    });
  }
  const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i.exec(authorization);
  if (!match?.[1]) {
    // RFC 6750 §3.1: a malformed request is 400 invalid_request, not 401.
    throw new BadRequestError('the Authorization header must be "Bearer <token>"', {
      headers: { 'WWW-Authenticate': bearerChallenge('invalid_request') },
    });
  }
  return match[1];
}
