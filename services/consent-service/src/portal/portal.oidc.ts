/**
 * The portal's sign-in: OpenID Connect against auth-server as a FAPI 2.0 confidential client.
 * Pushed authorization request (RFC 9126) with PKCE S256 (RFC 7636), private_key_jwt client
 * authentication (RFC 7523, FAPI 2.0 SP 5.3.2.1-5), a DPoP proof at the token endpoint (RFC
 * 9449; the portal holds no TLS client certificate), the authorization response's `iss` checked
 * (RFC 9207), and the ID token verified against auth-server's JWKS (OIDC Core 3.1.3.7).
 *
 * The browser is sent to the authorization endpoint on the public host; PAR, token, discovery
 * and JWKS are called in-cluster at `authServerUrl`, with the endpoint URLs auth-server
 * advertises (its mTLS aliases) used as the client assertion's and DPoP proof's URLs, as
 * auth-server derives them from its configuration rather than from the request (provider.http.ts).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { SignJWT, createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { BadRequestError, DependencyUnavailableError } from '@obip/errors';
import type { PortalKeys } from './portal.keys';

/** What the portal keeps between sending the browser away and its return (server-side, short-lived). */
export interface SignInTransaction {
  state: string;
  nonce: string;
  codeVerifier: string;
  /** The client_id the request was made with (the registration may be replaced meanwhile). */
  clientId: string;
}

export interface PortalSignInOptions {
  /** auth-server's Issuer Identifier; discovery must name exactly this (RFC 8414 §3.3). */
  issuer: string;
  /** In-cluster base URL of auth-server's HTTP port. */
  authServerUrl: string;
  /** `<public origin>/portal/callback`, as registered. */
  redirectUri: string;
  clientId(): Promise<string>;
  /** Called when auth-server refuses the client (invalid_client): its registration is checked again. */
  onClientRefused?: () => void;
  signing: PortalKeys['signing'];
  /** Deadline of each call to auth-server, in ms. Default 5 000. */
  timeoutMs?: number;
}

/** The sign-in did not complete for a reason the customer can retry (bad or replayed callback, denial). */
export class PortalSignInError extends BadRequestError {}

export const SIGN_IN_ERROR_CODES = {
  cancelled: 'sign_in_cancelled',
  failed: 'sign_in_failed',
} as const;

interface ProviderMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  pushed_authorization_request_endpoint?: string;
  jwks_uri: string;
  authorization_response_iss_parameter_supported?: boolean;
  mtls_endpoint_aliases?: { token_endpoint?: string; pushed_authorization_request_endpoint?: string };
}

/** FAPI 2.0 SP 5.4: the ID token algorithms the portal accepts. */
const ID_TOKEN_ALGS = ['PS256', 'ES256'];
const CLOCK_TOLERANCE_SECONDS = 10;
const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

const random = () => randomBytes(32).toString('base64url');

/** RFC 7636 §4.2: S256 code challenge of a verifier. */
export function pkceChallengeOf(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

/** Who signed in, and how, from a verified ID token. */
export interface SignedInCustomer {
  /** `sub`: the customer. */
  subject: string;
  /** `acr`, when the ID token carries one (OIDC Core 2). */
  acr?: string;
  /** `amr`, when the ID token carries it (RFC 8176). */
  amr?: string[];
}

export interface PortalSignIn {
  /** A PAR-backed authorization URL for the browser, and the transaction to keep until it returns. */
  begin(): Promise<{ authorizationUrl: string; transaction: SignInTransaction }>;
  /** Checks the authorization response, redeems the code and verifies the ID token: who signed in. */
  complete(callback: URLSearchParams, transaction: SignInTransaction): Promise<SignedInCustomer>;
}

/**
 * @example
 * const signIn = createPortalSignIn({ issuer, authServerUrl, redirectUri, clientId: () => portalClient.clientId(), signing: keys.signing });
 * const { authorizationUrl, transaction } = await signIn.begin();
 */
export function createPortalSignIn(options: PortalSignInOptions): PortalSignIn {
  const timeoutMs = options.timeoutMs ?? 5_000;
  const base = options.authServerUrl.replace(/\/$/, '');
  let discovered: Promise<{ metadata: ProviderMetadata; jwks: JWTVerifyGetKey }> | undefined;

  /** The in-cluster URL of an advertised endpoint: same path, auth-server's own address. */
  const inCluster = (advertised: string) => {
    const url = new URL(advertised);
    return `${base}${url.pathname}${url.search}`;
  };

  async function call(url: string, init: RequestInit = {}): Promise<Response> {
    try {
      return await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    } catch (cause) {
      throw new DependencyUnavailableError('auth-server could not be reached', { cause });
    }
  }

  async function discover(): Promise<ProviderMetadata> {
    const response = await call(`${base}/.well-known/openid-configuration`, {
      headers: { accept: 'application/json' },
    });
    if (!response.ok) throw new DependencyUnavailableError(`auth-server discovery answered ${response.status}`);
    const metadata = (await response.json()) as ProviderMetadata;
    if (metadata.issuer !== options.issuer) {
      throw new DependencyUnavailableError(
        `auth-server's discovery names issuer ${metadata.issuer}, not ${options.issuer} (PORTAL_ISSUER)`,
      );
    }
    return metadata;
  }

  function provider() {
    discovered ??= discover()
      .then((metadata) => ({
        metadata,
        jwks: createRemoteJWKSet(new URL(inCluster(metadata.jwks_uri)), { timeoutDuration: timeoutMs }),
      }))
      .catch((error: unknown) => {
        discovered = undefined;
        throw error;
      });
    return discovered;
  }

  /** RFC 7523 §3 with FAPI 2.0 SP 5.3.2.1-8: `aud` is the issuer, short-lived, unique `jti`. */
  async function clientAssertion(clientId: string): Promise<string> {
    return new SignJWT({})
      .setProtectedHeader({ alg: options.signing.alg, kid: options.signing.kid, typ: 'JWT' })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(options.issuer)
      .setJti(randomUUID())
      .setIssuedAt()
      .setExpirationTime('60s')
      .sign(options.signing.privateKey);
  }

  /** RFC 9449 §4.2: a DPoP proof for one request. */
  async function dpopProof(
    key: Awaited<ReturnType<typeof generateKeyPair>>,
    htu: string,
    nonce: string | undefined,
  ): Promise<string> {
    const jwk = await exportJWK(key.publicKey);
    return new SignJWT({ htm: 'POST', htu, ...(nonce ? { nonce } : {}) })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk })
      .setJti(randomUUID())
      .setIssuedAt()
      .sign(key.privateKey);
  }

  async function oauthError(response: Response): Promise<{ error: string; description: string }> {
    const body = (await response.json().catch(() => ({}))) as { error?: unknown; error_description?: unknown };
    return {
      error: typeof body.error === 'string' ? body.error : `http_${response.status}`,
      description: typeof body.error_description === 'string' ? body.error_description : '',
    };
  }

  /** A refusal from auth-server: invalid_client makes the registration be checked again. */
  function refused(endpoint: string, status: number, error: { error: string; description: string }): Error {
    if (error.error === 'invalid_client') options.onClientRefused?.();
    if (status >= 500 || error.error === 'invalid_client') {
      return new DependencyUnavailableError(`auth-server refused the portal at ${endpoint}: ${error.error}`);
    }
    return new PortalSignInError(`the sign-in could not be completed (${error.error})`, {
      code: SIGN_IN_ERROR_CODES.failed,
    });
  }

  return {
    async begin() {
      const { metadata } = await provider();
      const clientId = await options.clientId();
      const transaction: SignInTransaction = { state: random(), nonce: random(), codeVerifier: random(), clientId };
      const par =
        metadata.mtls_endpoint_aliases?.pushed_authorization_request_endpoint ??
        metadata.pushed_authorization_request_endpoint;
      if (!par) throw new DependencyUnavailableError('auth-server advertises no pushed authorization request endpoint');
      const response = await call(inCluster(par), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({
          client_id: clientId,
          response_type: 'code',
          redirect_uri: options.redirectUri,
          scope: 'openid',
          state: transaction.state,
          nonce: transaction.nonce,
          code_challenge: pkceChallengeOf(transaction.codeVerifier),
          code_challenge_method: 'S256',
          // The portal shows personal data and can revoke consents: the customer signs in every time.
          prompt: 'login',
          client_assertion_type: CLIENT_ASSERTION_TYPE,
          client_assertion: await clientAssertion(clientId),
        }),
      });
      if (response.status !== 201) throw refused('the PAR endpoint', response.status, await oauthError(response));
      const { request_uri: requestUri } = (await response.json()) as { request_uri?: unknown };
      if (typeof requestUri !== 'string') throw new DependencyUnavailableError('auth-server returned no request_uri');
      const authorizationUrl = new URL(metadata.authorization_endpoint);
      authorizationUrl.searchParams.set('client_id', clientId);
      authorizationUrl.searchParams.set('request_uri', requestUri);
      return { authorizationUrl: authorizationUrl.href, transaction };
    },

    async complete(callback, transaction) {
      const { metadata, jwks } = await provider();
      const failed = (why: string) => new PortalSignInError(why, { code: SIGN_IN_ERROR_CODES.failed });
      // RFC 9207 §2.4: the response names the issuer it came from (mix-up defence).
      const iss = callback.get('iss');
      if (iss !== null ? iss !== options.issuer : metadata.authorization_response_iss_parameter_supported === true) {
        throw failed('the sign-in response did not come from the expected issuer');
      }
      if (callback.get('state') !== transaction.state) throw failed('the sign-in response does not match this browser');
      const error = callback.get('error');
      if (error !== null) {
        throw new PortalSignInError(`the sign-in ended without success (${error})`, {
          code: error === 'access_denied' ? SIGN_IN_ERROR_CODES.cancelled : SIGN_IN_ERROR_CODES.failed,
        });
      }
      const code = callback.get('code');
      if (!code) throw failed('the sign-in response carries no code');

      const tokenEndpoint = metadata.mtls_endpoint_aliases?.token_endpoint ?? metadata.token_endpoint;
      const dpopKey = await generateKeyPair('ES256');
      let nonce: string | undefined;
      let response: Response | undefined;
      // RFC 9449 §8: auth-server may ask for a server nonce first; the proof is made again with it.
      for (let attempt = 0; attempt < 2; attempt += 1) {
        response = await call(inCluster(tokenEndpoint), {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            accept: 'application/json',
            dpop: await dpopProof(dpopKey, tokenEndpoint, nonce),
          },
          body: new URLSearchParams({
            grant_type: 'authorization_code',
            code,
            redirect_uri: options.redirectUri,
            code_verifier: transaction.codeVerifier,
            client_id: transaction.clientId,
            client_assertion_type: CLIENT_ASSERTION_TYPE,
            client_assertion: await clientAssertion(transaction.clientId),
          }),
        });
        nonce = response.headers.get('dpop-nonce') ?? undefined;
        if (response.status !== 400 || !nonce) break;
        const refusal = await oauthError(response.clone());
        if (refusal.error !== 'use_dpop_nonce') break;
      }
      if (!response!.ok) throw refused('the token endpoint', response!.status, await oauthError(response!));
      const { id_token: idToken } = (await response!.json()) as { id_token?: unknown };
      if (typeof idToken !== 'string') throw failed('auth-server returned no ID token');
      return verifyIdToken(idToken, jwks, transaction, options.issuer);
    },
  };
}

/**
 * OIDC Core 3.1.3.7: signature against auth-server's keys with a FAPI algorithm, `iss`, `aud`
 * containing the client (and `azp` naming it when there are several), `exp`/`iat` within the
 * clock tolerance, `nonce` the one sent. Returns `sub`, the customer's id, with `acr` and `amr`
 * when the token carries well-formed ones (the portal vouches for them as an authentication
 * device, consents.v1 DecideAuthentication).
 */
export async function verifyIdToken(
  idToken: string,
  jwks: JWTVerifyGetKey,
  transaction: Pick<SignInTransaction, 'nonce' | 'clientId'>,
  issuer: string,
): Promise<SignedInCustomer> {
  const failed = (why: string, cause?: unknown) =>
    new PortalSignInError(why, { code: SIGN_IN_ERROR_CODES.failed, ...(cause ? { cause } : {}) });
  let payload;
  try {
    ({ payload } = await jwtVerify(idToken, jwks, {
      issuer,
      audience: transaction.clientId,
      algorithms: ID_TOKEN_ALGS,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ['sub', 'iat', 'exp'],
    }));
  } catch (cause) {
    throw failed('the ID token is not valid', cause);
  }
  if (payload.nonce !== transaction.nonce) throw failed('the ID token was not issued for this sign-in');
  if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== transaction.clientId) {
    throw failed('the ID token was issued to another client');
  }
  if (typeof payload.sub !== 'string' || payload.sub === '' || payload.sub.length > 255) {
    throw failed('the ID token names no customer');
  }
  const { acr, amr } = payload as { acr?: unknown; amr?: unknown };
  const methods =
    Array.isArray(amr) && amr.length <= 10 && amr.every((method) => typeof method === 'string' && method.length <= 64)
      ? (amr as string[])
      : undefined;
  return {
    subject: payload.sub,
    ...(typeof acr === 'string' && acr !== '' && acr.length <= 256 ? { acr } : {}),
    ...(methods && methods.length > 0 ? { amr: methods } : {}),
  };
}
