import { constants, createPrivateKey, sign, type JsonWebKey } from 'node:crypto';

/**
 * Algorithms a test can sign with. PS256 and ES256 are what FAPI allows; RS256, HS256 and
 * `none` exist so that tests can prove a verifier refuses them (FAPI 1.0 Advanced §8.6).
 */
export type TestJwsAlg = 'PS256' | 'ES256' | 'RS256' | 'none';

/** A JOSE header: `alg` is set from the signing algorithm unless given explicitly. */
export type JwsHeader = Record<string, unknown>;

/**
 * Signs `payload` as a compact JWS (RFC 7515 §7.1) with node:crypto alone, so a test controls
 * every header parameter — including ones a verifier must refuse (`jwk`, `x5u`, `alg: none`).
 * `key` is a private JWK (RSA for PS256/RS256, P-256 for ES256); ignored for `none`.
 *
 * @example
 * const jws = signCompactJws({ kid: key.kid, typ: 'JWT' }, { iss: 'x' }, key.privateJwk, 'PS256');
 */
export function signCompactJws(
  header: JwsHeader,
  payload: Record<string, unknown>,
  key: JsonWebKey | undefined,
  alg: TestJwsAlg,
): string {
  const protectedHeader = { alg, ...header };
  const signingInput = `${base64url(JSON.stringify(protectedHeader))}.${base64url(JSON.stringify(payload))}`;
  if (alg === 'none') return `${signingInput}.`;
  if (!key) throw new TypeError(`signCompactJws: a private key is required for ${alg}`);
  const privateKey = createPrivateKey({ key, format: 'jwk' });
  const data = Buffer.from(signingInput);
  let signature: Buffer;
  switch (alg) {
    case 'PS256':
      // RFC 7518 §3.5: RSASSA-PSS with SHA-256, MGF1 with SHA-256, salt as long as the hash.
      signature = sign('sha256', data, {
        key: privateKey,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 32,
      });
      break;
    case 'RS256':
      signature = sign('sha256', data, { key: privateKey, padding: constants.RSA_PKCS1_PADDING });
      break;
    case 'ES256':
      // RFC 7518 §3.4: R || S, 32 bytes each, not DER.
      signature = sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
      break;
  }
  return `${signingInput}.${signature.toString('base64url')}`;
}

function base64url(text: string): string {
  return Buffer.from(text).toString('base64url');
}
