/**
 * JWS algorithms allowed for request objects, client assertions, software statements and ID
 * tokens. FAPI 1.0 Advanced §8.6: PS256 or ES256 only. `none`, HS* and RS256 are never allowed.
 *
 * @example
 * if (!FAPI_SIGNING_ALGS.includes(header.alg)) throw new BadRequestError('alg not allowed');
 */
export const FAPI_SIGNING_ALGS = ['PS256', 'ES256'] as const;

/**
 * FAPI 2.0 Security Profile §5.4.1 (Cryptography and secrets): PS256, ES256 and EdDSA with the
 * Ed25519 curve.
 *
 * @example
 * isAllowedSigningAlg('EdDSA', 'fapi2'); // true
 */
export const FAPI2_SIGNING_ALGS = ['PS256', 'ES256', 'EdDSA'] as const;

export type FapiSigningAlg = (typeof FAPI2_SIGNING_ALGS)[number];

/** `fapi1` is FAPI 1.0 Advanced; `fapi2` is the FAPI 2.0 Security Profile. */
export type FapiProfile = 'fapi1' | 'fapi2';

/**
 * Whether `alg` (a JOSE header value, untrusted) is allowed under the profile. Exact,
 * case-sensitive compare: `ps256` or `PS256 ` are refused, as JWA §3.1 names are case-sensitive.
 *
 * @example
 * isAllowedSigningAlg(protectedHeader.alg, client.profile);
 */
export function isAllowedSigningAlg(alg: unknown, profile: FapiProfile): alg is FapiSigningAlg {
  const allowed: readonly string[] = profile === 'fapi2' ? FAPI2_SIGNING_ALGS : FAPI_SIGNING_ALGS;
  return typeof alg === 'string' && allowed.includes(alg);
}

/**
 * Client authentication methods at the token endpoint. FAPI 1.0 Advanced §5.2.2-14 and
 * FAPI 2.0 Security Profile §5.3.2.1: `private_key_jwt` or mutual TLS (RFC 8705 §2:
 * `tls_client_auth`, `self_signed_tls_client_auth`). Client secrets are never allowed.
 *
 * @example
 * TOKEN_ENDPOINT_AUTH_METHODS.includes(metadata.token_endpoint_auth_method);
 */
export const TOKEN_ENDPOINT_AUTH_METHODS = [
  'private_key_jwt',
  'tls_client_auth',
  'self_signed_tls_client_auth',
] as const;

export type TokenEndpointAuthMethod = (typeof TOKEN_ENDPOINT_AUTH_METHODS)[number];
