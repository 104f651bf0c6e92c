// The registered TPP every auth-server scenario is measured with, the same for obip (served by
// the ClientRegistry stand-in, as dcr-service would) and for the bare engine (a static client):
// a FAPI 2.0 client authenticating with private_key_jwt, its access tokens bound to its
// transport certificate, which reaches the servers in the edge's headers.
import type { Jwk } from '@obip/testing';

/** The public host (issuer, discovery, /jwks) and the mTLS host (/token, /par) as TPPs see them. */
export const ISSUER = 'https://as.bank.bench';
export const MTLS_BASE_URL = 'https://mtls.bank.bench';
export const TPP_CLIENT_ID = 'tpp-bench';
export const TPP_ORG_ID = '0015800001041REBENCH';
export const REDIRECT_URI = 'https://tpp.bench/callback';
/** What each client_credentials request asks for. */
export const CLIENT_CREDENTIALS_SCOPE = 'accounts';
/** client_credentials access token lifetime, the same everywhere (auth-server's default). */
export const CLIENT_CREDENTIALS_TTL_SECONDS = 300;
/**
 * The client's assertion key type. ES256 rather than PS256 (both FAPI algorithms): a load
 * generator has to sign one fresh assertion per request before each run, and P-256 signs about
 * 20 × faster than RSA-2048 here (RSA verifies faster, so this costs every server somewhat more).
 */
export const CLIENT_ASSERTION_ALG = 'ES256';

/**
 * The TPP's registered metadata (as dcr-service stores it in `metadataJson`): what the engine
 * baseline's static client is made of too, with `jwks` and what FAPI 2.0 adds.
 */
export function tppMetadata(): Record<string, unknown> {
  return {
    client_name: 'TPP bench',
    redirect_uris: [REDIRECT_URI],
    grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
    response_types: ['code'],
    scope: 'openid accounts payments',
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: CLIENT_ASSERTION_ALG,
    id_token_signed_response_alg: 'PS256',
  };
}

/** The static client of the engine baseline: the registered metadata plus what auth-server's client adapter adds for FAPI 2.0. */
export function engineClientOf(publicJwk: Jwk): Record<string, unknown> {
  return {
    ...tppMetadata(),
    client_id: TPP_CLIENT_ID,
    jwks: { keys: [publicJwk] },
    require_pushed_authorization_requests: true,
    tls_client_certificate_bound_access_tokens: true,
  };
}
